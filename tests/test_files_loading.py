"""Hostile files and includes: what `check`, `load` and the CLI read and print.

Real files, symbolic links and FIFOs in tmp_path. Each test is one finding
of the attack run (a secret printed, a path escaping the folder, a load that
never ends, a command that hangs); error texts are asserted in full.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import opsflow
from opsflow.api import load_with_files
from opsflow.cli import cli
from opsflow.errors import SopError
from opsflow.lang.loader import MAX_INCLUDE_DEPTH

SECRET = "DB_PASSWORD=hunter2-secret\n"
MAIN = ('include "{path}"\nsop m "M"\n  owner boss\nrole boss "Boss"\n'
        'phase a "A"\n  owner boss\n  end\n')
ROLES = 'role boss "Boss"\n'


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def errors_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(SopError) as caught:
        opsflow.load(path, **kwargs)  # type: ignore[arg-type]
    return [f"{d.span}: {d.code}: {d.message} | {d.hint}" for d in caught.value.diagnostics
            if d.is_error]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / ".env").write_text(SECRET)
    sops = tmp_path / "sops"
    sops.mkdir()
    return sops


# ---- check and publish of a folder -------------------------------------------------

def test_check_skips_a_symlink_out_of_the_folder_and_never_prints_its_target(folder: Path
                                                                            ) -> None:
    (folder / "x.sop").symlink_to(folder.parent / ".env")
    (folder / "ok.sop").write_text(MAIN.replace('include "{path}"\n', ""))
    code, out = run("check", str(folder))
    assert "hunter2" not in out and "DB_PASSWORD" not in out
    assert out == (f"{folder}/x.sop:1:1: warning[W100]: skipped {folder}/x.sop: a symbolic link "
                   f"to a file outside {folder}\n"
                   "  = hint: opsflow reads only regular .sop files inside the folder it is "
                   "given; copy the file into the folder instead of linking to it\n\n"
                   "checked 1 file: 0 errors, 1 warning\n")
    assert code == 0


def test_check_of_a_non_sop_file_never_prints_its_content(folder: Path) -> None:
    secret = folder.parent / ".env"
    code, out = run("check", "--format", "json", str(secret))
    assert code == 1 and "hunter2" not in out and "DB_PASSWORD" not in out
    assert f'"message": "{secret} is not a .sop file"' in out
    link = folder / "x.sop"
    link.symlink_to(secret)
    code, out = run("check", str(link))
    assert code == 1
    assert out == (f"{link}:1:1: error[E101]: {link} is a symbolic link to a file that is not "
                   "a .sop file\n"
                   "  = hint: opsflow reads only files whose names end in .sop; rename the file\n\n"
                   "checked 1 file: 1 error, 0 warnings\n")


def test_a_fifo_in_a_folder_is_skipped(folder: Path) -> None:
    os.mkfifo(folder / "pipe.sop")
    (folder / "ok.sop").write_text(MAIN.replace('include "{path}"\n', ""))
    code, out = run("check", str(folder))
    assert code == 0
    assert f"warning[W100]: skipped {folder}/pipe.sop: not a regular file" in out


# ---- includes -----------------------------------------------------------------------

@pytest.mark.parametrize(("written", "message", "hint"), [
    ("../.env", "only .sop files can be included",
     "put the shared roles, fields and events in a file whose name ends in .sop"),
    ("/etc/passwd", "an include must be a path relative to the including file",
     "write the path relative to the including file, inside {folder}"),
    ("../secret.sop", "the path leads outside {folder}",
     "include only files inside {folder} (or name a library folder with --library)"),
    ("shared/../../secret.sop", "the path leads outside {folder}",
     "include only files inside {folder} (or name a library folder with --library)"),
])
def test_include_refuses_paths_outside_the_folder(folder: Path, written: str, message: str,
                                                  hint: str) -> None:
    (folder.parent / "secret.sop").write_text("role secret-role \"" + SECRET.strip() + '"\n')
    main = folder / "main.sop"
    main.write_text(MAIN.format(path=written))
    assert errors_of(main) == [f"{main}:1:1: E104: cannot include `{written}`: "
                               f"{message.format(folder=folder)} | {hint.format(folder=folder)}"]
    code, out = run("render", "playbook", str(main))
    assert code == 1 and "hunter2" not in out and "secret-role" not in out
    assert f' 1 | include "{written}"\n   | ' + "^" * (len(written) + 10) in out


def test_include_refuses_a_symlink_out_of_the_folder(folder: Path) -> None:
    (folder.parent / "secret.sop").write_text('role x "' + SECRET.strip() + '"\n')
    (folder / "roles.sop").symlink_to(folder.parent / "secret.sop")
    main = folder / "main.sop"
    main.write_text(MAIN.format(path="roles.sop"))
    assert errors_of(main) == [
        f"{main}:1:1: E104: cannot include `roles.sop`: {folder}/roles.sop is a symbolic link "
        f"to a file outside {folder} | copy the shared file into the folder instead of "
        "linking to it"]
    code, out = run("start", str(main), "--title", "t", "--as", "ann", "--db",
                    f"sqlite:///{folder.parent / 'x.db'}")
    assert code == 1 and "hunter2" not in out


def test_a_library_folder_is_a_second_root(folder: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "roles.sop").write_text(ROLES)
    main = folder / "main.sop"
    main.write_text(MAIN.format(path="roles.sop").replace('role boss "Boss"\n', ""))
    assert errors_of(main)[0].startswith(f"{main}:1:1: E102: cannot include `roles.sop`: "
                                         f"no such file: {folder}/roles.sop")
    sop = opsflow.load(main, library=library)
    assert [r.id for r in sop.roles] == ["boss"]
    assert [i.resolved for i in sop.includes] == [str(library / "roles.sop")]
    code, out = run("check", "--strict", "--library", str(library), str(main))
    assert (code, out) == (0, "checked 1 file: 0 errors, 0 warnings\n")


def test_include_of_a_fifo_does_not_hang(folder: Path) -> None:
    os.mkfifo(folder / "roles.sop")
    main = folder / "main.sop"
    main.write_text(MAIN.format(path="roles.sop"))
    assert errors_of(main) == [f"{main}:1:1: E102: cannot include `roles.sop`: {folder}/roles.sop "
                               "is not a regular file | the path is relative to the including "
                               "file"]


def test_start_and_render_of_a_fifo_do_not_hang(folder: Path) -> None:
    fifo = folder / "p.sop"
    os.mkfifo(fifo)
    expected = (f"{fifo}:1:1: error[E101]: {fifo} is not a regular file\n"
                "  = hint: name a .sop text file (not a device, socket or pipe)\n\n")
    for args in (["render", "playbook", str(fifo)],
                 ["start", str(fifo), "--title", "t", "--as", "ann",
                  "--db", f"sqlite:///{folder / 'x.db'}"]):
        done = subprocess.run([sys.executable, "-m", "opsflow", *args], capture_output=True,
                              text=True, timeout=60, cwd=folder)
        assert done.returncode == 1
        assert done.stderr.startswith(expected)


def chain(folder: Path, length: int, copies: int = 1) -> Path:
    """main.sop → f1.sop → … → f{length}.sop, each including the next ``copies`` times."""
    for i in range(1, length + 1):
        nxt = "".join(f'include "f{i + 1}.sop"\n' for _ in range(copies)) if i < length else ""
        (folder / f"f{i}.sop").write_text(f'{nxt}role r{i} "R{i}"\n')
    main = folder / "main.sop"
    main.write_text(MAIN.format(path="f1.sop"))
    return main


def test_include_depth_is_limited(folder: Path) -> None:
    assert opsflow.load(chain(folder, MAX_INCLUDE_DEPTH))
    main = chain(folder, MAX_INCLUDE_DEPTH + 1)
    assert errors_of(main)[0] == (
        f"{main.parent}/f16.sop:1:1: E104: cannot include `f17.sop`: includes are nested more "
        "than 16 files deep | include the shared files directly from the procedure instead "
        "of through a long chain")


def test_a_chain_a_thousand_files_deep_ends_with_an_error(folder: Path) -> None:
    with pytest.raises(SopError) as caught:
        opsflow.load(chain(folder, 1000))
    assert [d.code for d in caught.value.diagnostics if d.code.startswith("E1")] == ["E104"]


def test_each_file_is_read_and_merged_once(folder: Path) -> None:
    # each file includes the next twice: 2**15 inclusions if every one were followed
    sop, texts = load_with_files(chain(folder, 16, copies=2))
    assert [r.id for r in sop.roles] == [f"r{i}" for i in range(16, 0, -1)] + ["boss"]
    assert sorted(texts) == sorted(str(folder / f"f{i}.sop") for i in range(1, 17))


def test_a_cycle_is_refused(folder: Path) -> None:
    (folder / "a.sop").write_text('include "b.sop"\n')
    (folder / "b.sop").write_text('include "a.sop"\n')
    main = folder / "main.sop"
    main.write_text(MAIN.format(path="a.sop"))
    assert errors_of(main) == [f"{folder}/b.sop:1:1: E102: `a.sop` includes itself (directly "
                               "or through other files) | remove one of the include lines that "
                               "form the loop"]


# ---- loading from stored texts ------------------------------------------------------

def test_load_from_stored_texts_never_reads_the_disk(folder: Path) -> None:
    (folder / "shared").mkdir()
    (folder / "shared" / "roles.sop").write_text(ROLES + 'role extra "Extra"\n')
    main = folder / "main.sop"
    main.write_text(MAIN.format(path="shared/roles.sop").replace('role boss "Boss"\n', "")
                    + '  informed extra\n')
    sop, texts = load_with_files(main)
    assert texts == {str(folder / "shared" / "roles.sop"): ROLES + 'role extra "Extra"\n'}
    (folder / "shared" / "roles.sop").write_text("this file changed since the run started\n")
    again = opsflow.loads(main.read_text(), str(main), files=texts)
    assert again == sop
    with pytest.raises(SopError) as caught:
        opsflow.loads(main.read_text(), str(main), files={})
    assert str(caught.value).startswith(
        f"{main}:1:1: error[E102]: cannot include `shared/roles.sop`: {folder}/shared/roles.sop "
        "is not among the stored files")


def test_stored_texts_cannot_smuggle_a_path_outside_the_root(folder: Path) -> None:
    main = folder / "main.sop"
    main.write_text(MAIN.format(path="../roles.sop"))
    with pytest.raises(SopError) as caught:
        opsflow.loads(main.read_text(), str(main), files={str(folder.parent / "roles.sop"): ROLES})
    assert [d.code for d in caught.value.diagnostics] == ["E104"]
