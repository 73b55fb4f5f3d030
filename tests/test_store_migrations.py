"""The schema through Alembic: automatic on SQLite, `opsflow db upgrade` on PostgreSQL,
clear errors for a missing or newer schema, models equal to migrations, shipped in the wheel."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner
from store_support import SOP_HASH, T0, bump, run_sql

from opsflow.cli import cli
from opsflow.store import SchemaError, SopRecord, Store, admin, database, migrate
from opsflow.store.schema import Base

TABLES = {"alembic_version", "sops", "runs", "events", "work_items", "assignments", "marks",
          "people", "tokens", "passwords", "signin_failures"}


def _tables(url: str) -> set[str]:
    import sqlalchemy

    engine = database.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(sqlalchemy.inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_in_the_workspace_is_created_and_upgraded_on_first_open(tmp_path: Path) -> None:
    with Store.open(workspace=tmp_path) as store:
        assert store.url_display == f"sqlite:///{tmp_path / '.opsflow' / 'opsflow.db'}"
    url = database.resolve_url(workspace=tmp_path)
    assert _tables(url) == TABLES
    assert admin.schema_state(url).current


def test_sqlite_connections_are_durable_and_writes_take_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    Store.open(url).close()
    engine = database.create_engine(url)
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            connection.rollback()
            connection.execution_options(**{database.WRITE: True})
            with connection.begin():
                other = sqlite3.connect(tmp_path / "o.db", timeout=0, isolation_level=None)
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                other.close()
    finally:
        engine.dispose()


def test_a_database_without_schema_needs_an_upgrade(blank_url: str) -> None:
    shown = database.display_url(blank_url)
    message = (
        f"the database at {shown} has no opsflow schema (or an old one); run `opsflow db upgrade`"
    )
    with pytest.raises(SchemaError) as caught:
        Store.open(blank_url, upgrade=False)
    assert str(caught.value) == message
    if blank_url.startswith("postgresql"):
        with pytest.raises(SchemaError, match="run `opsflow db upgrade`"):
            Store.open(blank_url)  # PostgreSQL is never upgraded behind the user's back
    state = admin.upgrade_database(blank_url)
    assert (state.before, state.after, state.current) == (None, migrate.HEAD, True)
    assert _tables(blank_url) == TABLES
    Store.open(blank_url, upgrade=False).close()
    again = admin.upgrade_database(blank_url)
    assert (again.before, again.after) == (migrate.HEAD, migrate.HEAD)


def test_a_database_from_a_newer_opsflow_is_refused(fresh_store_url: str) -> None:
    store_url = fresh_store_url
    run_sql(store_url, "UPDATE alembic_version SET version_num = '9999_future'")
    shown = database.display_url(store_url)
    message = (
        f"the database at {shown} was written by a newer opsflow (schema revision "
        "9999_future); upgrade opsflow"
    )
    for attempt in (
        lambda: Store.open(store_url),
        lambda: Store.open(store_url, upgrade=True),
        lambda: admin.upgrade_database(store_url),
    ):
        with pytest.raises(SchemaError) as caught:
            attempt()
        assert str(caught.value) == message
    result = CliRunner().invoke(cli, ["db", "status", "--db", store_url])
    assert result.exit_code == 1 and result.output == f"error: {message}\n"
    assert run_sql(store_url, "SELECT version_num FROM alembic_version") == [[("9999_future",)]]


def test_the_models_match_the_migrations(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = database.create_engine(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_revisions_list_matches_the_migration_files(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    engine = database.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        scripts = ScriptDirectory.from_config(migrate.alembic_config(connection))
    engine.dispose()
    oldest_first = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    assert tuple(oldest_first) == migrate.REVISIONS
    assert scripts.get_heads() == [migrate.HEAD]


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    """Up- or downgrade to ``revision`` with Alembic directly (no opsflow checks)."""
    from alembic import command

    engine = database.create_engine(url)
    try:
        with engine.begin() as connection:
            config = migrate.alembic_config(connection)
            if down:
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_upgrade_again(fresh_store_url: str) -> None:
    store_url = fresh_store_url
    _migrate(store_url, "base", down=True)
    assert _tables(store_url) <= {"alembic_version"}
    assert admin.schema_state(store_url).after is None
    assert admin.upgrade_database(store_url).after == migrate.HEAD
    assert _tables(store_url) == TABLES


def test_cli_db_upgrade_and_status(blank_url: str) -> None:
    shown = database.display_url(blank_url)
    runner = CliRunner()
    before = runner.invoke(cli, ["db", "status", "--db", blank_url])
    if blank_url.startswith("sqlite"):  # reading never creates the file
        assert (before.exit_code, before.output) == (
            1, f"error: there is no database at {shown} (nothing was created); check the "
               "path, or create it with `opsflow db upgrade`\n")
        assert not Path(blank_url.removeprefix("sqlite:///")).exists()
    else:
        assert (before.exit_code, before.output) == (
            1,
            f"workspace: --db (no workspace is used)\ndatabase: {shown}\n"
            f"schema revision: (no schema) (this opsflow: {migrate.HEAD})\n"
            "needs an upgrade: run `opsflow db upgrade`\n",
        )
    first = runner.invoke(cli, ["db", "upgrade", "--db", blank_url])
    assert (first.exit_code, first.output) == (
        0,
        f"upgraded the database at {shown} from (no schema) to {migrate.HEAD}\n",
    )
    second = runner.invoke(cli, ["db", "upgrade", "--db", blank_url])
    assert second.output == f"the database at {shown} is up to date ({migrate.HEAD})\n"
    after = runner.invoke(cli, ["db", "status", "--db", blank_url])
    assert after.exit_code == 0 and "needs an upgrade" not in after.output


def test_cli_db_upgrade_in_a_real_process_uses_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "opsflow", "db", "upgrade"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", database.ENV_VAR: url},
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"upgraded the database at {url} from (no schema) to {migrate.HEAD}\n"
    assert not (tmp_path / ".opsflow").exists()


def test_importing_the_store_does_not_load_alembic_lark_or_jinja(tmp_path: Path) -> None:
    code = (
        "import sys, opsflow.store, opsflow.cli.db_cmd;"
        "print(sorted(m for m in ('alembic', 'lark', 'jinja2', 'transitions') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout == "[]\n"


@pytest.mark.slow
def test_the_built_package_ships_the_migrations_and_they_run_from_it(tmp_path: Path) -> None:
    """setuptools' build_py (what a wheel holds) collects the migrations as package files."""
    root = Path(__file__).resolve().parent.parent
    source = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("opsflow", "grammar", "renderers"):
        shutil.copytree(root / part, source / part, ignore=skip)
    shutil.copy(root / "pyproject.toml", source)
    (source / "README.md").write_text("opsflow\n")
    built = tmp_path / "built"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(built),
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    store = built / "opsflow" / "store"
    for shipped in ("env.py", "script.py.mako", "versions/0001_initial.py"):
        assert (store / "migrations" / shipped).is_file()
    code = (
        "import sys, opsflow.store as s; from opsflow.store import admin;"
        "print(s.__file__); print(admin.upgrade_database(sys.argv[1]).after)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{tmp_path / 'w.db'}"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(built)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == f"{store / '__init__.py'}\n{migrate.HEAD}\n"


def test_a_database_at_the_first_revision_is_upgraded_with_its_runs(blank_url: str) -> None:
    _migrate(blank_url, "0001_initial")
    at = "2025-03-03T09:00:00.000000+00:00"
    run_sql(
        blank_url,
        "INSERT INTO sops (hash, sop_id, version, path, source, compiled, created_at) "
        f"VALUES ('{SOP_HASH}', 'demo', 1, 'demo.sop', 'sop demo', '{{}}', '{at}')",
        "INSERT INTO runs (sop_hash, sop_id, title, status, phases, state, version, due_at, "
        "started_at, updated_at, last_seq, last_hash, work_digest) VALUES "
        f"('{SOP_HASH}', 'demo', 'Old run', 'active', 'a', '{{\"counter\": 0}}', 1, NULL, "
        f"'{at}', '{at}', 0, '', '')",
        "INSERT INTO assignments (run_id, role, person) SELECT id, 'owner', 'ann' FROM runs",
    )
    if blank_url.startswith("postgresql"):
        with pytest.raises(SchemaError, match="or an old one"):
            Store.open(blank_url)
    with Store.open(blank_url, upgrade=None if blank_url.startswith("sqlite") else True) as store:
        [old] = store.list_runs(person="ann")
        assert (old.title, old.version, old.started_at) == ("Old run", 1, T0)
        bump(store, old, "bob")
        assert store.list_runs(person="ann") == []
        assert [run.title for run in store.list_runs(person="bob")] == ["Old run"]
        assert store.verify_chain(old.id) == []
    assert admin.schema_state(blank_url).after == migrate.HEAD


def test_a_database_at_revision_0002_keeps_its_runs_and_sop_versions_become_text(
    blank_url: str,
) -> None:
    _migrate(blank_url, "0002_assignments_digest")
    at = "2025-03-03T09:00:00.000000+00:00"
    run_sql(
        blank_url,
        "INSERT INTO sops (hash, sop_id, version, path, source, compiled, created_at) "
        f"VALUES ('{SOP_HASH}', 'demo', 3, 'demo.sop', 'sop demo', '{{\"states\": []}}', '{at}')",
        "INSERT INTO runs (sop_hash, sop_id, title, status, phases, state, version, due_at, "
        "started_at, updated_at, last_seq, last_hash, work_digest, assignments_digest) VALUES "
        f"('{SOP_HASH}', 'demo', 'Old run', 'active', 'a', '{{\"counter\": 0}}', 1, NULL, "
        f"'{at}', '{at}', 0, '', '', '')",
        "INSERT INTO assignments (run_id, role, person) SELECT id, 'owner', 'ann' FROM runs",
        "INSERT INTO work_items (run_id, person, kind, phase, title, due_at) "
        "SELECT id, 'ann', 'owner', 'a', 'Old run: phase a', NULL FROM runs",
    )
    sqlite = blank_url.startswith("sqlite")
    with Store.open(blank_url, upgrade=None if sqlite else True) as store:
        sop = store.get_sop(SOP_HASH)
        assert (sop.version, sop.compiled) == ("3", {"states": []})
        [old] = store.list_runs(person="ann")
        assert [item.title for item in store.inbox("ann")] == ["Old run: phase a"]
        bump(store, old, "bob")
        assert store.verify_chain(old.id) == []
        store.put_sop(replace(sop, hash="b" * 64, version="1.2"), now=T0)
        assert store.get_sop("b" * 64).version == "1.2"
    assert admin.schema_state(blank_url).after == migrate.HEAD
    # the rebuilt sops table is still the one runs refer to, and references are enforced
    if sqlite:
        assert run_sql(blank_url, "PRAGMA foreign_key_check") == [[]]
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        run_sql(blank_url, "UPDATE runs SET sop_hash = 'missing'")


def test_downgrading_sop_versions_keeps_their_leading_number(fresh_store_url: str) -> None:
    with Store.open(fresh_store_url) as store:
        for sop_hash, version in (("a" * 64, "1.2"), ("b" * 64, "7"), ("c" * 64, "")):
            store.put_sop(SopRecord(sop_hash, "demo", version, "d.sop", "sop demo", {}), now=T0)
    _migrate(fresh_store_url, "0002_assignments_digest", down=True)
    rows = run_sql(fresh_store_url, "SELECT hash, version FROM sops ORDER BY hash")
    assert rows == [[("a" * 64, 1), ("b" * 64, 7), ("c" * 64, 0)]]
