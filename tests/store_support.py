"""Helpers for the store tests (not a test module): a stored SOP, runs, updates.

Kept importable by name so that ``multiprocessing`` (spawn) workers in
``test_store_concurrency.py`` can use them too.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsflow.store import (
    ConflictError,
    EventDraft,
    RunRecord,
    SopRecord,
    Store,
    WorkItem,
    database,
)

PG_URL = os.environ.get("OPSFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SOURCE = 'sop demo "Demo"\n  owner lead\n'
SOP_HASH = hashlib.sha256(SOURCE.encode()).hexdigest()


def put_demo_sop(store: Store) -> SopRecord:
    record = SopRecord(SOP_HASH, "demo", "1", "sops/demo.sop", SOURCE, {"states": ["a", "b"]})
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


def rewrite(
    store: Store,
    run: RunRecord,
    assignments: list[tuple[str, str]],
    work: list[WorkItem],
    events: list[EventDraft] | None = None,
) -> RunRecord:
    """Replace the run's assignments and work items (state unchanged), with ``events``."""
    return store.update_run(
        run.id,
        expected_version=run.version,
        status=run.status,
        phases=run.phases,
        state=run.state,
        due_at=None,
        assignments=assignments,
        work=work,
        events=events or [],
        now=T0,
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


def run_sql(url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    """Run raw SQL on the database behind ``url`` (one transaction); rows of each."""
    engine = database.create_engine(url)
    try:
        rows: list[list[tuple[object, ...]]] = []
        with engine.begin() as connection:
            for sql in statements:
                result = connection.exec_driver_sql(sql)
                rows.append([tuple(row) for row in result] if result.returns_rows else [])
        return rows
    finally:
        engine.dispose()


# -- workers for multiprocessing (spawn) tests ------------------------------


def hammer(url: str, run_ids: list[int], seed: int, rounds: int) -> dict[str, Any]:
    """Bump (with retry) or append to random runs; returns what succeeded per run."""
    rng = random.Random(seed)
    actor = f"worker{seed}"
    bumps = dict.fromkeys(run_ids, 0)
    appends = dict.fromkeys(run_ids, 0)
    conflicts = 0
    with Store.open(url) as store:
        for round_no in range(rounds):
            run_id = rng.choice(run_ids)
            if rng.random() < 0.7:
                conflicts += bump_with_retry(store, run_id, actor)
                bumps[run_id] += 1
            else:
                store.append_event(
                    run_id, EventDraft(actor, "refused", T0, payload={"round": round_no})
                )
                appends[run_id] += 1
    return {"bumps": bumps, "appends": appends, "conflicts": conflicts}


def race(url: str, run_id: int, actor: str, barrier: Any, results: Any) -> None:
    """Read the run, wait for the other racers, then update from the version read."""
    with Store.open(url) as store:
        run = store.get_run(run_id)
        barrier.wait()
        try:
            bump(store, run, actor)
            results.put((actor, "won"))
        except ConflictError:
            results.put((actor, "conflict"))


def open_fresh(url: str) -> str | None:
    """Open (and so upgrade) a database; returns its revision."""
    from opsflow.store import admin

    Store.open(url, upgrade=True).close()
    return admin.schema_state(url).after


def die_in_transaction(url: str, run_id: int, ready: str, events: int) -> None:
    """Start a long update, signal ``ready`` mid-transaction and hang until killed."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def stall(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO events"):
            Path(ready).write_text("in transaction")
            time.sleep(600)

    event.listen(Engine, "after_cursor_execute", stall)
    with Store.open(url) as store:
        run = store.get_run(run_id)
        store.update_run(
            run_id,
            expected_version=run.version,
            status="done",
            phases=[],
            state={"counter": 10_000},
            due_at=None,
            assignments=[("owner", "killed")],
            work=[],
            events=[EventDraft("killed", "bump", T0, payload={"i": i}) for i in range(events)],
            now=T0,
        )


def kill_when_ready(victim: Any, ready: Path) -> None:
    """Start ``victim`` (a process), wait until it creates ``ready``, then SIGKILL it."""
    import signal

    victim.start()
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert victim.is_alive() and time.monotonic() < deadline, "the victim never got going"
        time.sleep(0.02)
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(timeout=60)
    assert victim.exitcode == -signal.SIGKILL
