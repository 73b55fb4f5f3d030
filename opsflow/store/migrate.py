"""The database schema's revision: check it on open, upgrade it on request.

The schema is created and changed only by the Alembic migrations shipped in
``opsflow/store/migrations/`` (found through :mod:`importlib.resources`, so
they work from an installed wheel; Alembic is configured from Python, no
``alembic.ini``). Alembic is imported only when migrating: opening an
up-to-date database costs one query on ``alembic_version``, compared with
:data:`REVISIONS` (a test keeps that list equal to the migration files).

Upgrades run in one transaction that first takes a lock (``BEGIN IMMEDIATE``
on SQLite, an advisory lock on PostgreSQL) and re-reads the revision, so two
processes opening a fresh database at once upgrade it exactly once. On SQLite
a migration that changes a column rebuilds its table (copy, drop, rename),
which foreign-key enforcement would refuse for a table other rows refer to:
as SQLite's documentation prescribes, enforcement is off while migrating
(it can only be switched outside a transaction), ``PRAGMA
foreign_key_check`` must come back empty before the commit, and the
connection is discarded afterwards so no connection without enforcement is
ever reused.

A database that has tables but no opsflow revision (another program's
SQLite file, a PostgreSQL schema in use by something else), or whose
``alembic_version`` holds another program's revision, is refused with
:class:`ForeignDatabaseError` before anything is written: opsflow never adds
its tables to someone else's data.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from .database import WRITE
from .errors import ForeignDatabaseError, SchemaError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "REVISIONS",
    "alembic_config",
    "check",
    "current_revision",
    "newer_schema_error",
    "upgrade",
]

#: every migration revision, oldest first (the ids in migrations/versions/)
REVISIONS: tuple[str, ...] = ("0001_initial", "0002_assignments_digest", "0003_sop_version_text",
                              "0004_marks", "0005_people",
                              "0006_tokens", "0007_sop_workspace_path",
                              "0008_passwords", "0009_signin_failures")
HEAD = REVISIONS[-1]
#: PostgreSQL advisory lock key taken while migrating (an arbitrary constant)
LOCK_KEY = 0x0F5F_1000


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at, or ``None`` if it has no schema."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


#: tables only opsflow's schema has (a revision we do not know plus these = a newer opsflow)
OPSFLOW_TABLES = frozenset({"sops", "runs", "events"})


def _refuse_foreign(connection: Connection, url_display: str, revision: str | None) -> None:
    """Raise :class:`ForeignDatabaseError` if the database is not opsflow's."""
    tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    if revision is None and tables:
        raise ForeignDatabaseError(url_display)
    if revision is not None and revision not in REVISIONS and not OPSFLOW_TABLES <= tables:
        raise ForeignDatabaseError(url_display)


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that runs the packaged migrations on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("opsflow.store") / "migrations"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def newer_schema_error(url_display: str, revision: str) -> SchemaError:
    """The error for a database written by a newer opsflow."""
    return SchemaError(
        f"the database at {url_display} was written by a newer opsflow (schema revision "
        f"{revision}); upgrade opsflow"
    )


def _not_upgraded(url_display: str) -> SchemaError:
    return SchemaError(
        f"the database at {url_display} has no opsflow schema (or an old one); "
        "run `opsflow db upgrade`"
    )


def check(engine: Engine, url_display: str, *, upgrade_if_needed: bool) -> None:
    """Make sure the schema is at :data:`HEAD`, upgrading it if allowed.

    The revision and the tables are read in one snapshot (REPEATABLE READ on
    PostgreSQL; one read transaction on SQLite): read apart, another process's
    migration committing in between looked like a foreign database.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            revision = current_revision(connection)
            if revision != HEAD:
                _refuse_foreign(connection, url_display, revision)
    if revision == HEAD:
        return
    if revision is not None and revision not in REVISIONS:
        raise newer_schema_error(url_display, revision)
    if not upgrade_if_needed:
        raise _not_upgraded(url_display)
    upgrade(engine, url_display)


def upgrade(engine: Engine, url_display: str) -> tuple[str | None, str]:
    """Upgrade the schema to :data:`HEAD`; returns (revision before, revision after)."""
    from alembic import command

    with engine.connect() as connection:
        connection.execution_options(**{WRITE: True})
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # straight to the driver: SQLAlchemy would begin a transaction first
            driver: Any = connection.connection.driver_connection
            driver.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # a migration waits as long as it must (the store's lock wait is for
                    # actions), for another process's migration and for its tables
                    connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
                    )
                before = current_revision(connection)
                if before != HEAD:
                    _refuse_foreign(connection, url_display, before)
                if before is not None and before not in REVISIONS:
                    raise newer_schema_error(url_display, before)
                if before != HEAD:
                    command.upgrade(alembic_config(connection), "head")
                    if sqlite:
                        _check_foreign_keys(connection, url_display)
        finally:
            if sqlite:
                connection.invalidate()  # never back to the pool with enforcement off
    return before, HEAD


def _check_foreign_keys(connection: Connection, url_display: str) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = ", ".join(sorted({str(row[0]) for row in broken}))
        raise SchemaError(
            f"upgrading the database at {url_display} would leave {len(broken)} rows of "
            f"{tables} pointing at missing rows, so nothing was changed; restore the "
            "database from a backup or report this to the opsflow maintainers"
        )
