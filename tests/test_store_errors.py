"""Which database is used, and one-line errors when it cannot be used."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from store_support import PG_URL, T0, new_run, put_demo_sop

from opsflow.errors import OpsflowError
from opsflow.store import DatabaseUnavailableError, EventDraft, RunBusyError, Store, database
from opsflow.workspace import WorkspaceError

FIX = "start the database server or point OPSFLOW_DATABASE_URL (or --db) at a reachable database"


def test_url_comes_from_argument_then_environment_then_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    default = database.resolve_url(workspace=tmp_path)
    assert default == f"sqlite:///{tmp_path / '.opsflow' / 'opsflow.db'}"
    assert (tmp_path / ".opsflow").is_dir()
    monkeypatch.setenv(database.ENV_VAR, "sqlite:///from-env.db")
    assert database.resolve_url(workspace=tmp_path) == "sqlite:///from-env.db"
    assert database.resolve_url("sqlite:///given.db", workspace=tmp_path) == "sqlite:///given.db"
    monkeypatch.setenv(database.ENV_VAR, "")
    Store.open(workspace=tmp_path).close()  # its .opsflow/opsflow.db makes it a workspace
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert database.resolve_url() == default  # found from a folder below, as git does


def test_a_missing_workspace_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    with pytest.raises(WorkspaceError) as caught:
        Store.open(workspace=tmp_path / "nope")
    assert str(caught.value) == (
        f"the workspace folder {tmp_path / 'nope'} does not exist; pass an existing folder "
        "(e.g. --workspace .)"
    )


def test_the_password_never_appears_in_messages() -> None:
    url = "postgresql+psycopg://alice:s3cret@127.0.0.1:1/ops"
    assert database.display_url(url) == "postgresql+psycopg://alice:***@127.0.0.1:1/ops"
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open(url)
    assert "s3cret" not in str(caught.value)


def test_an_unreachable_server_is_a_one_line_error() -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open("postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert str(caught.value) == (
        "cannot use the database at postgresql+psycopg://postgres@127.0.0.1:1/test "
        '(connection failed: connection to server at "127.0.0.1", port 1 failed: '
        f"Connection refused); {FIX}"
    )
    assert isinstance(caught.value, OpsflowError)


def test_a_missing_postgresql_database_is_named() -> None:
    url = make_url(PG_URL).set(database="opsflow_no_such_db").render_as_string(False)
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open(url)
    message = str(caught.value)
    assert message.startswith(f"cannot use the database at {database.display_url(url)} (")
    assert 'database "opsflow_no_such_db" does not exist' in message
    assert message.endswith(FIX) and "\n" not in message


def test_a_sqlite_file_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'o.db'}"
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open(url)
    assert str(caught.value) == (
        f"cannot use the SQLite database at {url} (unable to open database file); check that "
        "its folder exists and is writable, or set OPSFLOW_DATABASE_URL"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "not a url",
            "'not a url' is not a database URL; use e.g. "
            "postgresql+psycopg://user@host:5432/dbname or sqlite:///path/to/opsflow.db",
        ),
        (
            "oracle+nodriver://x@y/z",
            "opsflow cannot use the database URL oracle+nodriver://x@y/z (no driver for it); "
            "use postgresql+psycopg://… or sqlite:///…",
        ),
    ],
)
def test_bad_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open(url)
    assert str(caught.value) == message


def test_the_cli_prints_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "opsflow",
            "db",
            "upgrade",
            "--db",
            "postgresql+psycopg://postgres:pw@127.0.0.1:1/test",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "error: cannot use the database at postgresql+psycopg://postgres:***@127.0.0.1:1/test "
        '(connection failed: connection to server at "127.0.0.1", port 1 failed: '
        f"Connection refused); {FIX}\n"
    )


def test_sqlite_durability_mode_is_full_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"

    def synchronous() -> object:
        engine = database.create_engine(url)
        try:
            with engine.connect() as connection:
                return connection.exec_driver_sql("PRAGMA synchronous").scalar()
        finally:
            engine.dispose()

    monkeypatch.delenv(database.SYNC_ENV_VAR, raising=False)
    assert synchronous() == 2  # FULL
    monkeypatch.setenv(database.SYNC_ENV_VAR, "normal")
    assert synchronous() == 1  # NORMAL
    monkeypatch.setenv(database.SYNC_ENV_VAR, "OFF")
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open(url)
    assert str(caught.value) == (
        "OPSFLOW_SQLITE_SYNCHRONOUS=OFF is not a supported mode; use FULL (the default) or NORMAL"
    )


def test_a_database_locked_too_long_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    with Store.open(url, lock_wait=0.2) as store:
        run = new_run(store)
        holder = sqlite3.connect(tmp_path / "o.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(RunBusyError) as busy:
                store.append_event(run.id, EventDraft("ann", "refused", T0))
            with pytest.raises(DatabaseUnavailableError) as caught:
                put_demo_sop(store)  # a write that is no action on a run
            assert store.get_run(run.id) == run  # readers are not blocked (WAL)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert str(busy.value) == (f"run {run.id} is busy: another action on it held it for "
                                   "more than 0.2 s; nothing was done, try again")
        assert str(caught.value) == (
            f"the database at {url} stayed locked by another opsflow process for 0.2 s; try again"
        )
        store.append_event(run.id, EventDraft("ann", "refused", T0))
        assert len(store.events(run.id)) == 2
