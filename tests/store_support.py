"""Helpers for the store tests (not a test module): a stored SOP, runs, updates.

Kept importable by name so that ``multiprocessing`` (spawn) workers in
``test_store_concurrency.py`` can use them too.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from opsflow.store import (
    ConflictError,
    EventDraft,
    RunRecord,
    SopRecord,
    Store,
    WorkItem,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SOURCE = 'sop demo "Demo"\n  owner lead\n'
SOP_HASH = hashlib.sha256(SOURCE.encode()).hexdigest()


def put_demo_sop(store: Store) -> SopRecord:
    record = SopRecord(SOP_HASH, "demo", 1, "sops/demo.sop", SOURCE, {"states": ["a", "b"]})
    store.put_sop(record, now=T0)
    return record


def new_run(
    store: Store,
    title: str = "Run",
    *,
    people: tuple[str, ...] = ("ann",),
    due_at: datetime | None = None,
    sop_id: str = "demo",
) -> RunRecord:
    """A run of the demo SOP in phase ``a`` owned by ``people[0]``, counter 0."""
    put_demo_sop(store)
    return store.create_run(
        sop_hash=SOP_HASH,
        sop_id=sop_id,
        title=title,
        status="active",
        phases=["a"],
        state={"counter": 0, "phase": "a"},
        due_at=due_at,
        assignments=[("owner", person) for person in people],
        work=[WorkItem(people[0], "owner", "a", f"{title}: phase a", due_at)],
        events=[EventDraft(people[0], "start", T0, None, "a", {"title": title})],
        now=T0,
    )


def bump(store: Store, run: RunRecord, actor: str = "ann", *, at: datetime = T0) -> RunRecord:
    """Increment the run's counter with one event, from the version in ``run``."""
    counter = int(run.state["counter"]) + 1
    return store.update_run(
        run.id,
        expected_version=run.version,
        status=run.status,
        phases=run.phases,
        state={**run.state, "counter": counter},
        due_at=run.due_at,
        assignments=[("owner", actor)],
        work=[WorkItem(actor, "owner", run.phases[0], f"{run.title}: step {counter}", run.due_at)],
        events=[EventDraft(actor, "bump", at + timedelta(seconds=counter), payload={"n": counter})],
        now=at,
    )


def bump_with_retry(store: Store, run_id: int, actor: str) -> int:
    """Read the run and bump it, retrying on conflict; returns the conflicts seen."""
    conflicts = 0
    while True:
        try:
            bump(store, store.get_run(run_id), actor)
            return conflicts
        except ConflictError:
            conflicts += 1
