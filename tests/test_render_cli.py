"""The ``opsflow render`` and ``opsflow publish`` commands (CliRunner and one
real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from render_support import SOPS

import opsflow
from opsflow.cli import main
from opsflow.render import render_diagram, render_playbook, render_raci

EXAMPLE = str(SOPS / "content-publishing.sop")
BROKEN = 'sop broken "Broken"\n  owner boss\nrole boss "Boss"\nphase a "A"\n  owner wirter\n  end\n'


def run(*args: str) -> tuple[int, str, str]:
    """Run the CLI entry point the way the console script does (errors → message)."""
    with CliRunner().isolation() as (stdout, stderr, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, stdout.getvalue().decode(), stderr.getvalue().decode()


def test_render_commands_print_what_the_library_renders() -> None:
    sop = opsflow.load(EXAMPLE)
    assert run("render", "playbook", EXAMPLE) == (0, render_playbook(sop), "")
    for fmt in ("md", "csv", "html"):
        assert run("render", "raci", EXAMPLE, "--format", fmt) == (0, render_raci(sop, fmt), "")
    for fmt in ("mermaid", "dot", "svg"):
        code, out, _ = run("render", "diagram", EXAMPLE, "--format", fmt)
        assert code == 0 and out == render_diagram(sop, fmt)


def test_output_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "out" / "raci.csv"
    code, out, err = run("render", "raci", EXAMPLE, "--format", "csv", "-o", str(target))
    assert (code, out, err) == (0, "", f"wrote {target}\n")
    assert target.read_text("utf-8") == render_raci(opsflow.load(EXAMPLE), "csv")


def test_sop_with_errors_is_refused_with_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "broken.sop"
    bad.write_text(BROKEN, "utf-8")
    target = tmp_path / "playbook.md"
    code, out, err = run("render", "playbook", str(bad), "-o", str(target))
    assert code == 1 and out == ""
    assert f"{bad}:5:9: error[E210]: unknown role `wirter` in phase `a`" in err
    assert "owner wirter" in err and "^^^^^^" in err
    assert err.endswith(f"error: nothing was written: 1 error in {bad}; fix them (`opsflow "
                        "check` lists them) and run the command again\n")
    assert not target.exists()


def test_shared_file_is_not_a_procedure() -> None:
    shared = str(SOPS / "shared" / "company-roles.sop")
    for command in ("playbook", "raci", "diagram"):
        assert run("render", command, shared) == (
            1, "", f"error: {shared} is a shared file (no `sop` header), not a procedure; "
            "render one of the procedures that include it\n")


def test_unknown_format_is_a_usage_error() -> None:
    code, _, err = run("render", "raci", EXAMPLE, "--format", "pdf")
    assert code == 2 and "'pdf' is not one of 'md', 'csv', 'html'" in err


def test_publish_reports_what_it_did(tmp_path: Path) -> None:
    site = tmp_path / "site"
    code, out, _ = run("publish", str(SOPS), "--out", str(site))
    count = len(list(SOPS.rglob("*.sop")))
    assert code == 0
    assert out.startswith(f"published {count - 1} procedures and 1 shared file to {site}: "
                          f"{count} sources rebuilt, 0 unchanged, ")
    code, out, _ = run("publish", str(SOPS), "--out", str(site))
    assert out == (f"published {count - 1} procedures and 1 shared file to {site}: 0 sources "
                   f"rebuilt, {count} unchanged, 0 files written, 0 removed; diagrams drawn "
                   "with Graphviz\n")


def test_publish_refuses_a_broken_library(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "broken.sop").write_text(BROKEN, "utf-8")
    code, out, err = run("publish", str(tmp_path / "src"), "--out", str(tmp_path / "site"))
    assert code == 1 and out == "" and "error[E210]" in err
    assert not (tmp_path / "site").exists()


def test_publish_shows_a_progress_bar_on_large_libraries(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    text = Path(EXAMPLE).read_text("utf-8")
    for n in range(20):
        (src / f"copy-{n:02}.sop").write_text(text.replace("content-publishing", f"c{n}"), "utf-8")
    code, _, err = run("publish", str(src), "--out", str(tmp_path / "site"), "--no-svg")
    assert code == 0
    assert "Checking" in err and "Rendering" in err


def test_real_process_exit_codes_and_messages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "opsflow", "publish", str(SOPS), "--out",
                           str(site)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (site / "index.html").is_file()
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    done = subprocess.run([sys.executable, "-m", "opsflow", "render", "raci", EXAMPLE, "-o",
                           str(blocker / "raci.md")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: cannot write to {blocker}: ")
