"""The statements the store runs and the rows it writes.

Statements are built once, at import: SQLAlchemy then reuses their compiled
form on every call, which matters on the update path (see
``bench/bench_store.py``). The helpers turn records into row dictionaries and
rows back into records, and fingerprint a run's work items and assignments.
No transactions and no decisions here: :mod:`opsflow.store.store` has those.

Reading a row checks every value against its column (:func:`check_row`): a
damaged value (see :class:`~opsflow.store.coltypes.Corrupt`) or one of the
wrong type (SQLite keeps whatever was written) raises
:class:`~opsflow.store.errors.CorruptRowError` naming the table, the row and
the column, so a damaged database gives one clear message, never a
traceback from deeper in the engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from . import chain
from .coltypes import Corrupt, JSONDict, UTCDateTime, iso_utc
from .errors import CorruptRowError
from .records import (
    EventRecord,
    NewRun,
    PersonRecord,
    RunRecord,
    SopRecord,
    WorkItem,
    WorkItemRecord,
)
from .schema import Base

AnyRow = Row[*tuple[Any, ...]]

# the mapped tables themselves: statements on them compile as plain Core (no ORM
# compile step, no mapper configuration on the first query)
SOPS = Base.metadata.tables["sops"]
RUNS = Base.metadata.tables["runs"]
EVENTS = Base.metadata.tables["events"]
WORK_ITEMS = Base.metadata.tables["work_items"]
ASSIGNMENTS = Base.metadata.tables["assignments"]
MARKS = Base.metadata.tables["marks"]
PEOPLE = Base.metadata.tables["people"]
TOKENS = Base.metadata.tables["tokens"]
PASSWORDS = Base.metadata.tables["passwords"]
SIGNIN_FAILURES = Base.metadata.tables["signin_failures"]

RUN_COLUMNS = (
    RUNS.c.id,
    RUNS.c.sop_hash,
    RUNS.c.sop_id,
    RUNS.c.title,
    RUNS.c.status,
    RUNS.c.phases,
    RUNS.c.state,
    RUNS.c.version,
    RUNS.c.due_at,
    RUNS.c.started_at,
    RUNS.c.updated_at,
)
# what an update needs to know about the run it replaces (not its old state)
HEAD_COLUMNS = (
    RUNS.c.id,
    RUNS.c.sop_hash,
    RUNS.c.sop_id,
    RUNS.c.title,
    RUNS.c.version,
    RUNS.c.started_at,
    RUNS.c.last_seq,
    RUNS.c.last_hash,
    RUNS.c.work_digest,
    RUNS.c.assignments_digest,
)
EVENT_COLUMNS = (
    EVENTS.c.run_id,
    EVENTS.c.seq,
    EVENTS.c.at,
    EVENTS.c.actor,
    EVENTS.c.action,
    EVENTS.c.from_phase,
    EVENTS.c.to_phase,
    EVENTS.c.payload,
    EVENTS.c.prev_hash,
    EVENTS.c.hash,
)


SELECT_RUN = select(*RUN_COLUMNS).where(RUNS.c.id == bindparam("b_run_id"))
# a run and its head (see opsflow.store.heads), for get_run
SELECT_RUN_AND_HEAD = select(
    *RUN_COLUMNS,
    RUNS.c.last_seq,
    RUNS.c.last_hash,
    RUNS.c.work_digest,
    RUNS.c.assignments_digest,
).where(RUNS.c.id == bindparam("b_run_id"))
SELECT_HEAD = select(*HEAD_COLUMNS).where(RUNS.c.id == bindparam("b_run_id"))
LOCK_HEAD = SELECT_HEAD.with_for_update()


def _last_at(runs: Any) -> Any:
    """The time of the run's last event (``NULL`` before its first)."""
    return (select(EVENTS.c.at)
            .where(EVENTS.c.run_id == runs.c.id, EVENTS.c.seq == runs.c.last_seq)
            .scalar_subquery().label("last_at"))


