"""No lost update: threads and processes acting on the same runs, on SQLite and PostgreSQL.

Also: a process killed (SIGKILL) in the middle of a transaction leaves the
database consistent, and several processes opening a fresh database at once
upgrade it exactly once.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from store_support import (
    bump_with_retry,
    die_in_transaction,
    hammer,
    kill_when_ready,
    new_run,
    open_fresh,
    race,
    run_sql,
)

from opsflow.store import Store, migrate

SPAWN = multiprocessing.get_context("spawn")


def _assert_log_matches_state(store: Store, run_id: int, bumps: int, appends: int) -> None:
    """The run's state is the replay of its log; no event is missing."""
    run = store.get_run(run_id)
    events = store.events(run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 1 + bumps + appends
    assert (
        Counter(e.action for e in events)
        == Counter({"start": 1, "bump": bumps, "refused": appends}) - Counter()
    )
    replayed = [e.payload["n"] for e in events if e.action == "bump"]
    assert replayed == list(range(1, bumps + 1))
    assert run.state["counter"] == bumps
    assert run.version == 1 + bumps
    assert store.verify_chain(run_id) == []


def test_threads_sharing_one_store_lose_no_update(store: Store) -> None:
    run = new_run(store)
    with ThreadPoolExecutor(max_workers=6) as pool:
        conflicts = list(pool.map(lambda i: bump_with_retry(store, run.id, f"t{i % 6}"), range(30)))
    _assert_log_matches_state(store, run.id, bumps=30, appends=0)
    assert all(c >= 0 for c in conflicts)


def test_two_processes_updating_from_the_same_version_exactly_one_wins(
    store: Store, store_url: str
) -> None:
    run = new_run(store)
    barrier = SPAWN.Barrier(2)
    results = SPAWN.Queue()
    racers = [
        SPAWN.Process(target=race, args=(store_url, run.id, actor, barrier, results))
        for actor in ("ann", "bob")
    ]
    for racer in racers:
        racer.start()
    outcome = dict(results.get(timeout=120) for _ in racers)
    for racer in racers:
        racer.join(timeout=60)
    assert sorted(outcome.values()) == ["conflict", "won"]
    winner = next(actor for actor, result in outcome.items() if result == "won")
    assert store.events(run.id)[-1].actor == winner
    _assert_log_matches_state(store, run.id, bumps=1, appends=0)


@pytest.mark.slow
def test_processes_hammering_the_same_runs_lose_nothing(store: Store, store_url: str) -> None:
    runs = [new_run(store, f"run {i}").id for i in range(3)]
    workers, rounds = 4, 30
    with SPAWN.Pool(workers) as pool:
        reports = pool.starmap(hammer, [(store_url, runs, seed, rounds) for seed in range(workers)])
    for run_id in runs:
        bumps = sum(report["bumps"][run_id] for report in reports)
        appends = sum(report["appends"][run_id] for report in reports)
        _assert_log_matches_state(store, run_id, bumps, appends)
    assert sum(sum(r["bumps"].values()) + sum(r["appends"].values()) for r in reports) == (
        workers * rounds
    )


def test_a_process_killed_mid_transaction_leaves_the_database_consistent(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    run = new_run(store)
    ready = tmp_path / "ready"
    victim = SPAWN.Process(target=die_in_transaction, args=(store_url, run.id, str(ready), 2000))
    kill_when_ready(victim, ready)

    assert store.get_run(run.id) == run
    _assert_log_matches_state(store, run.id, bumps=0, appends=0)
    assert [item.person for item in store.inbox("ann")] == ["ann"]
    assert store.inbox("killed") == []
    # the dead transaction left no lock behind: the next writer goes through at once
    bump_with_retry(store, run.id, "ann")
    _assert_log_matches_state(store, run.id, bumps=1, appends=0)
    assert run_sql(store_url, f"SELECT count(*) FROM events WHERE run_id = {run.id}") == [[(2,)]]


def test_processes_opening_a_fresh_database_together_upgrade_it_once(blank_url: str) -> None:
    with SPAWN.Pool(3) as pool:
        revisions = pool.map(open_fresh, [blank_url] * 3)
    assert revisions == [migrate.HEAD] * 3
    assert run_sql(blank_url, "SELECT version_num FROM alembic_version") == [[(migrate.HEAD,)]]
