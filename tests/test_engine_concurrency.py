"""Several processes act on the same runs at once (SQLite file and PostgreSQL).

Afterwards every run's event chain verifies, its stored state equals the
replay of its events, and the number of events equals exactly what the
workers saw succeed (actions) or be refused (one event each): no update was
lost, nothing was written twice, and no action reached its caller as a
conflict (each is decided under its run's lock).
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from pathlib import Path

import pytest
from engine_support import HAMMER_PEOPLE, HAMMER_SOP, hammer_engine

from opsflow.run.engine import Engine
from opsflow.store import Store

SPAWN = multiprocessing.get_context("spawn")
WORKERS = 8
ROUNDS = 250  # 2,000 mixed actions on one run (issue 21, item 4)


@pytest.mark.slow
def test_processes_hammering_the_same_runs_lose_nothing(store_url: str, tmp_path: Path) -> None:
    sop = tmp_path / "hammer.sop"
    sop.write_text(HAMMER_SOP, "utf-8")
    with Engine(Store.open(store_url)) as engine:
        run_ids = [engine.start(sop, "Run", HAMMER_PEOPLE, actor="lee")]
        start_events = sum(len(engine.history(r)) for r in run_ids)
    with SPAWN.Pool(WORKERS) as pool:
        start_at = time.time() + 3  # after every worker has started and connected
        results = pool.starmap(hammer_engine, [(store_url, run_ids, seed, ROUNDS, start_at)
                                               for seed in range(WORKERS)])
    total = {key: sum(r[key] for r in results) for key in ("events", "refused", "conflicts")}
    with Engine(Store.open(store_url)) as engine:
        history = [e for r in run_ids for e in engine.history(r)]
        refusals = sum(1 for e in history if e.action == "refused")
        # every accepted change is stored; a refusal is stored unless it repeats the last event
        assert len(history) - refusals == start_events + total["events"], total
        assert 0 < refusals <= total["refused"], total
        for run_id in run_ids:
            report = engine.verify(run_id)
            assert report.problems == [], report
            events = engine.history(run_id)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            # times never go backwards along the chain: each is taken under the run's lock
            backwards = [(a.seq, a.action, a.at, b.seq, b.action, b.at)
                         for a, b in itertools.pairwise(events) if b.at < a.at]
            assert backwards == []
    assert total["events"] > 0 and total["refused"] > 0
    assert total["conflicts"] == 0, total
    # the workers acted at the same time (every one began before any ended)
    assert max(r["began"] for r in results) < min(r["ended"] for r in results)
