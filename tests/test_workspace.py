"""Issue 22, item 1: a workspace made by `opsflow init`, found from any folder below it.

Reading commands never create a database; a broken opsflow.toml is one clear line
and a non-zero exit; `--db` and OPSFLOW_DATABASE_URL still win over the workspace.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_support import ONBOARDING_PEOPLE

from opsflow.cli import cli
from opsflow.store import Store, database
from opsflow.workspace import EXAMPLE_SOP, WorkspaceError, database_url, find, init, load

Opsflow = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def opsflow(monkeypatch: pytest.MonkeyPatch) -> Opsflow:
    """``opsflow ARGS`` as a real process in folder ``cwd``, with no database URL set."""
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    env = {k: v for k, v in os.environ.items() if k != database.ENV_VAR}
    env["OPSFLOW_USER"] = "ann"

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "opsflow", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    return run


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_init_makes_a_workspace_with_a_database_and_an_example_that_checks_clean(
        tmp_path: Path, opsflow: Opsflow) -> None:
    done = opsflow("init", "team", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "team"
    assert files(root) == [".opsflow", ".opsflow/opsflow.db", "opsflow.toml", "sops",
                           "sops/purchase-request.sop"]
    assert done.stdout.splitlines()[0] == f"made a workspace at {root}"
    checked = opsflow("check", "--strict", "sops", cwd=root)
    assert (checked.returncode, checked.stdout) == (0, "checked 1 file: 0 errors, 0 warnings\n")
    status = opsflow("db", "status", cwd=root / "sops")
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[:2] == [
        f"workspace: the workspace at {root} (opsflow.toml)",
        f"database: sqlite:///{root / '.opsflow' / 'opsflow.db'}"]
    config = (root / "opsflow.toml").read_text("utf-8")
    again = opsflow("init", "team", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == (f"error: {root / 'opsflow.toml'} exists already; nothing was "
                            "changed (a workspace is made once; edit its opsflow.toml instead)\n")
    assert (root / "opsflow.toml").read_text("utf-8") == config


def test_a_command_below_the_workspace_uses_it_and_a_read_creates_nothing(
        tmp_path: Path, opsflow: Opsflow) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (["status", "1"], ["list"], ["inbox", "ann"], ["history", "1"],
                    ["verify", "1"], ["db", "status"]):
        refused = opsflow(*command, cwd=empty)
        assert refused.returncode == 1, command
        assert refused.stderr == (
            f"error: no opsflow workspace in {empty} or any folder above it; run `opsflow "
            "init` to make one here, or give the database with --db or "
            "OPSFLOW_DATABASE_URL\n"), command
    assert files(empty) == []
    # a workspace whose database is not made yet: a read still creates nothing
    (empty / "opsflow.toml").write_text('sops = "procedures"\n', "utf-8")
    for command in (["status", "1"], ["list"], ["db", "status"]):
        refused = opsflow(*command, cwd=empty)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, command
        assert refused.stderr == (f"error: the workspace at {empty} has no database yet "
                                  "(nothing was created); start a run with `opsflow start`\n")
    assert files(empty) == ["opsflow.toml"]
    sop = tmp_path / "purchase.sop"
    sop.write_text(EXAMPLE_SOP, "utf-8")
    below = empty / "a" / "b"
    below.mkdir(parents=True)
    started = opsflow("start", str(sop), "--title", "Chairs", "--role", "requester=ann",
                      "--role", "finance=fin", "--role", "director=dee", cwd=below)
    assert started.returncode == 0, started.stderr
    assert files(empty) == [".opsflow", ".opsflow/opsflow.db", "a", "a/b", "opsflow.toml"]
    listed = opsflow("list", cwd=empty / "a")
    assert listed.stdout == "1 · Chairs · purchase-request · active · request\n"


def test_db_and_the_environment_win_over_the_workspace(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    init(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert database_url() == f"sqlite:///{tmp_path / '.opsflow' / 'opsflow.db'}"
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"
    monkeypatch.setenv(database.ENV_VAR, "sqlite:///env.db")
    assert database_url() == "sqlite:///env.db"
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"


def test_the_config_names_the_database_relative_to_the_workspace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    (tmp_path / "opsflow.toml").write_text('database = "sqlite:///data/ops.db"\n'
                                           'timezone = "Europe/Berlin"\n', "utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "deep").mkdir()
    monkeypatch.chdir(tmp_path / "deep")
    found = find()
    assert found is not None and found.timezone == "Europe/Berlin"
    assert database_url() == f"sqlite:///{tmp_path / 'data' / 'ops.db'}"
    with Store.open() as store:  # the library finds it the same way
        assert store.url_display == f"sqlite:///{tmp_path / 'data' / 'ops.db'}"


def test_init_with_the_team_database_writes_it_and_creates_the_schema(
        fresh_store_url: str, tmp_path: Path, opsflow: Opsflow) -> None:
    root = tmp_path / "team"
    done = opsflow("init", str(root), "--db", fresh_store_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert load(root).database == fresh_store_url
    assert not (root / ".opsflow" / "opsflow.db").exists()
    status = opsflow("db", "status", cwd=root)
    assert status.returncode == 0, status.stderr
    assert f"database: {database.display_url(fresh_store_url)}" in status.stdout


@pytest.mark.parametrize(("config", "problem"), [
    ('databse = "sqlite:///x.db"\n',
     "unknown setting 'databse'; did you mean 'database'? the settings are admins, database, "
     "identity, sops, timezone"),
    ('identity = "open"\n', "'identity' is 'open'; it is \"free\" (--as names anyone) or"),
    ("admins = \"ann\"\n", "'admins' must be a list of people's keys"),
    ("sops = 3\n", """'sops' must be text in quotes, like sops = "sops\""""),
    ('sops = "../elsewhere"\n', """'sops' must be a folder inside the workspace, like """
                                """sops = "sops\""""),
    ('timezone = "Mars/Olympus"\n', "'timezone' 'Mars/Olympus' is not a time zone; use an "
                                    'IANA name, like timezone = "Europe/Berlin"'),
    ('database = "postgresql+psycopg://ops:secret@db/ops"\n',
     "'database' holds a password, and this file is shared; remove it from the URL and put "
     "it in ~/.pgpass or PGPASSWORD"),
    ('database = "mysql://db/ops"\n', "'database' must be a postgresql+psycopg:// or "
                                     "sqlite:/// URL"),
    ("sops = \n", "is not valid TOML"),
])
def test_a_broken_config_is_one_clear_line(config: str, problem: str, tmp_path: Path,
                                           opsflow: Opsflow) -> None:
    (tmp_path / "opsflow.toml").write_text(config, "utf-8")
    done = opsflow("list", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ") and problem in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert files(tmp_path) == ["opsflow.toml"]


def test_a_config_that_is_not_utf8_or_huge_is_refused(tmp_path: Path) -> None:
    (tmp_path / "opsflow.toml").write_bytes(b'sops = "\xff"\n')
    with pytest.raises(WorkspaceError, match="is not UTF-8 text; save it as UTF-8"):
        load(tmp_path)
    (tmp_path / "opsflow.toml").write_text("# " + "x" * 70_000 + "\n", "utf-8")
    with pytest.raises(WorkspaceError, match="is larger than 64 KiB"):
        load(tmp_path)


def test_init_refuses_a_password_or_a_file_and_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "w"), "--db",
                                      "postgresql+psycopg://ops:secret@db/ops"])
    assert result.exit_code == 1
    assert "holds a password, and this file is shared" in result.output
    assert not (tmp_path / "w").exists()
    (tmp_path / "file").write_text("x", "utf-8")
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "file")])
    assert result.exit_code == 2 and "is a file" in result.output
    with pytest.raises(WorkspaceError, match="is a file, not a folder; give a folder"):
        init(tmp_path / "file")


