"""`opsflow check` through the CLI: exit codes, formats, and what bad input gets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from opsflow.cli import cli

SOPS = Path(__file__).parent.parent / "sops"

WARNS = """sop w "Warns"
  owner boss
role boss "Boss"
role idle "Idle"
phase a "A"
  owner boss
  end
"""

BROKEN = """sop b "Broken"
  owner boss
role boss "Boss"
phase a "A"
  owner bos
  handoff to nowhere
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_clean_examples_exit_0() -> None:
    code, out = run("check", "--strict", str(SOPS))
    assert code == 0
    assert out.endswith(" 0 errors, 0 warnings\n")


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    f = tmp_path / "w.sop"
    f.write_text(WARNS)
    assert run("check", str(f))[0] == 0
    code, out = run("check", "--strict", str(f))
    assert code == 1
    assert "warning[W302]: role `idle` is declared but never used" in out


def test_errors_exit_1_with_every_problem(tmp_path: Path) -> None:
    f = tmp_path / "b.sop"
    f.write_text(BROKEN)
    code, out = run("check", str(f))
    assert code == 1
    assert f"{f}:5:9: error[E210]: unknown role `bos` in phase `a`" in out
    assert f"{f}:6:14: error[E211]: unknown phase `nowhere` in phase `a`" in out
    assert out.rstrip().endswith("checked 1 file: 3 errors, 0 warnings")


def test_json_format(tmp_path: Path) -> None:
    f = tmp_path / "b.sop"
    f.write_text(BROKEN)
    code, out = run("check", "--format", "json", str(f))
    assert code == 1
    data = json.loads(out)
    assert data["files"] == [str(f)]
    assert data["errors"] == 3
    first = data["diagnostics"][0]
    assert first == {
        "file": str(f), "line": 1, "column": 1, "end_line": 1, "end_column": 15,
        "severity": "error", "code": "E233", "message": "SOP `b` has no end phase",
        "hint": "mark the last phase of each outcome with a line `end`",
    }


def test_folders_are_searched_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "w.sop").write_text(WARNS)
    (tmp_path / "a" / "x.sop").write_text(BROKEN)
    code, out = run("check", str(tmp_path))
    assert code == 1
    assert "checked 2 files: 3 errors, 1 warning" in out


def test_bad_paths_get_clear_messages(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = run("check", str(empty), str(tmp_path / "missing.sop"))
    assert code == 1
    assert f"error[E100]: no .sop files in {empty}" in out
    assert f"error[E100]: no such file or folder: {tmp_path / 'missing.sop'}" in out


def test_binary_and_non_utf8_files(tmp_path: Path) -> None:
    (tmp_path / "bin.sop").write_bytes(b"\x00\x01\x02sop")
    (tmp_path / "latin.sop").write_bytes('sop x "Caf\xe9"\n'.encode("latin-1"))
    code, out = run("check", str(tmp_path))
    assert code == 1
    assert "bin.sop is a binary file, not a .sop text file" in out
    assert "latin.sop is not valid UTF-8 text (byte 0xe9)" in out
    assert "latin.sop:1:11: error[E101]" in out


def test_no_arguments_is_a_usage_error() -> None:
    code, out = run("check")
    assert code == 2
    assert "name at least one .sop file or folder" in out


def test_unknown_command_suggests() -> None:
    code, out = run("chek")
    assert code == 2
    assert "no such command `chek`. Did you mean `check`?" in out


def test_codes_lists_rules() -> None:
    code, out = run("check", "--codes")
    assert code == 0
    assert "E210  a role is used that is not declared" in out


def test_real_process_and_module_entry_point(tmp_path: Path) -> None:
    f = tmp_path / "b.sop"
    f.write_text(BROKEN)
    proc = subprocess.run([sys.executable, "-m", "opsflow", "check", str(f)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error[E210]" in proc.stdout


def test_a_device_is_refused_without_reading_it() -> None:
    code, out = run("check", "/dev/zero")
    assert code == 1
    assert "/dev/zero:1:1: error[E101]: /dev/zero is not a regular file" in out


def test_text_output_stops_after_200_problems_per_file(tmp_path: Path) -> None:
    phases = "".join(f'phase p{i} "P"\n  owner nobody\n  end\n' for i in range(250))
    f = tmp_path / "many.sop"
    f.write_text('sop many "Many"\n  owner nobody\n' + phases)
    code, out = run("check", str(f))
    assert code == 1
    assert out.count("error[") == 200
    assert f"{f}: ... and 300 more problems (use --format json to see them all)" in out
    code, out = run("check", "--format", "json", str(f))
    assert json.loads(out)["errors"] == 251 + 249


def test_commands_that_load_a_broken_sop_show_every_diagnostic(tmp_path: Path) -> None:
    f = tmp_path / "b.sop"
    f.write_text(BROKEN)
    result = CliRunner().invoke(cli, ["start", str(f), "--title", "x", "--as", "ann",
                                      "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{f}:5:9: error[E210]: unknown role `bos` in phase `a`" in result.output
    assert " 5 |   owner bos" in result.output
    assert result.output.rstrip().endswith(
        f"error: 3 errors in {f}; fix them (`opsflow check` lists them) and run the command again")
    assert not (tmp_path / ".opsflow").exists()  # refused before any database was created


def test_every_command_has_help_with_an_example() -> None:
    from opsflow.cli import COMMANDS

    for name in COMMANDS:
        code, out = run(name, "--help")
        assert code == 0, name
        assert "Example" in out, name
