"""A process killed in the middle of an action leaves the run as it was (both databases)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from engine_support import CONTENT_PEOPLE, SOPS, die_mid_handoff
from store_support import kill_when_ready

from opsflow.run.engine import Engine
from opsflow.store import Store

SPAWN = multiprocessing.get_context("spawn")


@pytest.mark.slow
def test_killed_mid_handoff_leaves_nothing_half_written(store_url: str, tmp_path: Path) -> None:
    with Engine(Store.open(store_url)) as engine:
        run_id = engine.start(SOPS / "content-publishing.sop", "Crash", CONTENT_PEOPLE,
                              actor="ann")
        for number in (1, 2):
            engine.tick(run_id, number, actor="wendy")
        before = engine.store.get_run(run_id)
        events_before = len(engine.history(run_id))
    ready = tmp_path / "ready"
    victim = SPAWN.Process(target=die_mid_handoff, args=(store_url, run_id, str(ready)))
    kill_when_ready(victim, ready)

    with Engine(Store.open(store_url)) as engine:
        assert engine.store.get_run(run_id) == before
        assert len(engine.history(run_id)) == events_before
        assert engine.verify(run_id).problems == []
        assert [i.item.phase for i in engine.inbox("wendy")] == ["brief"]
        # the run carries on: the dead transaction left no lock behind
        assert engine.handoff(run_id, actor="wendy").run.phases == ["draft"]
        assert engine.verify(run_id).problems == []
