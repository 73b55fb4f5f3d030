"""The store: runs, their events and SOP versions in a SQL database.

:class:`Store` is the only way the engine reads and writes the database. Each
public method is one transaction (the unit of work): a run's state row, its
events, work items and assignments change together or not at all, so a
process killed mid-command leaves nothing half-written.

Concurrency: :meth:`Store.update_run` locks the run row (``SELECT … FOR
UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), checks the version the
caller read (else :class:`ConflictError`), then does ``UPDATE … SET
version = version + 1 WHERE id = :id AND version = :expected`` and appends the
events after the run's ``last_seq`` in the same transaction. Appending an
event without a state change (:meth:`Store.append_event`, for refused
attempts) takes the same lock but leaves ``version`` alone, so it never makes
a concurrent state update fail or get lost.

The store keeps SOP semantics out: ``state`` and ``compiled`` are opaque JSON
dicts owned by the engine. Connection settings are in
:mod:`opsflow.store.database`, the schema revision check in
:mod:`opsflow.store.migrate`, the hash chain in :mod:`opsflow.store.chain`.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Row, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from . import chain, database, migrate
from .coltypes import iso_utc, to_utc
from .errors import ConflictError, UnknownRunError, UnknownSopError
from .records import (
    EventDraft,
    EventRecord,
    JsonDict,
    NewRun,
    RunRecord,
    SopRecord,
    WorkItem,
    WorkItemRecord,
)
from .schema import AssignmentRow, EventRow, RunRow, SopRow, WorkItemRow

__all__ = ["Store"]

AnyRow = Row[*tuple[Any, ...]]

_RUN_COLUMNS = (
    RunRow.id,
    RunRow.sop_hash,
    RunRow.sop_id,
    RunRow.title,
    RunRow.status,
    RunRow.phases,
    RunRow.state,
    RunRow.version,
    RunRow.due_at,
    RunRow.started_at,
    RunRow.updated_at,
)
# what an update needs to know about the run it replaces (not its old state)
_HEAD_COLUMNS = (
    RunRow.id,
    RunRow.sop_hash,
    RunRow.sop_id,
    RunRow.title,
    RunRow.version,
    RunRow.started_at,
    RunRow.last_seq,
    RunRow.last_hash,
    RunRow.work_digest,
    RunRow.assignments_digest,
)
_EVENT_COLUMNS = (
    EventRow.run_id,
    EventRow.seq,
    EventRow.at,
    EventRow.actor,
    EventRow.action,
    EventRow.from_phase,
    EventRow.to_phase,
    EventRow.payload,
    EventRow.prev_hash,
    EventRow.hash,
)


# Statements are built once: SQLAlchemy then reuses their compiled form, which
# matters on the update path (see bench/bench_store.py).
_SELECT_RUN = select(*_RUN_COLUMNS).where(RunRow.id == bindparam("b_run_id"))
_SELECT_HEAD = select(*_HEAD_COLUMNS).where(RunRow.id == bindparam("b_run_id"))
_LOCK_HEAD = _SELECT_HEAD.with_for_update()
_UPDATE_RUN = (
    update(RunRow)
    .where(RunRow.id == bindparam("b_run_id"), RunRow.version == bindparam("b_expected"))
    .values(version=RunRow.version + 1)
)
_SET_HEAD = update(RunRow).where(RunRow.id == bindparam("b_run_id"))
_ADVANCE_HEAD = update(RunRow).where(
    RunRow.id == bindparam("b_run_id"), RunRow.last_seq == bindparam("b_last_seq")
)
_INSERT_EVENT = insert(EventRow)
_DELETE_WORK = delete(WorkItemRow).where(WorkItemRow.run_id == bindparam("b_run_id"))
_INSERT_WORK = insert(WorkItemRow)
_DELETE_ASSIGNMENTS = delete(AssignmentRow).where(AssignmentRow.run_id == bindparam("b_run_id"))
_INSERT_ASSIGNMENT = insert(AssignmentRow)
_SELECT_EVENTS = (
    select(*_EVENT_COLUMNS).where(EventRow.run_id == bindparam("b_run_id")).order_by(EventRow.seq)
)


def _run_record(row: AnyRow) -> RunRecord:
    values = row._asdict()
    values["phases"] = row.phases.split(",") if row.phases else []
    return RunRecord(**values)


def _digest(value: Any) -> str:
    return hashlib.sha256(chain.canonical_json(value).encode("utf-8")).hexdigest()


def _work_digest(work: Sequence[WorkItem]) -> str:
    """A fingerprint of a run's work items (they are rewritten only when it changes)."""
    return _digest(
        [[w.person, w.kind, w.phase, w.title, w.due_at and iso_utc(w.due_at)] for w in work]
    )


