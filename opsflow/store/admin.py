"""Schema administration for ``opsflow db``: which revision a database is at, upgrade it.

Library functions behind the ``opsflow db`` commands (the CLI only prints
what they return). Unlike :meth:`opsflow.store.Store.open` they work on a
database whose schema is missing or old. The revision logic itself is in
:mod:`opsflow.store.migrate`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from . import database, migrate

__all__ = ["SchemaState", "schema_state", "upgrade_database"]


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands compared with this opsflow."""

    url_display: str
    before: str | None
    after: str | None
    head: str = migrate.HEAD
    #: where the database URL came from (the workspace, --db or the environment)
    source: str = ""

    @property
    def current(self) -> bool:
        return self.after == self.head

    @property
    def newer(self) -> bool:
        return self.after is not None and self.after not in migrate.REVISIONS


@contextmanager
def _engine(
    url: str | None, workspace: str | os.PathLike[str] | None, *, create: bool
) -> Iterator[tuple[Engine, str]]:
    """A short-lived engine on the resolved database, with driver errors translated."""
    resolved = database.resolve_url(url, workspace, create=create)
    if not create:
        database.require_existing(resolved)
    shown = database.display_url(resolved)
    engine = database.create_engine(resolved)
    try:
        with database.guard(shown, sqlite=engine.dialect.name == "sqlite"):
            yield engine, shown
    finally:
        engine.dispose()


def schema_state(
    url: str | None = None, *, workspace: str | os.PathLike[str] | None = None
) -> SchemaState:
    """The schema revision of the database (``before == after``); creates nothing."""
    from ..workspace import source

    with _engine(url, workspace, create=False) as (engine, shown):
        with engine.connect() as connection, connection.begin():
            revision = migrate.current_revision(connection)
    return SchemaState(shown, revision, revision, source=source(url, workspace))


def upgrade_database(
    url: str | None = None, *, workspace: str | os.PathLike[str] | None = None
) -> SchemaState:
    """Upgrade the database's schema to this opsflow's newest revision."""
    from ..workspace import source

    with _engine(url, workspace, create=True) as (engine, shown):
        before, after = migrate.upgrade(engine, shown)
    return SchemaState(shown, before, after, source=source(url, workspace))
