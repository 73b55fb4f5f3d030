"""A database made by opsflow's main of 2026-11-22 keeps working (issue 7, item 2).

``tests/data/main-2026-11-22.db`` was written by that version's CLI
(``tests/data/make-main-2026-11-22-db.sh``): a finished content-publishing
run, a purchase request in its finance vote, an onboarding run inside its
parallel block, and a cancelled incident. Its compiled SOPs are format 1 and
its states have no ``held``/``decided``. Today's engine reads, verifies and
acts on them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opsflow.run.clock import FixedClock
from opsflow.run.engine import Engine
from opsflow.store import Store

OLD = Path(__file__).parent / "data" / "main-2026-11-22.db"


@pytest.fixture
def old(tmp_path: Path) -> Engine:
    copy = tmp_path / "old.db"
    shutil.copyfile(OLD, copy)
    import datetime as dt

    return Engine(Store.open(f"sqlite:///{copy}"),
                  FixedClock(dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)))


def test_every_old_run_reads_and_verifies(old: Engine) -> None:
    with old:
        assert [r.status for r in old.list_runs()] == ["done", "active", "active", "cancelled"]
        for run in old.list_runs():
            assert old.verify(run.id).problems == [], run.id
            assert old.status(run.id).run_id == run.id
            assert all(type(e).__name__ != "Unreadable" for e in old.timeline(run.id))
        assert old.compiled(old.store.get_run(2).sop_hash).format == 2  # read, upgraded


def test_old_runs_go_on_under_today_s_rules(old: Engine) -> None:
    with old:
        # run 2 waits for its second finance approval (fay approved; quorum 2)
        assert old.store.get_run(2).phases == ["finance-approval"]
        old.tick(2, 1, actor="fred")
        old.tick(2, 2, actor="fred")
        old.vote(2, "approve", actor="fred", comment="ok")
        assert old.store.get_run(2).phases == ["ordering"]
        # run 3 is in its parallel block
        old.tick(3, 2, actor="ivan", phase="it-setup")
        assert old.verify(2).ok and old.verify(3).ok
