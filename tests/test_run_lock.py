"""Issue 21, item 2: an action holds its run's lock while it is decided and written.

On SQLite and PostgreSQL: an action that finds the run held waits for it and is
then judged on what the holder left; one that waits past the store's lock wait
is told the run is busy, with nothing written; the time of an event is read
once the lock is granted.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy
from engine_support import CONTENT_PEOPLE, SOPS, T0
from sqlalchemy.engine import make_url

from opsflow.run.clock import FixedClock
from opsflow.run.engine import Engine
from opsflow.store import DatabaseUnavailableError, RunBusyError, Store


@contextmanager
def hold_run(url: str, run_id: int) -> Iterator[None]:
    """Hold run ``run_id``'s lock from another connection, as an action of another
    process would (SQLite: the write lock of the whole file)."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            locked = connection.execute(sqlalchemy.text(
                "SELECT id FROM runs WHERE id = :id FOR UPDATE"), {"id": run_id}).all()
            assert locked == [(run_id,)]
            yield
    finally:
        engine.dispose()


def start(engine: Engine) -> int:
    return engine.start(SOPS / "content-publishing.sop", "ACME", CONTENT_PEOPLE,
                        {"budget": "100"}, actor="ann")


def test_a_run_held_past_the_lock_wait_is_busy_and_nothing_is_written(store_url: str) -> None:
    with Engine(Store.open(store_url, lock_wait=0.3), FixedClock(T0)) as engine:
        run_id = start(engine)
        before = engine.history(run_id)
        with hold_run(store_url, run_id):
            with pytest.raises(RunBusyError) as caught:
                engine.tick(run_id, 1, actor="wendy")
            with pytest.raises(RunBusyError):  # a refusal is not recorded either
                engine.tick(run_id, 1, actor="mallory")
            assert engine.status(run_id).phases[0].open_items  # readers are not blocked
        assert str(caught.value) == (
            f"run {run_id} is busy: another action on it held it for more than 0.3 s; "
            "nothing was done, try again")
        assert engine.history(run_id) == before
        assert engine.tick(run_id, 1, actor="wendy").changes  # once released it acts
        assert engine.verify(run_id).problems == []


class HoldingClock(FixedClock):
    """A clock whose first reading (taken under the run's lock) starts ``other`` in a
    thread and gives it time to reach the lock, then reads the real time."""

    trusted = True  # the times it gives are this machine's

    def __init__(self, other: Callable[[], None]) -> None:
        super().__init__(T0)
        self.other = threading.Thread(target=other)

    def now(self) -> dt.datetime:
        if not self.other.is_alive() and self.other.ident is None:
            self.other.start()
            self.other.join(0.3)
        return dt.datetime.now(dt.UTC)


def test_an_action_that_waits_is_judged_on_what_the_holder_left(store_url: str) -> None:
    """wendy's handoff, sent while her last tick holds the run, waits for the tick and
    succeeds on the run it left (decided before it, it would have been refused: an
    item was open), and is dated after it: its time is read once the lock is granted
    (the database's clock, read in the locking statement)."""
    with Engine(Store.open(store_url)) as setup:
        run_id = start(setup)
        setup.tick(run_id, 1, actor="wendy")
    results: list[object] = []

    def handoff() -> None:
        with Engine(Store.open(store_url)) as other:
            try:
                results.append(other.handoff(run_id, actor="wendy"))
            except Exception as error:
                results.append(error)

    clock = HoldingClock(handoff)
    with Engine(Store.open(store_url), clock) as mine:
        mine.tick(run_id, 2, actor="wendy")
        clock.other.join(30)
        assert len(results) == 1 and not isinstance(results[0], Exception), results
        events = mine.history(run_id)
        assert [e.action for e in events[-2:]] == ["tick", "handoff"]
        tick, handed = events[-2:]
        assert handed.at > tick.at
        assert mine.store.get_run(run_id).phases == ["draft"]
        assert mine.verify(run_id).problems == []


def test_the_cli_says_a_held_run_is_busy(store_url: str, tmp_path: Path) -> None:
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        run_id = start(engine)
    env = {"OPSFLOW_DATABASE_URL": store_url, "OPSFLOW_LOCK_WAIT": "0.3",
           "PATH": "/usr/bin:/bin"}
    with hold_run(store_url, run_id):
        done = subprocess.run([sys.executable, "-m", "opsflow", "tick", str(run_id), "1",
                               "--as", "wendy"], capture_output=True, text=True, env=env,
                              cwd=tmp_path, check=False)
    assert done.returncode == 1, done
    assert done.stderr == (f"error: run {run_id} is busy: another action on it held it for "
                           "more than 0.3 s; nothing was done, try again\n")


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "99999"])
def test_a_lock_wait_that_is_no_duration_is_refused(value: str,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("OPSFLOW_LOCK_WAIT", value)
    with pytest.raises(DatabaseUnavailableError) as caught:
        Store.open(f"sqlite:///{tmp_path / 'o.db'}")
    assert str(caught.value) == (
        f"OPSFLOW_LOCK_WAIT={value} is not a number of seconds between 0 and 3600; give e.g. "
        "OPSFLOW_LOCK_WAIT=10")