# an action's lock (see Store.act): the run's head, its last event's time and, on
# PostgreSQL, the server's clock read after the row lock is granted (the locked row
# is a materialised CTE, so the outer SELECT projects only once the lock is held)
_LOCKED = (select(*HEAD_COLUMNS).where(RUNS.c.id == bindparam("b_run_id")).with_for_update()
           .cte("locked").prefix_with("MATERIALIZED"))
LOCK_FOR_ACTION_PG = select(
    *_LOCKED.c, _last_at(_LOCKED), func.clock_timestamp(type_=UTCDateTime()).label("db_now"))
# on SQLite the write transaction (BEGIN IMMEDIATE) is the lock
LOCK_FOR_ACTION_SQLITE = select(*HEAD_COLUMNS, _last_at(RUNS)).where(
    RUNS.c.id == bindparam("b_run_id"))
# replaces the state only if the row is exactly the head the chain was computed from
UPDATE_RUN = (
    update(RUNS)
    .where(
        RUNS.c.id == bindparam("b_run_id"),
        RUNS.c.version == bindparam("b_version"),
        RUNS.c.last_seq == bindparam("b_last_seq"),
        RUNS.c.last_hash == bindparam("b_last_hash"),
        RUNS.c.work_digest == bindparam("b_work_digest"),
        RUNS.c.assignments_digest == bindparam("b_assignments_digest"),
    )
    .values(version=RUNS.c.version + 1)
)
SET_HEAD = update(RUNS).where(RUNS.c.id == bindparam("b_run_id"))
ADVANCE_HEAD = update(RUNS).where(
    RUNS.c.id == bindparam("b_run_id"), RUNS.c.last_seq == bindparam("b_last_seq")
)
INSERT_EVENT = insert(EVENTS)
#: the columns an action's UPDATE sets and an event row has (see :class:`Prepared`)
UPDATE_KEYS = ("status", "phases", "state", "due_at", "updated_at", "work_digest",
               "assignments_digest", "last_seq", "last_hash")
EVENT_KEYS = tuple(column.name for column in EVENTS.columns if column.name != "id")
DELETE_WORK = delete(WORK_ITEMS).where(WORK_ITEMS.c.run_id == bindparam("b_run_id"))
INSERT_WORK = insert(WORK_ITEMS)
DELETE_ASSIGNMENTS = delete(ASSIGNMENTS).where(ASSIGNMENTS.c.run_id == bindparam("b_run_id"))
INSERT_ASSIGNMENT = insert(ASSIGNMENTS)
SELECT_SOP = select(
    SOPS.c.hash, SOPS.c.sop_id, SOPS.c.version, SOPS.c.path, SOPS.c.source, SOPS.c.compiled,
    SOPS.c.workspace_path,
).where(SOPS.c.hash == bindparam("b_hash"))
SELECT_EVENTS = (
    select(*EVENT_COLUMNS).where(EVENTS.c.run_id == bindparam("b_run_id")).order_by(EVENTS.c.seq)
)
SELECT_LAST_EVENT = (
    select(EVENTS.c.actor, EVENTS.c.action, EVENTS.c.at, EVENTS.c.payload)
    .where(EVENTS.c.run_id == bindparam("b_run_id"))
    .order_by(EVENTS.c.seq.desc())
    .limit(1)
)


#: the events after the run's last event of another action than ``b_action`` (a run's
#: refusals since its last change)
SELECT_SINCE_OTHER_ACTION = (
    select(EVENTS.c.actor, EVENTS.c.payload)
    .where(EVENTS.c.run_id == bindparam("b_run_id"))
    .where(EVENTS.c.seq > func.coalesce(
        select(func.max(EVENTS.c.seq))
        .where(EVENTS.c.run_id == bindparam("b_run_id"))
        .where(EVENTS.c.action != bindparam("b_action"))
        .scalar_subquery(), 0))
    .where(EVENTS.c.action == bindparam("b_action"))
)