def _assignments_digest(assignments: Sequence[tuple[str, str]]) -> str:
    """A fingerprint of a run's role assignments (rewritten only when it changes)."""
    return _digest(sorted(set(assignments)))


def _new_run_row(run: NewRun) -> dict[str, Any]:
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
        "work_digest": _work_digest(run.work),
        "assignments_digest": _assignments_digest(run.assignments),
    }


def _event_rows(records: Sequence[EventRecord]) -> list[dict[str, Any]]:
    return [vars(record) for record in records]  # shallow: payloads are not copied


def _work_rows(run_id: int, work: Sequence[WorkItem]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, **vars(item)} for item in work]


def _assignment_rows(run_id: int, assignments: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"run_id": run_id, "role": role, "person": person}
        for role, person in sorted(set(assignments))
    ]


def _execute(connection: Connection, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """Run ``statement`` once per row (one plain execute for a single row, none for none)."""
    if rows:
        connection.execute(statement, rows[0] if len(rows) == 1 else rows)


class Store:
    """Runs, events and SOP versions in SQLite or PostgreSQL (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url_display = database.display_url(url)
        self._engine = database.create_engine(url)
        self._sqlite = self._engine.dialect.name == "sqlite"

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        workspace: str | os.PathLike[str] | None = None,
        upgrade: bool | None = None,
    ) -> Store:
        """Open the database (see :func:`database.resolve_url`) and check its schema.

        ``upgrade``: ``None`` upgrades SQLite automatically and requires
        PostgreSQL to be upgraded with ``opsflow db upgrade``; ``True`` always
        upgrades; ``False`` never does.
        """
        store = cls(database.resolve_url(url, workspace))
        try:
            with store._guard():
                migrate.check(
                    store._engine,
                    store.url_display,
                    upgrade_if_needed=store._sqlite if upgrade is None else upgrade,
                )
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transactions -------------------------------------------------------

    def _guard(self) -> Any:
        return database.guard(self.url_display, sqlite=self._sqlite)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard(), self._engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._guard(), self._engine.connect() as connection:
            connection.execution_options(**{database.WRITE: True})
            with connection.begin():
                yield connection

    @staticmethod
    def _head(connection: Connection, run_id: int, *, lock: bool) -> AnyRow:
        """The run row with its chain head; ``lock`` holds it until commit."""
        statement = _LOCK_HEAD if lock else _SELECT_HEAD
        row = connection.execute(statement, {"b_run_id": run_id}).one_or_none()
        if row is None:
            raise UnknownRunError(run_id)
        return row

    @staticmethod
    def _event_records(connection: Connection, run_id: int) -> list[EventRecord]:
        rows = connection.execute(_SELECT_EVENTS, {"b_run_id": run_id})
        return [EventRecord(**row._asdict()) for row in rows]

    # -- SOP versions -------------------------------------------------------

    def put_sop(self, sop: SopRecord, *, now: datetime | None = None) -> None:
        """Store an SOP version; does nothing if its hash is already stored."""
        values = {**vars(sop), "created_at": now or datetime.now(UTC)}
        # INSERT … ON CONFLICT DO NOTHING is dialect-specific; import only the one in use
        dialect = importlib.import_module(f"sqlalchemy.dialects.{self._engine.dialect.name}")
        statement = dialect.insert(SopRow).values(values).on_conflict_do_nothing()
        with self._write() as connection:
            connection.execute(statement)

    def get_sop(self, sop_hash: str) -> SopRecord:
        with self._read() as connection:
            row = connection.execute(
                select(
                    SopRow.hash,
                    SopRow.sop_id,
                    SopRow.version,
                    SopRow.path,
                    SopRow.source,
                    SopRow.compiled,
                ).where(SopRow.hash == sop_hash)
            ).one_or_none()
        if row is None:
            raise UnknownSopError(sop_hash, self.url_display)
        return SopRecord(**row._asdict())

    # -- runs ---------------------------------------------------------------

    def create_run(
        self,
        *,
        sop_hash: str,
        sop_id: str,
        title: str,
        status: str,
        phases: list[str],
        state: JsonDict,
        due_at: datetime | None,
        assignments: list[tuple[str, str]],
        work: list[WorkItem],
        events: list[EventDraft],
        now: datetime,
    ) -> RunRecord:
        """Create a run (version 1) with its first events; the store assigns its id."""
        [run_id] = self.create_runs(
            [
                NewRun(
                    sop_hash=sop_hash,
                    sop_id=sop_id,
                    title=title,
                    status=status,
                    phases=phases,
                    state=state,
                    due_at=due_at,
                    assignments=assignments,
                    work=work,
                    events=events,
                    now=now,
                )
            ]
        )
        return self.get_run(run_id)

    def create_runs(self, runs: Sequence[NewRun]) -> list[int]:
        """Create many runs in one transaction (bulk loading); returns their ids in order."""
        if not runs:
            return []
        with self._write() as connection:
            wanted = {run.sop_hash for run in runs}
            known = set(
                connection.execute(select(SopRow.hash).where(SopRow.hash.in_(wanted))).scalars()
            )
            for sop_hash in sorted(wanted - known):
                raise UnknownSopError(sop_hash, self.url_display)
            ids = list(
                connection.execute(
                    insert(RunRow).returning(RunRow.id, sort_by_parameter_order=True),
                    [_new_run_row(run) for run in runs],
                ).scalars()
            )
            events: list[dict[str, Any]] = []
            heads: list[dict[str, Any]] = []
            work: list[dict[str, Any]] = []
            assignments: list[dict[str, Any]] = []
            for run_id, run in zip(ids, runs, strict=True):
                records = chain.chain(run_id, 0, "", run.events)
                events += _event_rows(records)
                if records:
                    heads.append(
                        {
                            "b_run_id": run_id,
                            "last_seq": records[-1].seq,
                            "last_hash": records[-1].hash,
                        }
                    )
                work += _work_rows(run_id, run.work)
                assignments += _assignment_rows(run_id, run.assignments)
            _execute(connection, _INSERT_EVENT, events)
            _execute(connection, _SET_HEAD, heads)
            _execute(connection, _INSERT_WORK, work)
            _execute(connection, _INSERT_ASSIGNMENT, assignments)
        return ids

    def get_run(self, run_id: int) -> RunRecord:
        with self._read() as connection:
            row = connection.execute(_SELECT_RUN, {"b_run_id": run_id}).one_or_none()
        if row is None:
            raise UnknownRunError(run_id)
        return _run_record(row)

    def update_run(
        self,
        run_id: int,
        *,
        expected_version: int,
        status: str,
        phases: list[str],
        state: JsonDict,
        due_at: datetime | None,
        assignments: list[tuple[str, str]],
        work: list[WorkItem],
        events: list[EventDraft],
        now: datetime,
    ) -> RunRecord:
        """Replace a run's state if it is still at ``expected_version``; append ``events``.

        Raises :class:`ConflictError` if someone else changed the run since
        the caller read it (nothing is written then).
        """
        work_digest = _work_digest(work)
        assignments_digest = _assignments_digest(assignments)
        with self._write() as connection:
            head = self._head(connection, run_id, lock=True)
            if head.version != expected_version:
                raise ConflictError(run_id, expected_version, head.version)
            records = chain.chain(run_id, head.last_seq, head.last_hash, events)
            last = records[-1] if records else None
            changed = connection.execute(
                _UPDATE_RUN,
                {
                    "b_run_id": run_id,
                    "b_expected": expected_version,
                    "status": status,
                    "phases": ",".join(phases),
                    "state": state,
                    "due_at": due_at,
                    "updated_at": now,
                    "last_seq": last.seq if last else head.last_seq,
                    "last_hash": last.hash if last else head.last_hash,
                    "work_digest": work_digest,
                    "assignments_digest": assignments_digest,
                },
            ).rowcount
            if changed != 1:
                raise ConflictError(run_id, expected_version, -1)
            _execute(connection, _INSERT_EVENT, _event_rows(records))
            if work_digest != head.work_digest:
                connection.execute(_DELETE_WORK, {"b_run_id": run_id})
                _execute(connection, _INSERT_WORK, _work_rows(run_id, work))
            if assignments_digest != head.assignments_digest:
                connection.execute(_DELETE_ASSIGNMENTS, {"b_run_id": run_id})
                _execute(connection, _INSERT_ASSIGNMENT, _assignment_rows(run_id, assignments))
        return RunRecord(
            id=run_id,
            sop_hash=head.sop_hash,
            sop_id=head.sop_id,
            title=head.title,
            status=status,
            phases=list(phases),
            state=state,
            version=expected_version + 1,
            due_at=due_at and to_utc(due_at),
            started_at=head.started_at,
            updated_at=to_utc(now),
        )

    def append_event(self, run_id: int, event: EventDraft) -> None:
        """Record an event that changes no state (e.g. a refused attempt)."""
        with self._write() as connection:
            head = self._head(connection, run_id, lock=True)
            records = chain.chain(run_id, head.last_seq, head.last_hash, [event])
            connection.execute(
                _ADVANCE_HEAD,
                {
                    "b_run_id": run_id,
                    "b_last_seq": head.last_seq,
                    "last_seq": records[-1].seq,
                    "last_hash": records[-1].hash,
                },
            )
            _execute(connection, _INSERT_EVENT, _event_rows(records))

    def events(self, run_id: int) -> list[EventRecord]:
        """A run's events in order."""
        with self._read() as connection:
            records = self._event_records(connection, run_id)
            if not records:
                self._head(connection, run_id, lock=False)
        return records

    def list_runs(
        self,
        *,
        sop_id: str | None = None,
        status: str | None = None,
        person: str | None = None,
        overdue_at: datetime | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, oldest first.

        ``person``: runs with a role bound to that person; ``overdue_at``: runs
        whose earliest due time is before that moment.
        """
        statement = select(*_RUN_COLUMNS).order_by(RunRow.id)
        if sop_id is not None:
            statement = statement.where(RunRow.sop_id == sop_id)
        if status is not None:
            statement = statement.where(RunRow.status == status)
        if person is not None:
            # IN (not EXISTS) so that the planner starts from the index on person
            statement = statement.where(
                RunRow.id.in_(select(AssignmentRow.run_id).where(AssignmentRow.person == person))
            )
        if overdue_at is not None:
            statement = statement.where(RunRow.due_at.is_not(None), RunRow.due_at < overdue_at)
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as connection:
            return [_run_record(row) for row in connection.execute(statement)]

    def inbox(self, person: str, *, limit: int | None = None) -> list[WorkItemRecord]:
        """Everything waiting on ``person``: earliest due (overdue) first, undated last."""
        statement = (
            select(
                WorkItemRow.run_id,
                RunRow.title.label("run_title"),
                RunRow.sop_id,
                WorkItemRow.person,
                WorkItemRow.kind,
                WorkItemRow.phase,
                WorkItemRow.title,
                WorkItemRow.due_at,
            )
            .join(RunRow, RunRow.id == WorkItemRow.run_id)
            .where(WorkItemRow.person == person)
            .order_by(WorkItemRow.due_at.asc().nulls_last(), WorkItemRow.run_id, WorkItemRow.id)
        )
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as connection:
            return [WorkItemRecord(**row._asdict()) for row in connection.execute(statement)]

    def verify_chain(self, run_id: int) -> list[str]:
        """Problems in a run's event log (edited, deleted, reordered rows); ``[]`` if intact."""
        with self._read() as connection:
            head = self._head(connection, run_id, lock=False)
            events = self._event_records(connection, run_id)
        return chain.verify(run_id, events, head.last_seq, head.last_hash)
