"""Leaving a parallel track for an end phase finishes the whole run (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from opsflow.run.engine import Engine
from opsflow.store import Store

SOP = """sop hire "Hire"
  owner boss
role boss "Boss"
role it "IT"
event withdraw "Candidate withdrew" by boss
phase offer "Offer"
  owner boss
  handoff to prep
parallel prep "Prep"
  track laptop
  track desk
  then go to day-one
phase laptop "Laptop"
  owner it
  handoff to join
  on withdraw go to cancelled
phase desk "Desk"
  owner boss
  handoff to join
phase day-one "Day one"
  owner boss
  end
phase cancelled "Cancelled"
  owner boss
  end
"""


def test_a_track_that_reaches_an_end_finishes_the_run(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "hire.sop"
    path.write_text(SOP)
    with Engine(Store.open(store_url)) as engine:
        run = engine.start(path, "Nina", {"boss": ["bo"], "it": ["ivan"]}, actor="bo")
        engine.handoff(run, actor="bo")
        assert sorted(engine.store.get_run(run).phases) == ["desk", "laptop"]
        engine.fire(run, "withdraw", actor="bo")
        record = engine.store.get_run(run)
        assert record.status == "done"
        assert record.phases == []
        assert record.state["outcome"] == "cancelled"
        assert engine.inbox("bo") == [] and engine.inbox("ivan") == []
        assert engine.verify(run).ok
