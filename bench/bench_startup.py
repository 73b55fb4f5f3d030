"""Benchmark: CLI start-up time (issue 3, item 15).

Compares, as medians of ``--repeat`` runs each (interleaved, so machine
noise hits both sides alike):

* ``opsflow --help`` against ``python -c "import click"`` (goal <= 1.5x);
* ``opsflow status RUN`` against ``python -c "import click, sqlalchemy.orm"``
  (goal <= 1.25x) — on a SQLite workspace with one run started beforehand,
  so the compiled SOP is read from the database and neither the parser
  (Lark), Jinja2 nor the state machine (``transitions``) is imported.

``opsflow`` is the installed console script next to the running Python
(``<prefix>/bin/opsflow``), run directly rather than through a version
manager's shim, and the baselines use the same interpreter. It also lists
any heavy module that ``opsflow status`` imported (there should be none).
Measures and reports only.

Run: ``python bench/bench_startup.py [--repeat 10]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("lark", "jinja2", "transitions", "alembic", "markdown_it")


def opsflow_command() -> list[str]:
    script = Path(sys.executable).parent / "opsflow"
    if script.is_file():
        return [sys.executable, str(script)] if os.name == "nt" else [str(script)]
    found = shutil.which("opsflow")
    return [found] if found else [sys.executable, "-m", "opsflow"]


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    began = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def compare(ours: list[str], baseline: list[str], repeat: int, env: dict[str, str],
            cwd: Path) -> tuple[float, float]:
    timed(ours, env, cwd)  # warm the file cache
    timed(baseline, env, cwd)
    mine, base = [], []
    for _ in range(repeat):
        mine.append(timed(ours, env, cwd))
        base.append(timed(baseline, env, cwd))
    return statistics.median(mine), statistics.median(base)


def heavy_imports(argv: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    result = subprocess.run([*argv], env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=cwd,
                            check=True, capture_output=True, text=True)
    names = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
             if line.startswith("import time:")}
    return sorted(n for n in names if n in HEAVY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "OPSFLOW_DATABASE_URL"}
    opsflow = opsflow_command()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "sops" / "content-publishing.sop", work / "cp.sop")
        roles = [f"--role={r}" for r in ("writer=wendy", "editor=ed", "account=ann",
                                          "client=cli", "finance=fin")]
        subprocess.run([*opsflow, "init"], env=env, cwd=work, check=True,
                       stdout=subprocess.DEVNULL)  # a workspace: `status` finds it upwards
        subprocess.run([*opsflow, "start", "cp.sop", "--title", "Startup", *roles, "--field",
                        "budget=100", "--as", "ann"], env=env, cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        py = sys.executable
        rows = [
            ("opsflow --help", [*opsflow, "--help"], 'python -c "import click"',
             [py, "-c", "import click"], 1.5),
            ("opsflow status 1", [*opsflow, "status", "1"],
             'python -c "import click, sqlalchemy.orm"',
             [py, "-c", "import click, sqlalchemy.orm"], 1.25),
        ]
        print(f"medians of {args.repeat} runs ({' '.join(opsflow)})")
        for label, ours, base_label, base, goal in rows:
            mine, baseline = compare(ours, base, args.repeat, env, work)
            print(f"  {label:18} {mine * 1000:7.1f} ms   {base_label:44} "
                  f"{baseline * 1000:7.1f} ms   ratio {mine / baseline:.2f} (goal <= {goal})")
        heavy = heavy_imports([*opsflow, "status", "1"], env, work)
        print(f"  heavy modules imported by `opsflow status`: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
