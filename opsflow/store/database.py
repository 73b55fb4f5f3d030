"""Which database to use and how to connect to it.

* :func:`resolve_url`: an explicit URL, else ``OPSFLOW_DATABASE_URL``, else the
  workspace's (:mod:`opsflow.workspace`: its ``opsflow.toml`` says, or the
  embedded default, the SQLite file ``<workspace>/.opsflow/opsflow.db``).
* :func:`create_engine`: a SQLAlchemy engine with opsflow's connection
  settings.
* :func:`guard`: turns driver failures (unreachable server, missing database,
  locked file, a file that is not a SQLite database or is damaged) into
  one-line :class:`DatabaseUnavailableError` messages that name the URL,
  without its password, and the fix.
* URLs are checked before use by :func:`opsflow.store.dburl.parse` (control
  characters, ports, options).

SQLite settings, chosen for durability and for correct concurrent writers:

* ``journal_mode=WAL``: readers never block the writer and vice versa (not
  on a file that has tables but not opsflow's ``sops``, ``runs`` and
  ``events``: the mode is written
  into the file, and such a file is another program's, which opsflow refuses
  without changing it).
* ``synchronous=FULL``: every commit fsyncs the write-ahead log, so a
  committed action survives the process being killed *and* the machine losing
  power. (In WAL mode ``NORMAL`` already survives a killed process but can
  lose the last commits on power loss; an audit log should not, so FULL is the
  default. ``OPSFLOW_SQLITE_SYNCHRONOUS=NORMAL`` trades that for speed.)
* ``foreign_keys=ON`` and a ``busy_timeout`` of the store's lock wait
  (:data:`LOCK_WAIT_S` unless the store is given another): a writer waits
  that long for another process's write transaction instead of failing at
  once, then gets a clear "busy; try again".
* Transactions: pysqlite's own implicit ``BEGIN`` handling is switched off
  (the documented SQLAlchemy recipe: ``isolation_level = None`` on connect and
  our own ``BEGIN`` in the ``begin`` event). Write transactions (connections
  with the execution option ``opsflow_write=True``) start with
  ``BEGIN IMMEDIATE``, which takes the write lock up front, so two writers
  never both read a run and then deadlock or fail upgrading to a write lock.

PostgreSQL (``postgresql+psycopg://…``) uses the server defaults (READ
COMMITTED); writers of one run are serialised by its row lock (``SELECT … FOR
UPDATE``, see :mod:`opsflow.store.store`). Every connection's ``lock_timeout``
is the store's lock wait, so an action waits that long for a run another
action holds, then gets a clear "busy; try again" (migrations wait as long as
they need: they lift the bound for their own transaction). This module holds no
queries and no schema logic.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine

from . import dburl
from .errors import DatabaseUnavailableError

__all__ = [
    "ENV_VAR",
    "SYNC_ENV_VAR",
    "WRITE",
    "create_engine",
    "display_url",
    "guard",
    "resolve_url",
    "sqlite_synchronous",
]

ENV_VAR = "OPSFLOW_DATABASE_URL"
SYNC_ENV_VAR = "OPSFLOW_SQLITE_SYNCHRONOUS"
LOCK_WAIT_ENV_VAR = "OPSFLOW_LOCK_WAIT"
SYNC_MODES = ("FULL", "NORMAL")
#: execution option that makes a SQLite transaction ``BEGIN IMMEDIATE``
WRITE = "opsflow_write"
#: how long a writer waits for a lock another writer holds, in seconds (issue 21: an
#: action holds its run's lock for a few milliseconds; at 16 processes on one run the
#: longest wait measured was far below a second, see docs/benchmarks.md)
LOCK_WAIT_S = 10.0
CONNECT_TIMEOUT_S = 10
FIX = f"start the database server or point {ENV_VAR} (or --db) at a reachable database"


def resolve_url(url: str | None = None, workspace: str | os.PathLike[str] | None = None,
                *, create: bool = True) -> str:
    """The database URL to use (see :func:`opsflow.workspace.database_url`): ``url``, else
    ``OPSFLOW_DATABASE_URL``, else the workspace's; ``create``: whether the workspace's
    SQLite database may be created."""
    from ..workspace import database_url

    return database_url(url, workspace, create=create)


def require_existing(url: str) -> None:
    """Raise :class:`DatabaseUnavailableError` if ``url`` is a SQLite file that does not
    exist (connecting would create it)."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if not Path(parsed.database).is_file():
        raise DatabaseUnavailableError(
            f"there is no database at {display_url(url)} (nothing was created); check the "
            "path, or create it with `opsflow db upgrade`")


def _parse(url: str) -> URL:
    return dburl.parse(url)


def display_url(url: str) -> str:
    """``url`` with any password masked, for messages."""
    return _parse(url).render_as_string(hide_password=True)


def lock_wait(given: float | None = None) -> float:
    """The lock wait in seconds: ``given``, else ``OPSFLOW_LOCK_WAIT``, else
    :data:`LOCK_WAIT_S`."""
    if given is not None:
        value: object = given
        source = "the lock wait"
    else:
        text = os.environ.get(LOCK_WAIT_ENV_VAR, "").strip()
        if not text:
            return LOCK_WAIT_S
        source = f"{LOCK_WAIT_ENV_VAR}={text[:40]}"
        try:
            value = float(text)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not 0 < value <= 3600:
        raise DatabaseUnavailableError(
            f"{source} is not a number of seconds between 0 and 3600; give e.g. "
            f"{LOCK_WAIT_ENV_VAR}=10")
    return float(value)