def _kinds(table: Table) -> dict[str, tuple[type, str, bool]]:
    """column name -> (Python type, its name in messages, nullable)."""
    kinds: dict[str, tuple[type, str, bool]] = {}
    for column in table.columns:
        kind: tuple[type, str]
        if isinstance(column.type, UTCDateTime):
            kind = (datetime, "a time")
        elif isinstance(column.type, JSONDict):
            kind = (dict, "a JSON object")
        elif isinstance(column.type, Integer):
            kind = (int, "a whole number")
        else:
            kind = (str, "text")
        kinds[column.name] = (*kind, bool(column.nullable))
    return kinds


KINDS = {table.name: _kinds(table) for table in (SOPS, RUNS, EVENTS, WORK_ITEMS, PEOPLE)}
# the inbox's columns that come from runs, under their labels
KINDS["work_items"] = {**KINDS["work_items"], "run_title": KINDS["runs"]["title"],
                       "sop_id": KINDS["runs"]["sop_id"]}
# an action's lock row: the head, its last event's time and the server's clock
KINDS["locked"] = {**KINDS["runs"], "last_at": (datetime, "a time", True),
                   "db_now": (datetime, "a time", True)}


def check_row(row: AnyRow, table: str, what: str) -> None:
    """Raise :class:`CorruptRowError` unless every value fits its column in ``table``.

    ``what`` names the row for people (``run 5``); the value itself is never shown.
    """
    kinds = KINDS[table]
    for name, value in row._mapping.items():
        expected, said, nullable = kinds[name]
        if value is None and nullable:
            continue
        if isinstance(value, Corrupt):
            problem = value.problem
        elif value is None:
            problem = "is missing"
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            problem = f"is not {said}"
        else:
            continue
        raise CorruptRowError(table, what, name, problem)


def _number(value: Any) -> str:
    """A row key for messages: the number, or ``?`` if the stored key is damaged."""
    return str(value) if isinstance(value, int) else "?"


def event_record(row: AnyRow, run_id: int) -> EventRecord:
    """The event in a row with the :data:`EVENT_COLUMNS`, checked."""
    check_row(row, "events", f"event {_number(row.seq)} of run {run_id}")
    return EventRecord(**row._asdict())


def sop_record(row: AnyRow, sop_hash: str) -> SopRecord:
    """The SOP version in a :data:`SELECT_SOP` row, checked."""
    check_row(row, "sops", f"SOP version {sop_hash[:12]}")
    return SopRecord(**row._asdict())


def work_item_record(row: AnyRow) -> WorkItemRecord:
    """An inbox row (work item with its run's title and SOP id), checked."""
    check_row(row, "work_items", f"a work item of run {_number(row.run_id)}")
    return WorkItemRecord(**row._asdict())


def run_record(row: AnyRow) -> RunRecord:
    """The run in a row with (at least) the :data:`RUN_COLUMNS`, checked."""
    check_row(row, "runs", f"run {_number(row.id)}")
    return RunRecord(
        id=row.id,
        sop_hash=row.sop_hash,
        sop_id=row.sop_id,
        title=row.title,
        status=row.status,
        phases=row.phases.split(",") if row.phases else [],
        state=row.state,
        version=row.version,
        due_at=row.due_at,
        started_at=row.started_at,
        updated_at=row.updated_at,
    )


def person_record(row: AnyRow) -> PersonRecord:
    """A person in a row of ``people``, checked."""
    check_row(row, "people", "a person of the directory")
    return PersonRecord(key=row.key, name=row.name, email=row.email, timezone=row.timezone,
                        teams=tuple(t for t in row.teams.split(",") if t),
                        active=bool(row.active))


def person_row(person: PersonRecord, now: datetime) -> dict[str, Any]:
    return {"key": person.key, "name": person.name, "email": person.email,
            "timezone": person.timezone, "teams": ",".join(sorted(set(person.teams))),
            "active": int(person.active), "updated_at": now}


