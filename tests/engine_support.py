"""Helpers for the engine tests (not a test module): SOPs, people, a pure runner.

Importable by name so ``multiprocessing`` (spawn) workers of the concurrency
tests can use it too.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import opsflow
from opsflow.run.compiled import CompiledSop
from opsflow.run.compiler import compile_sop
from opsflow.run.core import Action, Change, apply
from opsflow.run.state import RunState

ROOT = Path(__file__).resolve().parent.parent
SOPS = ROOT / "sops"
#: a Friday morning
T0 = dt.datetime(2025, 1, 3, 9, 0, tzinfo=dt.UTC)

CONTENT_PEOPLE = {
    "writer": ["wendy"], "editor": ["ed"], "account": ["ann"], "client": ["cli", "wendy"],
    "seo": ["sam"], "finance": ["fin"],
}
ONBOARDING_PEOPLE = {
    "people-ops": ["pat"], "manager": ["max"], "it": ["ivan"], "buddy": ["bud"],
    "new-hire": ["nina"], "finance": ["fin"],
}


def compiled(name: str) -> CompiledSop:
    """The compiled example SOP ``sops/NAME.sop``, as it comes back from stored JSON."""
    data = json.loads(json.dumps(compile_sop(opsflow.load(SOPS / f"{name}.sop")).to_json()))
    return CompiledSop.from_json(data)


def compiled_text(text: str, tmp: Path, name: str = "t") -> CompiledSop:
    path = tmp / f"{name}.sop"
    path.write_text(text, "utf-8")
    data = json.loads(json.dumps(compile_sop(opsflow.load(path)).to_json()))
    return CompiledSop.from_json(data)


class Runner:
    """Drives one run through :func:`opsflow.run.core.apply`, keeping its event log."""

    def __init__(self, compiled_sop: CompiledSop, now: dt.datetime = T0) -> None:
        self.c = compiled_sop
        self.now = now
        self.state: RunState | None = None
        self.log: list[tuple[str, dt.datetime, Change]] = []

    def do(self, kind: str, actor: str, **args: Any) -> list[Change]:
        state, changes = apply(self.c, self.state, Action(kind, args), actor, self.now)
        self.state = state
        self.log += [(actor, self.now, change) for change in changes]
        return changes

    def start(self, people: dict[str, list[str]], actor: str = "ann", **fields: str) -> None:
        self.do("start", actor, title="A run", assignments=people, fields=fields)

    @property
    def s(self) -> RunState:
        assert self.state is not None
        return self.state

    def later(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def tick_all(self, actor: str, phase: str | None = None) -> None:
        pid = phase or self.s.phases[0]
        for number in range(1, len(self.c.phases[pid].checklist) + 1):
            self.do("tick", actor, criterion=number, phase=pid)


def refused(run: Runner, kind: str, actor: str, **args: object) -> str:
    """The message ``kind`` by ``actor`` is refused with; the state must not change."""
    import pytest

    from opsflow.run.errors import RunError

    before = run.s.to_dict()
    with pytest.raises(RunError) as info:
        run.do(kind, actor, **args)
    assert run.s.to_dict() == before  # nothing changed
    return str(info.value)


def assert_replays(run: Runner) -> None:
    """Replaying the run's log gives its state, with no problem found."""
    from opsflow.run.core import replay

    state, problems = replay(run.c, run.log)
    assert problems == []
    assert state is not None and state.to_dict() == run.s.to_dict()


# ---- workers for the multi-process tests (spawn) -------------------------------------

HAMMER_SOP = """\
sop hammer "Hammer"
  owner lead
role lead "Lead"
role crew "Crew"
role board "Board"
field n "A number" number
phase work "Work"
  owner crew
  done when
    - Parts are cut
    - Parts are sanded
    - Parts are painted
  handoff to review
phase review "Review"
  owner lead
  approval by board
    quorum all
  on approve go to finished
  on reject go to work
phase finished "Finished"
  owner lead
  end
"""
HAMMER_PEOPLE = {"lead": ["lee"], "crew": ["c1", "c2", "c3"], "board": ["b1", "b2", "b3"]}


def hammer_engine(url: str, run_ids: list[int], seed: int, rounds: int,
                  start_at: float = 0.0) -> dict[str, int]:
    """Random actions by many people on the same runs; counts what each outcome wrote.

    Every worker waits until ``start_at`` (a ``time.time()``) so that they collide.

    ``events``: events written by successful actions; ``refused``: refused
    attempts (one event each); ``conflicts``: actions that reached the caller as a
    conflict (issue 21: there must be none); ``began``/``ended``: when the worker's
    actions began and ended (``time.time()``), to show that the workers overlapped.
    """
    import random
    import time

    from opsflow.run.engine import Engine
    from opsflow.run.errors import RunError
    from opsflow.store import ConflictError, Store

    rng = random.Random(seed)
    counts = {"events": 0, "refused": 0, "conflicts": 0}
    with Engine(Store.open(url)) as engine:
        engine.store.get_run(run_ids[0])  # connected and warm before the start signal
        time.sleep(max(0.0, start_at - time.time()))
        began = time.time()
        for _ in range(rounds):
            run_id = rng.choice(run_ids)
            crew, board = rng.choice(HAMMER_PEOPLE["crew"]), rng.choice(HAMMER_PEOPLE["board"])
            roll = rng.random()
            try:
                if roll < 0.35:
                    result = engine.tick(run_id, rng.randint(1, 3), actor=crew)
                elif roll < 0.5:
                    result = engine.untick(run_id, rng.randint(1, 3), actor=crew)
                elif roll < 0.65:
                    result = engine.handoff(run_id, actor=crew)
                elif roll < 0.85:
                    decision = "approve" if rng.random() < 0.3 else "reject"
                    result = engine.vote(run_id, decision, actor=board, comment="checked")
                elif roll < 0.95:
                    result = engine.set_field(run_id, "n", str(rng.randint(0, 99)), actor="lee")
                else:
                    result = engine.handoff(run_id, actor="outsider")
                counts["events"] += len(result.changes)
            except ConflictError:
                counts["conflicts"] += 1
            except RunError:
                counts["refused"] += 1
    return {**counts, "began": began, "ended": time.time()}


def die_mid_handoff(url: str, run_id: int, ready: str) -> None:
    """Hand off run ``run_id`` but hang (until killed) after its events are inserted."""
    import time

    from sqlalchemy import event
    from sqlalchemy.engine import Engine as SqlEngine

    from opsflow.run.engine import Engine
    from opsflow.store import Store

    def stall(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO events"):
            Path(ready).write_text("in the middle of the handoff", "utf-8")
            time.sleep(600)

    event.listen(SqlEngine, "after_cursor_execute", stall)
    with Engine(Store.open(url)) as engine:
        engine.handoff(run_id, actor="wendy")
