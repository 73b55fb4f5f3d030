"""Event times come from one trusted clock (issue 20, item 6).

On main of 2026-12-07 times came from the caller's clock: an engine opened
with a clock set in the future closed an `open at least 1 hour` window at
once and `verify` passed. Now an engine's default clock is the database's
(the PostgreSQL server's own; the system's on SQLite), and an engine with a
clock tests move marks the database on its first write, so `verify` says its
times are not evidence.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy
from click.testing import CliRunner
from engine_support import CONTENT_PEOPLE, SOPS, T0

from opsflow.cli import cli
from opsflow.run.clock import FixedClock, StoreClock
from opsflow.run.engine import Engine
from opsflow.store import Store

SOP = SOPS / "content-publishing.sop"


def test_the_default_clock_is_the_database_s(store_url: str) -> None:
    with Engine(Store.open(store_url)) as engine:
        assert isinstance(engine.clock, StoreClock)
        if store_url.startswith("postgresql"):
            server = sqlalchemy.create_engine(store_url)
            with server.connect() as connection:
                before = connection.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
                ours = engine.clock.now()
                after = connection.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
            server.dispose()
            assert before <= ours <= after  # the server's clock, read through the store
        run_id = engine.start(SOP, "A run", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")
        report = engine.verify(run_id)
        assert report.problems == [] and report.notes == ()
        assert engine.store.marks() == {}


def test_a_movable_clock_marks_the_database(store_url: str) -> None:
    future = FixedClock(T0 + dt.timedelta(days=3650))
    with Engine(Store.open(store_url), future) as engine:
        run_id = engine.start(SOP, "A run", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")
    with Engine(Store.open(store_url)) as honest:
        report = honest.verify(run_id)
        assert report.problems == []
        assert report.notes == ("a clock that tests move (FixedClock) wrote to this database: "
                                "its event times are not evidence",)
        assert honest.store.marks() == {"movable-clock": "FixedClock"}


def test_the_cli_prints_the_note(tmp_path: object) -> None:
    from pathlib import Path

    url = f"sqlite:///{Path(str(tmp_path)) / 'opsflow.db'}"
    with Engine(Store.open(url, upgrade=True), FixedClock(T0)) as engine:
        run_id = engine.start(SOP, "A run", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")
    result = CliRunner().invoke(cli, ["verify", str(run_id), "--db", url])
    assert result.exit_code == 0
    assert ("note: a clock that tests move (FixedClock) wrote to this database: its event "
            "times are not evidence") in result.output