def digest(value: Any) -> str:
    return hashlib.sha256(chain.canonical_json(value).encode("utf-8")).hexdigest()


def work_digest(work: Sequence[WorkItem]) -> str:
    """A fingerprint of a run's work items (they are rewritten only when it changes)."""
    return digest(
        [[w.person, w.kind, w.phase, w.title, w.due_at and iso_utc(w.due_at)] for w in work]
    )


def assignments_digest(assignments: Sequence[tuple[str, str]]) -> str:
    """A fingerprint of a run's role assignments (rewritten only when it changes)."""
    return digest(sorted(set(assignments)))


def new_run_row(run: NewRun) -> dict[str, Any]:
    return {
        "sop_hash": run.sop_hash,
        "sop_id": run.sop_id,
        "title": run.title,
        "status": run.status,
        "phases": ",".join(run.phases),
        "state": run.state,
        "version": 1,
        "due_at": run.due_at,
        "started_at": run.now,
        "updated_at": run.now,
        "last_seq": 0,
        "last_hash": "",
        "work_digest": work_digest(run.work),
        "assignments_digest": assignments_digest(run.assignments),
    }


def event_rows(records: Sequence[EventRecord]) -> list[dict[str, Any]]:
    return [vars(record) for record in records]  # shallow: payloads are not copied


def work_rows(run_id: int, work: Sequence[WorkItem]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, **vars(item)} for item in work]


def assignment_rows(run_id: int, assignments: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "role": role, "person": person}
        for role, person in sorted(set(assignments))
    ]


def execute(connection: Connection, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """Run ``statement`` once per row (one plain execute for a single row, none for none)."""
    if rows:
        connection.execute(statement, rows[0] if len(rows) == 1 else rows)


class Prepared:
    """A statement compiled once for one dialect and run on the driver's own cursor.

    SQLAlchemy's ``Connection.execute`` costs about 40 µs per statement on top of
    the driver; an action runs its ``UPDATE`` and ``INSERT`` inside its run's lock,
    where that time is time every other writer of the run waits. The SQL text, the
    parameter order and the type conversions (``bind_processors``: times, JSON) are
    SQLAlchemy's own, taken from the compiled statement, so the rows written are
    the same. :meth:`usable` says when not to bypass ``execute``: when someone
    listens to statement events (tests that stop a process mid-transaction do).
    Driver errors are raised as SQLAlchemy's, so the store's guard reports them.
    """

    def __init__(self, statement: Any, dialect: Any, keys: Sequence[str]) -> None:
        compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql: str = compiled.string
        self._compiled = compiled
        self._processors: dict[str, Any] = dict(compiled._bind_processors)
        self._positions: list[str] | None = (list(compiled.positiontup)
                                             if compiled.positional else None)
        self._error: type[Exception] = dialect.loaded_dbapi.Error

    @staticmethod
    def usable(connection: Connection) -> bool:
        dispatch = connection.dispatch
        return not (dispatch.before_cursor_execute or dispatch.after_cursor_execute
                    or dispatch.before_execute or dispatch.after_execute)

    def _params(self, values: dict[str, Any]) -> Any:
        params = self._compiled.construct_params(values)
        for name, process in self._processors.items():
            if name in params:
                params[name] = process(params[name])
        if self._positions is None:
            return params
        return tuple(params[name] for name in self._positions)

    def execute(self, cursor: Any, values: dict[str, Any]) -> int:
        """Run the statement with ``values`` on ``cursor``; the rows it changed (``-1``
        in PostgreSQL's pipeline mode until the pipeline is synced)."""
        params = self._params(values)
        with self.errors():
            cursor.execute(self.sql, params)
        return int(cursor.rowcount)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Driver errors raised as SQLAlchemy's (which the store's guard turns into
        user errors)."""
        try:
            yield
        except self._error as error:
            from sqlalchemy import exc

            raise exc.DBAPIError.instance(self.sql, None, error, self._error) from error