def sqlite_synchronous() -> str:
    """The SQLite ``synchronous`` mode: FULL unless ``OPSFLOW_SQLITE_SYNCHRONOUS`` says NORMAL."""
    mode = os.environ.get(SYNC_ENV_VAR, "").strip().upper() or "FULL"
    if mode not in SYNC_MODES:
        raise DatabaseUnavailableError(
            f"{SYNC_ENV_VAR}={mode} is not a supported mode; use FULL (the default) or NORMAL"
        )
    return mode


FOREIGN_SQL = (
    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table') AND (SELECT count(*) "
    "FROM sqlite_master WHERE type = 'table' AND name IN ('sops', 'runs', 'events')) < 3"
)


def _foreign(cursor: Any) -> bool:
    """Whether the SQLite file has tables but not opsflow's: another program's file."""
    return bool(cursor.execute(FOREIGN_SQL).fetchone()[0])


def _sqlite_settings(synchronous: str, lock_wait: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {round(lock_wait * 1000)}")
            # WAL is written into the file's header: leave another program's file alone
            # (opsflow's revision check then refuses it, see opsflow.store.migrate)
            if not _foreign(cursor):
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE, False)
    # straight to the driver (this runs on every transaction); errors are wrapped as
    # SQLAlchemy would, so that :func:`guard` reports them
    try:
        connection.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE" if write else "BEGIN"
        )
    except sqlite3.OperationalError as error:
        raise exc.OperationalError("BEGIN", None, error) from error


def create_engine(url: str, *, lock_wait: float = LOCK_WAIT_S) -> Engine:
    """An engine for ``url`` with opsflow's settings (see the module docstring);
    ``lock_wait``: how long a writer waits for another's lock, in seconds."""
    parsed = _parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = sqlalchemy.create_engine(parsed, connect_args={"timeout": lock_wait})
            event.listen(engine, "connect", _sqlite_settings(sqlite_synchronous(), lock_wait))
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql":
            # the URL's own ``options`` (e.g. a search_path) are kept: connect_args win
            given = parsed.query.get("options", "")
            given = " ".join(given) if isinstance(given, tuple) else given
            bound = f"-c lock_timeout={max(1, round(lock_wait * 1000))}"
            connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "opsflow",
                            "options": f"{given} {bound}".strip()}
        return sqlalchemy.create_engine(parsed, connect_args=connect_args)
    except (exc.NoSuchModuleError, ImportError):
        raise DatabaseUnavailableError(
            f"opsflow cannot use the database URL {display_url(url)} (no driver for it); "
            "use postgresql+psycopg://… or sqlite:///…"
        ) from None


def _reason(error: exc.DBAPIError) -> str:
    text = str(error.orig) if error.orig is not None else str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error.orig).__name__


def _sqlite_file_message(url_display: str, reason: str) -> str | None:
    """The message for a SQLite file that is no database or a damaged one, else ``None``."""
    if "not a database" in reason:
        return (
            f"the file at {url_display} is not a SQLite database ({reason}); point {ENV_VAR} "
            "(or --db) at an opsflow database, or move that file away"
        )
    if "malformed" in reason or "corrupt" in reason:
        return (
            f"the SQLite database at {url_display} is damaged ({reason}); "
            "restore it from a backup"
        )
    return None


def waited_too_long(error: exc.DBAPIError, *, sqlite: bool) -> bool:
    """Whether ``error`` says a lock stayed held past the lock wait (SQLite: the
    database is locked; PostgreSQL: ``lock_timeout``, SQLSTATE 55P03)."""
    if sqlite:
        return "locked" in _reason(error)
    return getattr(error.orig, "sqlstate", None) == "55P03"


@contextmanager
def guard(url_display: str, *, sqlite: bool, lock_wait: float = LOCK_WAIT_S,
          busy: Callable[[], Exception] | None = None) -> Iterator[None]:
    """Turn driver errors about reaching the database into one-line user errors;
    ``busy`` makes the error for a lock held past ``lock_wait`` seconds."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as error:
        reason = _reason(error)
        damaged = _sqlite_file_message(url_display, reason) if sqlite else None
        if busy is not None and isinstance(error, exc.OperationalError) and \
                waited_too_long(error, sqlite=sqlite):
            raise busy() from error
        if damaged is not None:
            message = damaged
        elif sqlite and "locked" in reason:
            message = (
                f"the database at {url_display} stayed locked by another opsflow process "
                f"for {lock_wait:g} s; try again"
            )
        elif sqlite:
            message = (
                f"cannot use the SQLite database at {url_display} ({reason}); check that its "
                f"folder exists and is writable, or set {ENV_VAR}"
            )
        else:
            message = f"cannot use the database at {url_display} ({reason}); {FIX}"
        raise DatabaseUnavailableError(message) from error
    except exc.DataError as error:
        # a stored value the driver cannot turn into Python (e.g. PostgreSQL's 'infinity'
        # timestamp): damaged data, never the user's input (that is checked before)
        raise DatabaseUnavailableError(
            f"the database at {url_display} holds a value that cannot be read "
            f"({_reason(error)}); restore the database from a backup") from error
    except exc.DatabaseError as error:
        # sqlite3 reports a file that is not a database, or a damaged one, as the
        # plain DatabaseError (its subclasses, e.g. IntegrityError, are bugs, not input)
        message_or_none = (
            _sqlite_file_message(url_display, _reason(error))
            if sqlite and type(error) is exc.DatabaseError
            else None
        )
        if message_or_none is None:
            raise
        raise DatabaseUnavailableError(message_or_none) from error
