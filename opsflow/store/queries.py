"""The statements the store runs and the rows it writes.

Statements are built once, at import: SQLAlchemy then reuses their compiled
form on every call, which matters on the update path (see
``bench/bench_store.py``). The helpers turn records into row dictionaries and
rows back into records, and fingerprint a run's work items and assignments.
No transactions and no decisions here: :mod:`opsflow.store.store` has those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from . import chain
from .coltypes import iso_utc
from .records import EventRecord, NewRun, RunRecord, WorkItem
from .schema import Base

AnyRow = Row[*tuple[Any, ...]]

# the mapped tables themselves: statements on them compile as plain Core (no ORM
# compile step, no mapper configuration on the first query)
SOPS = Base.metadata.tables["sops"]
RUNS = Base.metadata.tables["runs"]
EVENTS = Base.metadata.tables["events"]
WORK_ITEMS = Base.metadata.tables["work_items"]
ASSIGNMENTS = Base.metadata.tables["assignments"]

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
DELETE_WORK = delete(WORK_ITEMS).where(WORK_ITEMS.c.run_id == bindparam("b_run_id"))
INSERT_WORK = insert(WORK_ITEMS)
DELETE_ASSIGNMENTS = delete(ASSIGNMENTS).where(ASSIGNMENTS.c.run_id == bindparam("b_run_id"))
INSERT_ASSIGNMENT = insert(ASSIGNMENTS)
SELECT_SOP = select(
    SOPS.c.hash, SOPS.c.sop_id, SOPS.c.version, SOPS.c.path, SOPS.c.source, SOPS.c.compiled
).where(SOPS.c.hash == bindparam("b_hash"))
SELECT_EVENTS = (
    select(*EVENT_COLUMNS).where(EVENTS.c.run_id == bindparam("b_run_id")).order_by(EVENTS.c.seq)
)


def run_record(row: AnyRow) -> RunRecord:
    """The run in a row with (at least) the :data:`RUN_COLUMNS`."""
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
