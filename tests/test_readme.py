"""The README's examples work: its .sop example checks clean and its set-up commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import opsflow

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def test_sop_examples_check_clean() -> None:
    blocks = re.findall(r"```sop\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        assert opsflow.check_text(block, "README.sop") == []


def test_ci_runs_the_readme_test_command() -> None:
    assert "./dev.sh test" in README
    assert "./dev.sh demo" in README
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "./dev.sh test" in ci
    dev = (ROOT / "dev.sh").read_text("utf-8")
    assert "python -m pytest -n 2" in README and "python -m pytest -n 2" in dev


def test_readme_run_commands_work(tmp_path: Path) -> None:
    """The README's 'Running procedures' commands, run as written in a fresh folder."""
    import os
    import subprocess
    import sys

    section = README.split("Running procedures", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    script = block.group(1).replace("sops/", f"{ROOT / 'sops'}/")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("OPSFLOW_DATABASE_URL", None)
    env["HOME"] = str(tmp_path / "home")  # the README's ~/ files land in the test's folder
    (tmp_path / "home").mkdir()
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "carol: vote (reject) client-review — Wrong product name\n" in proc.stdout
    assert "run 1: 10 events, chain intact, state matches replay" in proc.stdout
    assert (tmp_path / ".opsflow" / "opsflow.db").is_file()