def test_a_workspace_can_move_with_its_runs(tmp_path: Path, opsflow: Opsflow) -> None:
    """SOP paths are kept relative to the workspace: after the folder moves, status finds
    the SOP and the file it includes where they are now."""
    import shutil

    old = tmp_path / "old"
    assert opsflow("init", str(old), cwd=tmp_path).returncode == 0
    repo = Path(__file__).parent.parent / "sops"
    shutil.copy(repo / "employee-onboarding.sop", old / "sops" / "onboarding.sop")
    shutil.copytree(repo / "shared", old / "sops" / "shared")
    roles = [f"--role={role}={','.join(people)}" for role, people in ONBOARDING_PEOPLE.items()]
    started = opsflow("start", "sops/onboarding.sop", "--title", "New hire", *roles,
                      "--field", "start-date=2027-01-04", "--field", "work-location=office",
                      "--field", "laptop=standard", "--field", "job-title=Engineer", cwd=old)
    assert started.returncode == 0, started.stderr
    new = tmp_path / "elsewhere" / "new"
    new.parent.mkdir()
    old.rename(new)
    status = opsflow("status", "1", cwd=new)
    assert status.returncode == 0, status.stderr
    assert "warning:" not in status.stdout  # the same file, found where it is now
    shared = new / "sops" / "shared" / "company-roles.sop"
    shared.write_text(shared.read_text("utf-8") + "\n", "utf-8")
    changed = opsflow("status", "1", cwd=new)
    assert (f"warning: the file {new / 'sops' / 'onboarding.sop'} has changed since this "
            "run started") in changed.stdout
    verified = opsflow("verify", "1", cwd=new)
    assert verified.returncode == 0, verified.stderr


def test_text_output_shows_times_in_the_workspace_time_zone(tmp_path: Path,
                                                            opsflow: Opsflow) -> None:
    """``timezone`` in opsflow.toml: status, inbox, list and history show local times (the
    JSON keeps UTC)."""
    import re

    team = tmp_path / "team"
    assert opsflow("init", str(team), cwd=tmp_path).returncode == 0
    config = team / "opsflow.toml"
    config.write_text(config.read_text("utf-8").replace('timezone = "UTC"',
                                                        'timezone = "Asia/Kolkata"'), "utf-8")
    started = opsflow("start", "sops/purchase-request.sop", "--title", "Chairs",
                      "--role", "requester=rita", "--role", "finance=fin,dora",
                      "--role", "director=dora", "--field", "amount=300", cwd=team)
    assert started.returncode == 0, started.stderr
    outputs = [opsflow(*args, cwd=team) for args in (
        ("status", "1"), ("history", "1"), ("list",), ("inbox", "rita"))]
    for number, out in enumerate(outputs):
        assert out.returncode == 0, out.stderr
        times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d ([A-Z]+)", out.stdout)
        assert set(times) <= {"IST"} and "UTC" not in out.stdout, out.stdout
        assert times or number > 1, out.stdout  # status and history have times
    document = opsflow("status", "1", "--format", "json", cwd=team)
    assert '+00:00"' in document.stdout
