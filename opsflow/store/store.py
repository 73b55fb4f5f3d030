"""The store: runs, their events and SOP versions in a SQL database.

:class:`Store` is the only way the engine reads and writes the database. Each
public method is one transaction (the unit of work): a run's state row, its
events, work items and assignments change together or not at all, so a
process killed mid-command leaves nothing half-written.

Concurrency: an action on a run is one transaction that holds the run's lock
from its first read to its commit (:meth:`Store.act`). On PostgreSQL the
lock is the run row's (``SELECT … FOR UPDATE``, in one statement with the
server's clock, read after the lock is granted, and the run's last event
time); on SQLite every write transaction is ``BEGIN IMMEDIATE``, which holds
the file's write lock. Under the lock the store reads the run (or, when its
head is the one this store last wrote, reuses that copy), takes the time
(never before the run's last event, so a run's event times never go
backwards), lets the engine decide on it, and writes the state row, the
events, work items and assignments. Two people acting on one run are thus
served one after the other, each on the state the other left: nobody's
valid action fails because someone else acted first. Waiting for the lock
is bounded by :attr:`Store.lock_wait` (``OPSFLOW_LOCK_WAIT``, 10 s by
default; PostgreSQL ``lock_timeout``, SQLite ``busy_timeout``); past it the
action is :class:`RunBusyError`, with nothing written.

The ``UPDATE`` stays version-checked (``… WHERE id = :id AND version = :v
AND last_seq = :s AND last_hash = :h AND work_digest = :w AND
assignments_digest = :a``) as a guard against writers that do not lock:
:meth:`Store.update_run`, for a caller that decided on a run it read
earlier, tries that ``UPDATE`` on the head this store last saw
(:mod:`opsflow.store.heads`); if no row matched it locks the row, raises
:class:`ConflictError` if the version is not the one the caller read, else
chains its events on the head it read. Appending an event without a state
change (:meth:`Store.append_event`) takes the lock but leaves ``version``
alone.

The store keeps SOP semantics out: ``state`` and ``compiled`` are opaque JSON
dicts owned by the engine. Connection settings are in
:mod:`opsflow.store.database`, the schema revision check in
:mod:`opsflow.store.migrate`, the hash chain in :mod:`opsflow.store.chain`,
the statements and row dictionaries in :mod:`opsflow.store.queries`.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection

from ..errors import OpsflowError
from . import chain, database, migrate, queries
from .coltypes import to_utc
from .errors import (
    ConflictError,
    EventTimeBehindError,
    PersonExistsError,
    RunBusyError,
    RunIdError,
    UnknownRunError,
    UnknownSopError,
)
from .heads import Head, Heads
from .queries import (
    ASSIGNMENTS,
    MARKS,
    PASSWORDS,
    PEOPLE,
    RUNS,
    SIGNIN_FAILURES,
    SOPS,
    TOKENS,
    WORK_ITEMS,
)
from .records import (
    EventDraft,
    EventRecord,
    JsonDict,
    NewRun,
    PersonRecord,
    Refusal,
    RunRecord,
    SopRecord,
    StateChange,
    WorkItem,
    WorkItemRecord,
)

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["Store"]


#: the largest id a run can have (the id column is a 32-bit integer on PostgreSQL)
_MAX_ID = 2**31 - 1


def update_people() -> Any:
    """The UPDATE of one directory entry by key (``b_key``)."""
    return update(PEOPLE).where(PEOPLE.c.key == bindparam("b_key"))


def _checked_id(run_id: object) -> int:
    """``run_id`` if it can name a run: a whole number (not a bool or text), else a
    :class:`RunIdError`; one out of range names no run (:class:`UnknownRunError`)."""
    if isinstance(run_id, bool) or not isinstance(run_id, int):
        raise RunIdError(run_id)
    if not 1 <= run_id <= _MAX_ID:
        raise UnknownRunError(run_id)
    return run_id


class Store:
    """Runs, events and SOP versions in SQLite or PostgreSQL (see the module docstring)."""

    def __init__(self, url: str, *, lock_wait: float | None = None) -> None:
        self.url_display = database.display_url(url)
        #: how long an action waits for its run's lock before "busy", in seconds
        #: (:func:`database.lock_wait`: the argument, ``OPSFLOW_LOCK_WAIT``, or 10)
        lock_wait = database.lock_wait(lock_wait)
        self.lock_wait = lock_wait
        self._engine = database.create_engine(url, lock_wait=lock_wait)
        self._sqlite = self._engine.dialect.name == "sqlite"
        dialect = self._engine.dialect
        self._update = queries.Prepared(queries.UPDATE_RUN, dialect, queries.UPDATE_KEYS)
        self._insert_event = queries.Prepared(queries.INSERT_EVENT, dialect,
                                              queries.EVENT_KEYS)
        self._heads = Heads()
        self._writer: Connection | None = None
        #: the workspace the database was found through (``None``: given by URL)
        self.workspace: Workspace | None = None
        self._writer_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        workspace: str | os.PathLike[str] | None = None,
        upgrade: bool | None = None,
        lock_wait: float | None = None,
        create: bool = True,
    ) -> Store:
        """Open the database (see :func:`database.resolve_url`) and check its schema.

        ``upgrade``: ``None`` upgrades SQLite automatically and requires
        PostgreSQL to be upgraded with ``opsflow db upgrade``; ``True`` always
        upgrades; ``False`` never does. ``lock_wait``: see :func:`database.lock_wait`.
        ``create=False`` (what reading commands pass): a SQLite database that does not
        exist is an error, never created.
        """
        from ..workspace import resolve

        resolved, found = resolve(url, workspace, create=create)
        if not create:
            database.require_existing(resolved)
        store = cls(resolved, lock_wait=lock_wait)
        store.workspace = found
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
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
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

    def _guard(self, busy_run: int | None = None) -> AbstractContextManager[None]:
        """Driver errors as user errors; with ``busy_run``, a lock held past the lock
        wait is :class:`RunBusyError` for that run."""
        busy = None if busy_run is None else (
            lambda: RunBusyError(busy_run, self.lock_wait))
        return database.guard(self.url_display, sqlite=self._sqlite, lock_wait=self.lock_wait,
                              busy=busy)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard(), self._engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def _write(self, busy_run: int | None = None) -> Iterator[Connection]:
        """A write transaction, on the store's own connection unless another thread has it.

        Keeping one connection for writes (not in a transaction between
        calls, so it holds no lock) saves the pool's checkout and check-in on
        every action; a connection that failed is dropped, not reused.
        """
        with self._guard(busy_run):
            if not self._writer_lock.acquire(blocking=False):
                with self._engine.connect() as pooled:
                    pooled.execution_options(**{database.WRITE: True})
                    with pooled.begin():
                        yield pooled
                return
            try:
                connection = self._writer
                if connection is None:
                    connection = self._engine.connect()
                    connection.execution_options(**{database.WRITE: True})
                    self._writer = connection
                try:
                    with connection.begin():
                        yield connection
                except OpsflowError:
                    raise  # a refusal or a conflict: the connection is fine
                except BaseException:
                    self._writer = None
                    connection.close()
                    raise
            finally:
                self._writer_lock.release()

    @staticmethod
    def _head(connection: Connection, run_id: int, *, lock: bool) -> Head:
        """The run's head as stored; ``lock`` holds the row until commit."""
        statement = queries.LOCK_HEAD if lock else queries.SELECT_HEAD
        row = connection.execute(statement, {"b_run_id": run_id}).one_or_none()
        if row is None:
            raise UnknownRunError(run_id)
        queries.check_row(row, "runs", f"run {run_id}")
        return Head.of(row)

    @staticmethod
    def _event_records(connection: Connection, run_id: int) -> list[EventRecord]:
        result = connection.execute(queries.SELECT_EVENTS, {"b_run_id": run_id})
        return [queries.event_record(row, run_id) for row in result]

    # -- SOP versions -------------------------------------------------------

    def put_sop(self, sop: SopRecord, *, now: datetime | None = None) -> None:
        """Store an SOP version; does nothing if its hash is already stored."""
        self._insert_once(SOPS, {**vars(sop), "created_at": now or datetime.now(UTC)})

    def _insert_once(self, table: Any, values: dict[str, Any]) -> None:
        """INSERT a row unless its key is already stored (ON CONFLICT DO NOTHING is
        dialect-specific; only the dialect in use is imported)."""
        dialect = importlib.import_module(f"sqlalchemy.dialects.{self._engine.dialect.name}")
        with self._write() as connection:
            connection.execute(dialect.insert(table).values(values).on_conflict_do_nothing())

    def get_sop(self, sop_hash: str) -> SopRecord:
        with self._read() as connection:
            row = connection.execute(queries.SELECT_SOP, {"b_hash": sop_hash}).one_or_none()
        if row is None:
            raise UnknownSopError(sop_hash, self.url_display)
        return queries.sop_record(row, sop_hash)

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
                connection.execute(select(SOPS.c.hash).where(SOPS.c.hash.in_(wanted))).scalars()
            )
            for sop_hash in sorted(wanted - known):
                raise UnknownSopError(sop_hash, self.url_display)
            ids = list(
                connection.execute(
                    insert(RUNS).returning(RUNS.c.id, sort_by_parameter_order=True),
                    [queries.new_run_row(run) for run in runs],
                ).scalars()
            )
            events: list[dict[str, Any]] = []
            heads: list[dict[str, Any]] = []
            work: list[dict[str, Any]] = []
            assignments: list[dict[str, Any]] = []
            for run_id, run in zip(ids, runs, strict=True):
                records = chain.chain(run_id, 0, "", run.events)
                events += queries.event_rows(records)
                if records:
                    heads.append(
                        {
                            "b_run_id": run_id,
                            "last_seq": records[-1].seq,
                            "last_hash": records[-1].hash,
                        }
                    )
                work += queries.work_rows(run_id, run.work)
                assignments += queries.assignment_rows(run_id, run.assignments)
            queries.execute(connection, queries.INSERT_EVENT, events)
            queries.execute(connection, queries.SET_HEAD, heads)
            queries.execute(connection, queries.INSERT_WORK, work)
            queries.execute(connection, queries.INSERT_ASSIGNMENT, assignments)
        return ids

    def get_run(self, run_id: int) -> RunRecord:
        _checked_id(run_id)
        with self._read() as connection:
            row = connection.execute(
                queries.SELECT_RUN_AND_HEAD, {"b_run_id": run_id}
            ).one_or_none()
        if row is None:
            raise UnknownRunError(run_id)
        record = queries.run_record(row)  # checks the row before its head is kept
        self._heads.put(Head.of(row))
        return record

    def act(
        self,
        run_id: int,
        decide: Callable[[RunRecord, datetime], StateChange | Refusal | None],
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> RunRecord:
        """One action on run ``run_id``, decided and written under the run's lock.

        In one transaction: lock the run (PostgreSQL ``SELECT … FOR UPDATE``,
        SQLite ``BEGIN IMMEDIATE``), read it, take the time, call
        ``decide(run, now)``, write what it returns, commit. ``decide`` sees the
        run as it is while nobody else can change it, so its decision is never
        stale. It returns a :class:`StateChange` (the new state and its events), a
        :class:`Refusal` (one event, no state change) or ``None`` (nothing to
        write); whatever it raises rolls the transaction back.

        ``now`` is read after the lock is granted and is never before the run's
        last event, so a run's event times never go backwards: ``clock`` if
        given, else the database's clock (the server's on PostgreSQL, read in the
        locking statement; this machine's on SQLite). Returns the run as stored
        afterwards. A lock held by someone else for longer than
        :attr:`lock_wait` seconds raises :class:`RunBusyError` (nothing written).
        """
        _checked_id(run_id)
        cached = self._heads.latest(run_id)
        statement = (queries.LOCK_FOR_ACTION_SQLITE if self._sqlite
                     else queries.LOCK_FOR_ACTION_PG)
        with self._write(busy_run=run_id) as connection:
            row = connection.execute(statement, {"b_run_id": run_id}).one_or_none()
            if row is None:
                raise UnknownRunError(run_id)
            queries.check_row(row, "locked", f"run {run_id}")
            head = Head.of(row)
            if cached is not None and cached.run is not None and cached.state_json is not None \
                    and cached.same_row(head):
                head = cached
                run = replace(cached.run, state=json.loads(cached.state_json))
            else:
                run = queries.run_record(
                    connection.execute(queries.SELECT_RUN, {"b_run_id": run_id}).one())
            if clock is not None:
                now = clock()
            else:
                now = datetime.now(UTC) if self._sqlite else to_utc(row.db_now)
            if row.last_at is not None and now.tzinfo is not None and now < row.last_at:
                now = to_utc(row.last_at)
            decision = decide(run, now)
            if decision is None:
                return run
            if isinstance(decision, Refusal):
                records = self._append(connection, head, decision.event, decision.collapse,
                                       row.last_at)
                if records:
                    self._heads.put(head._replace(last_seq=records[-1].seq,
                                                  last_hash=records[-1].hash))
                return run
            stored, head = self._change(connection, head, decision, now)
        self._heads.put(head)
        return stored

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

        For a caller that decided on a run it read earlier (:meth:`act` decides
        under the lock instead). Raises :class:`ConflictError` if someone else
        changed the run since the caller read it (nothing is written then).
        """
        change = StateChange(status, phases, state, due_at, assignments, work, events)
        known = self._heads.get(run_id, expected_version)
        with self._write() as connection:
            try:
                if known is None:
                    raise ConflictError(run_id, expected_version, -1)
                stored, head = self._change(connection, known, change, now, locked=False)
            except ConflictError:
                head = self._head(connection, run_id, lock=True)
                self._heads.put(head)
                if head.version != expected_version:
                    raise ConflictError(run_id, expected_version, head.version) from None
                self._check_time(connection, run_id, head.version, events)
                stored, head = self._change(connection, head, change, now)
        self._heads.put(head)
        return stored

    def _change(self, connection: Connection, head: Head, change: StateChange,
                now: datetime, *, locked: bool = True) -> tuple[RunRecord, Head]:
        """Write ``change`` over exactly ``head`` (state row, events, work items,
        assignments): the run as stored and its new head. :class:`ConflictError` (nothing
        written) if the row is no longer at ``head``; ``locked``: whether this transaction
        holds the run's lock already."""
        work_items = tuple(change.work)
        pairs = tuple(change.assignments)
        work_digest = (head.work_digest if head.work == work_items
                       else queries.work_digest(work_items))
        assignments_digest = (head.assignments_digest if head.assignments == pairs
                              else queries.assignments_digest(pairs))
        values: dict[str, Any] = {
            "b_run_id": head.id,
            "status": change.status,
            "phases": ",".join(change.phases),
            "state": change.state,
            "due_at": change.due_at,
            "updated_at": now,
            "work_digest": work_digest,
            "assignments_digest": assignments_digest,
        }
        records = self._set_state(connection, head, change.events, values, locked=locked)
        if records is None:
            raise ConflictError(head.id, head.version, -1)
        if work_digest != head.work_digest:
            connection.execute(queries.DELETE_WORK, {"b_run_id": head.id})
            queries.execute(connection, queries.INSERT_WORK,
                            queries.work_rows(head.id, work_items))
        if assignments_digest != head.assignments_digest:
            connection.execute(queries.DELETE_ASSIGNMENTS, {"b_run_id": head.id})
            queries.execute(connection, queries.INSERT_ASSIGNMENT,
                            queries.assignment_rows(head.id, pairs))
        stored = RunRecord(
            id=head.id,
            sop_hash=head.sop_hash,
            sop_id=head.sop_id,
            title=head.title,
            status=change.status,
            phases=list(change.phases),
            state=change.state,
            version=head.version + 1,
            due_at=change.due_at and to_utc(change.due_at),
            started_at=head.started_at,
            updated_at=to_utc(now),
        )
        return stored, head._replace(
            version=head.version + 1,
            last_seq=values["last_seq"],
            last_hash=values["last_hash"],
            work_digest=work_digest,
            assignments_digest=assignments_digest,
            work=work_items,
            assignments=pairs,
            run=stored,
            state_json=json.dumps(change.state),
        )

    @staticmethod
    def _check_time(connection: Connection, run_id: int, version: int,
                    events: Sequence[EventDraft]) -> None:
        """Under the row lock: refuse events older than the run's last event.

        Only :meth:`update_run`'s locked path needs this: its unlocked ``UPDATE``
        matches only a head whose last event the caller had read (or written)
        before taking its time, whereas here another process may have appended
        an event (a refused attempt) between the caller's clock reading and the
        lock.
        """
        if not events or events[0].at.tzinfo is None:
            return
        last = connection.execute(queries.SELECT_LAST_EVENT,
                                  {"b_run_id": run_id}).one_or_none()
        if last is not None and events[0].at < to_utc(last.at):
            raise EventTimeBehindError(run_id, version, to_utc(last.at))

    def _set_state(
        self, connection: Connection, head: Head, events: Sequence[EventDraft],
        values: dict[str, Any], *, locked: bool
    ) -> list[EventRecord] | None:
        """Write the new state over exactly ``head`` and insert its events: the chained
        events, or ``None`` (nothing written) if the row is no longer at ``head``.

        On the driver's cursor (:class:`queries.Prepared`) unless someone listens to
        statement events; on PostgreSQL, when the transaction holds the run's lock
        (``locked``: the ``UPDATE`` cannot miss), the ``UPDATE`` and the ``INSERT`` go to
        the server together (psycopg's pipeline mode: one round trip, not two)."""
        records = chain.chain(head.id, head.last_seq, head.last_hash, events)
        values["last_seq"] = records[-1].seq if records else head.last_seq
        values["last_hash"] = records[-1].hash if records else head.last_hash
        values = {
            **values,
            "b_version": head.version,
            "b_last_seq": head.last_seq,
            "b_last_hash": head.last_hash,
            "b_work_digest": head.work_digest,
            "b_assignments_digest": head.assignments_digest,
        }
        rows = queries.event_rows(records)
        if not queries.Prepared.usable(connection):
            if connection.execute(queries.UPDATE_RUN, values).rowcount != 1:
                return None
            queries.execute(connection, queries.INSERT_EVENT, rows)
            return records
        driver: Any = connection.connection.driver_connection
        if self._sqlite or not locked:
            cursor = driver.cursor()
            try:
                if self._update.execute(cursor, values) != 1:
                    return None
                for row in rows:
                    self._insert_event.execute(cursor, row)
            finally:
                cursor.close()
            return records
        updated = driver.cursor()
        inserted = [driver.cursor() for _ in rows]
        try:
            with self._update.errors(), driver.pipeline():
                self._update.execute(updated, values)
                for cursor, row in zip(inserted, rows, strict=True):
                    self._insert_event.execute(cursor, row)
            changed = updated.rowcount
        finally:
            for cursor in (updated, *inserted):
                cursor.close()
        if changed != 1:
            raise ConflictError(head.id, head.version, -1)  # the events roll back with it
        return records

    def append_event(self, run_id: int, event: EventDraft, *,
                     collapse: Callable[[JsonDict], object] | None = None) -> bool:
        """Record an event that changes no state (e.g. a refused attempt); whether it was.

        Under the row lock: its time is never before the run's last event (the
        chain's times never go backwards). With ``collapse`` see :class:`Refusal`.
        """
        _checked_id(run_id)
        self._heads.forget(run_id)
        with self._write(busy_run=run_id) as connection:
            head = self._head(connection, run_id, lock=True)
            last = connection.execute(queries.SELECT_LAST_EVENT,
                                      {"b_run_id": run_id}).one_or_none()
            records = self._append(connection, head, event, collapse,
                                   None if last is None else last.at)
        if not records:
            return False
        self._heads.put(head._replace(last_seq=records[-1].seq, last_hash=records[-1].hash))
        return True

    @staticmethod
    def _append(connection: Connection, head: Head, event: EventDraft,
                collapse: Callable[[JsonDict], object] | None,
                last_at: datetime | None) -> list[EventRecord]:
        """Under the row lock: append ``event`` (no state change) after ``head``, dated
        no earlier than ``last_at``; ``[]`` if ``collapse`` finds it repeats a refusal
        written since the run last changed (a repeated refusal is kept once per state
        of the run, whatever other refusals lie between)."""
        if collapse is not None:
            key = collapse(event.payload)
            since = connection.execute(queries.SELECT_SINCE_OTHER_ACTION, {
                "b_run_id": head.id, "b_action": event.action})
            if any(row.actor == event.actor and isinstance(row.payload, dict)
                   and collapse(row.payload) == key for row in since):
                return []
        if last_at is not None:
            last_at = to_utc(last_at)
            if event.at.tzinfo is not None and event.at < last_at:
                event = replace(event, at=last_at)
        records = chain.chain(head.id, head.last_seq, head.last_hash, [event])
        connection.execute(
            queries.ADVANCE_HEAD,
            {
                "b_run_id": head.id,
                "b_last_seq": head.last_seq,
                "last_seq": records[-1].seq,
                "last_hash": records[-1].hash,
            },
        )
        queries.execute(connection, queries.INSERT_EVENT, queries.event_rows(records))
        return records

    def events(self, run_id: int) -> list[EventRecord]:
        """A run's events in order."""
        _checked_id(run_id)
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
        """Runs matching every given filter, oldest first (overdue ones: most overdue first).

        ``person``: runs with a role bound to that person; ``overdue_at``: runs
        whose earliest due time is before that moment.
        """
        statement = select(*queries.RUN_COLUMNS).order_by(RUNS.c.id)
        if sop_id is not None:
            statement = statement.where(RUNS.c.sop_id == sop_id)
        if status is not None:
            statement = statement.where(RUNS.c.status == status)
        if person is not None:
            # IN (not EXISTS) so that the planner starts from the index on person
            statement = statement.where(
                RUNS.c.id.in_(select(ASSIGNMENTS.c.run_id).where(ASSIGNMENTS.c.person == person))
            )
        if overdue_at is not None:
            # most overdue first; ordering on the due time lets the planner walk its index
            # instead of scanning every run in id order
            statement = statement.where(
                RUNS.c.due_at.is_not(None), RUNS.c.due_at < overdue_at
            ).order_by(None).order_by(RUNS.c.due_at, RUNS.c.id)
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as connection:
            return [queries.run_record(row) for row in connection.execute(statement)]

    def inbox(self, person: str, *, limit: int | None = None) -> list[WorkItemRecord]:
        """Everything waiting on ``person``: earliest due (overdue) first, undated last."""
        statement = (
            select(
                WORK_ITEMS.c.run_id,
                RUNS.c.title.label("run_title"),
                RUNS.c.sop_id,
                WORK_ITEMS.c.person,
                WORK_ITEMS.c.kind,
                WORK_ITEMS.c.phase,
                WORK_ITEMS.c.title,
                WORK_ITEMS.c.due_at,
            )
            .join(RUNS, RUNS.c.id == WORK_ITEMS.c.run_id)
            .where(WORK_ITEMS.c.person == person)
            .order_by(WORK_ITEMS.c.due_at.asc().nulls_last(), WORK_ITEMS.c.run_id, WORK_ITEMS.c.id)
        )
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as connection:
            return [queries.work_item_record(row) for row in connection.execute(statement)]

    def projections(self, run_id: int) -> tuple[list[tuple[str, str]], list[WorkItem]]:
        """The run's stored assignment pairs and work items (``verify`` checks them)."""
        _checked_id(run_id)
        with self._read() as connection:
            self._head(connection, run_id, lock=False)
            pairs = sorted((row.role, row.person) for row in connection.execute(
                select(ASSIGNMENTS.c.role, ASSIGNMENTS.c.person).where(
                    ASSIGNMENTS.c.run_id == run_id)))
            work = [WorkItem(row.person, row.kind, row.phase, row.title,
                             row.due_at and to_utc(row.due_at))
                    for row in connection.execute(
                        select(WORK_ITEMS.c.person, WORK_ITEMS.c.kind, WORK_ITEMS.c.phase,
                               WORK_ITEMS.c.title, WORK_ITEMS.c.due_at).where(
                            WORK_ITEMS.c.run_id == run_id).order_by(WORK_ITEMS.c.id))]
        return pairs, work

    # -- the people directory ----------------------------------------------

    def add_people(self, people: Sequence[PersonRecord], *, update: bool = False) -> None:
        """Add people to the directory in one transaction; a key that is there already
        is :class:`PersonExistsError` (nothing written) unless ``update``, which replaces
        it (keeping when it was first added)."""
        from ..errors import ArgumentError

        seen: set[str] = set()
        for entry in people:
            if entry.key in seen:
                raise ArgumentError(f"'{entry.key}' is given twice; give each person once")
            seen.add(entry.key)
        now = datetime.now(UTC)
        with self._write() as connection:
            wanted = {p.key for p in people}
            there = wanted & set(connection.execute(select(PEOPLE.c.key)).scalars())
            if there and not update:
                raise PersonExistsError(min(there))
            new = [{**queries.person_row(p, now), "created_at": now} for p in people
                   if p.key not in there]
            changed = [{**queries.person_row(p, now), "b_key": p.key} for p in people
                       if p.key in there]
            queries.execute(connection, insert(PEOPLE), new)
            queries.execute(connection, update_people(), changed)

    def people(self, keys: Sequence[str] | None = None) -> list[PersonRecord]:
        """The directory (or the people with these ``keys``), by key."""
        statement = select(PEOPLE.c.key, PEOPLE.c.name, PEOPLE.c.email, PEOPLE.c.timezone,
                           PEOPLE.c.teams, PEOPLE.c.active).order_by(PEOPLE.c.key)
        if keys is not None:
            statement = statement.where(PEOPLE.c.key.in_(list(keys)))
        with self._read() as connection:
            return [queries.person_record(row) for row in connection.execute(statement)]

    def waiting_on_deactivated(self, run_ids: Sequence[int]) -> dict[int, list[str]]:
        """Run -> the deactivated people of the directory its work waits on (runs with
        none are left out)."""
        found: dict[int, list[str]] = {}
        if not run_ids:
            return found
        statement = (select(WORK_ITEMS.c.run_id, WORK_ITEMS.c.person).distinct()
                     .join(PEOPLE, PEOPLE.c.key == WORK_ITEMS.c.person)
                     .where(PEOPLE.c.active == 0)
                     .order_by(WORK_ITEMS.c.run_id, WORK_ITEMS.c.person))
        wanted = set(run_ids)
        with self._read() as connection:
            for row in connection.execute(statement):
                if row.run_id in wanted:
                    found.setdefault(row.run_id, []).append(row.person)
        return found

    # -- personal tokens (opsflow.identity decides; the store keeps the hashes) -----

    def add_token(self, token_id: str, person: str, token_hash: str) -> None:
        with self._write() as connection:
            connection.execute(insert(TOKENS).values(
                id=token_id, person=person, hash=token_hash, created_at=datetime.now(UTC),
                revoked_at=None))

    def token(self, token_id: str) -> tuple[str, str, bool] | None:
        """``(person, hash, revoked)`` of a token id, or ``None``."""
        with self._read() as connection:
            row = connection.execute(select(TOKENS.c.person, TOKENS.c.hash,
                                            TOKENS.c.revoked_at)
                                     .where(TOKENS.c.id == token_id)).one_or_none()
        return None if row is None else (row.person, row.hash, row.revoked_at is not None)

    def has_tokens(self) -> bool:
        with self._read() as connection:
            return connection.execute(select(TOKENS.c.id).limit(1)).first() is not None

    def revoke_tokens(self, *, token_id: str | None = None, person: str | None = None) -> int:
        """Revoke one token, or every token of ``person``; how many were revoked."""
        if token_id is None and person is None:
            from ..errors import ArgumentError

            raise ArgumentError("revoke_tokens needs token_id or person")
        statement = update(TOKENS).where(TOKENS.c.revoked_at.is_(None))
        if token_id is not None:
            statement = statement.where(TOKENS.c.id == token_id)
        if person is not None:
            statement = statement.where(TOKENS.c.person == person)
        with self._write() as connection:
            return int(connection.execute(statement.values(revoked_at=datetime.now(UTC)))
                       .rowcount)

    def set_password_hash(self, person: str, password_hash: str) -> None:
        """Store (or replace) the password hash of ``person``'s web account."""
        now = datetime.now(UTC)
        with self._write() as connection:
            changed = connection.execute(update(PASSWORDS).where(PASSWORDS.c.person == person)
                                         .values(hash=password_hash, updated_at=now)).rowcount
            if not changed:
                connection.execute(insert(PASSWORDS).values(person=person, hash=password_hash,
                                                            updated_at=now))

    def password_hash(self, person: str) -> str | None:
        with self._read() as connection:
            value = connection.execute(select(PASSWORDS.c.hash)
                                       .where(PASSWORDS.c.person == person)).scalar()
        return value if isinstance(value, str) else None

    def record_signin_failure(self, person: str, at: datetime) -> None:
        with self._write() as connection:
            connection.execute(insert(SIGNIN_FAILURES).values(person=person, at=at))

    def signin_failures(self, person: str, since: datetime) -> int:
        """How many sign-ins of ``person`` failed since ``since``."""
        with self._read() as connection:
            return int(connection.execute(
                select(func.count()).select_from(SIGNIN_FAILURES)
                .where(SIGNIN_FAILURES.c.person == person, SIGNIN_FAILURES.c.at >= since)
            ).scalar_one())

    def has_people(self) -> bool:
        """Whether the directory has anybody in it (then roles bind only to its people)."""
        with self._read() as connection:
            return connection.execute(select(PEOPLE.c.key).limit(1)).first() is not None

    def now(self) -> datetime:
        """The database's time: the server's clock on PostgreSQL (one clock for every
        process of a team), this machine's on SQLite."""
        if self._sqlite:
            return datetime.now(UTC)
        with self._read() as connection:
            value = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
        return to_utc(value)

    def mark(self, name: str, value: str) -> None:
        """Record once that ``name`` happened to this database (e.g. a movable clock
        wrote to it); later calls keep the first record."""
        self._insert_once(MARKS, {"name": name, "value": value, "at": datetime.now(UTC)})

    def marks(self) -> dict[str, str]:
        """What :meth:`mark` recorded: name -> value."""
        with self._read() as connection:
            return {row.name: row.value for row in connection.execute(
                select(MARKS.c.name, MARKS.c.value))}

    def heads(self) -> list[tuple[int, int, str]]:
        """Every run's ``(id, last seq, last hash)``, by id (what a checkpoint signs)."""
        statement = select(RUNS.c.id, RUNS.c.last_seq, RUNS.c.last_hash).order_by(RUNS.c.id)
        with self._read() as connection:
            return [(row.id, row.last_seq, row.last_hash) for row in
                    connection.execute(statement)]

    def verify_chain(self, run_id: int) -> list[str]:
        """Problems in a run's event log (edited, deleted, reordered rows); ``[]`` if intact."""
        _checked_id(run_id)
        with self._read() as connection:
            head = self._head(connection, run_id, lock=False)
            events = self._event_records(connection, run_id)
        return chain.verify(run_id, events, head.last_seq, head.last_hash)
