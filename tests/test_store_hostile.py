"""Hostile database URLs, files that are no opsflow database, and damaged rows
(issue 8, item 6): each gives one OpsflowError naming the problem and the fix,
and a refused database is never changed."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from store_support import new_run, run_sql

from opsflow.store import (
    CorruptRowError,
    DatabaseUnavailableError,
    ForeignDatabaseError,
    Store,
    admin,
)

FOREIGN = (
    "is not an opsflow database (it has tables but no opsflow schema revision), so opsflow "
    "did not change it; point OPSFLOW_DATABASE_URL (or --db) at an opsflow database or at "
    "a new, empty one"
)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refusal(url: str) -> str:
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open(url)
    return str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "sqlite:///a\x00b.db",
            "the database URL contains a control character (\\x00); remove it from --db or "
            "OPSFLOW_DATABASE_URL",
        ),
        (
            "sqlite:///a%00b.db",
            "the database URL contains an encoded control character (\\x00); remove it from "
            "--db or OPSFLOW_DATABASE_URL",
        ),
        (
            "sqlite:///x.db?timeout=abc",
            "the SQLite database URL sqlite:///x.db has options (timeout) and opsflow sets "
            "SQLite's connection settings itself; remove everything from the ? on",
        ),
        (
            "postgresql+psycopg://alice:s3cret@127.0.0.1:abc/test",
            "the port in the database URL postgresql+psycopg://alice:***@127.0.0.1:abc/test "
            "is not a number; write it as digits, e.g. host:5432",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/@\ufff9",
            "the host in the database URL postgresql+psycopg://postgres%40127.0.0.1:***@\ufff9 "
            "is not a valid host name; check the part between @ and the port or the /",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1:70000/test",
            "the port 70000 in the database URL postgresql+psycopg://postgres@127.0.0.1:70000"
            "/test is out of range; use a port from 1 to 65535, e.g. 5432",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test?foo=bar",
            "the database URL postgresql+psycopg://postgres@127.0.0.1:5432/test has an "
            "unknown option 'foo'; remove it, or use a PostgreSQL connection parameter such "
            "as sslmode, connect_timeout or options",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test?password=s3cret",
            "the database URL postgresql+psycopg://postgres@127.0.0.1:5432/test has a "
            "password option; put the password in the URL (user:password@host) or in "
            "~/.pgpass",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test?connect_timeout=soon",
            "the value of option connect_timeout in the database URL postgresql+psycopg://"
            "postgres@127.0.0.1:5432/test is not a number; write connect_timeout as whole "
            "digits, e.g. connect_timeout=10",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test?sslmode=S3cretPW",
            "the value of option sslmode in the database URL postgresql+psycopg://postgres@"
            "127.0.0.1:5432/test is not valid; use one of disable, allow, prefer, require, "
            "verify-ca, verify-full",
        ),
    ],
)
def test_hostile_urls_get_one_line(url: str, message: str) -> None:
    assert refusal(url) == message


def test_a_text_file_is_not_a_database_and_stays_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello\n")
    url = f"sqlite:///{path}"
    assert refusal(url) == (
        f"the file at {url} is not a SQLite database (file is not a database); point "
        "OPSFLOW_DATABASE_URL (or --db) at an opsflow database, or move that file away"
    )
    with pytest.raises(DatabaseUnavailableError):
        admin.upgrade_database(url)
    assert path.read_text() == "hello\n"


def test_a_truncated_database_is_damaged(tmp_path: Path) -> None:
    whole = Path(__file__).parent / "data" / "main-2026-11-22.db"
    path = tmp_path / "cut.db"
    path.write_bytes(whole.read_bytes()[:20000])
    url = f"sqlite:///{path}"
    assert refusal(url) == (
        f"the SQLite database at {url} is damaged (database disk image is malformed); "
        "restore it from a backup"
    )


def test_a_foreign_sqlite_file_is_refused_and_never_modified(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (name TEXT)")
    before = digest(path)
    url = f"sqlite:///{path}"
    for attempt in (lambda: Store.open(url), lambda: admin.upgrade_database(url)):
        with pytest.raises(ForeignDatabaseError) as caught:
            attempt()
        assert str(caught.value) == f"the database at {url} {FOREIGN}"
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_another_programs_alembic_revision_is_not_a_newer_opsflow(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('abc123')")
        connection.execute("CREATE TABLE invoices (n INTEGER)")
    before = digest(path)
    with pytest.raises(ForeignDatabaseError):
        Store.open(f"sqlite:///{path}", upgrade=True)
    assert digest(path) == before


def test_a_foreign_postgresql_schema_is_refused_and_never_modified() -> None:
    from conftest import pg_schema

    with pg_schema() as url:
        run_sql(url, "CREATE TABLE customers (name TEXT)")
        with pytest.raises(ForeignDatabaseError):
            admin.upgrade_database(url)
        tables = run_sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = "
                              "current_schema() ORDER BY 1")[0]
        assert tables == [("customers",)]


DAMAGE_SQLITE = [
    ("UPDATE runs SET state = '{oops'", "table runs, run {id}: column state is not JSON"),
    ("UPDATE runs SET state = '[1, 2]'",
     "table runs, run {id}: column state is not a JSON object"),
    ("UPDATE runs SET started_at = 'yesterday'",
     "table runs, run {id}: column started_at is not a time"),
    ("UPDATE runs SET updated_at = '2025-03-03T09:00:00'",
     "table runs, run {id}: column updated_at is a time without a time zone"),
    ("UPDATE runs SET version = 'two'",
     "table runs, run {id}: column version is not a whole number"),
    ("UPDATE runs SET title = X'00ff'", "table runs, run {id}: column title is not text"),
    ("UPDATE events SET payload = 'not json'",
     "table events, event 1 of run {id}: column payload is not JSON"),
    ("UPDATE events SET at = 5", "table events, event 1 of run {id}: column at is not a time"),
    ("UPDATE sops SET compiled = '\"text\"'",
     "table sops, SOP version {sop}: column compiled is not a JSON object"),
]


@pytest.mark.parametrize(("sql", "expected"), DAMAGE_SQLITE)
def test_damaged_sqlite_rows_name_table_row_and_column(
    tmp_path: Path, sql: str, expected: str
) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    with Store.open(url) as store:
        run = new_run(store)
    run_sql(url, sql)
    message = (f"the database is damaged: {expected.format(id=run.id, sop=run.sop_hash[:12])}"
               "; restore the database from a backup")
    table = sql.split()[1]
    with Store.open(url) as store:
        readers = {
            "runs": [lambda: store.get_run(run.id), lambda: store.list_runs()],
            "events": [lambda: store.events(run.id), lambda: store.verify_chain(run.id)],
            "sops": [lambda: store.get_sop(run.sop_hash)],
        }[table]
        for read in readers:
            with pytest.raises(CorruptRowError) as caught:
                read()
            assert str(caught.value) == message


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE runs SET state = '[1]'", "table runs, run {id}: column state is not a JSON "
                                          "object"),
        ("UPDATE events SET payload = '\"x\"'",
         "table events, event 1 of run {id}: column payload is not a JSON object"),
    ],
)
def test_damaged_postgresql_rows(store_url: str, sql: str, expected: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite is covered above")
    with Store.open(store_url) as store:
        run = new_run(store)
    run_sql(store_url, sql)
    with Store.open(store_url) as store, pytest.raises(CorruptRowError) as caught:
        store.events(run.id) if "events" in sql else store.get_run(run.id)
    assert str(caught.value) == (f"the database is damaged: {expected.format(id=run.id)}; "
                                 "restore the database from a backup")
