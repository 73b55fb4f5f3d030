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
from opsflow.compiler import compile_sop
from opsflow.runcore import Action, Change, apply
from opsflow.runstate import RunState

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


def compiled(name: str) -> dict[str, Any]:
    """The compiled example SOP ``sops/NAME.sop``, as it comes back from JSON."""
    return json.loads(json.dumps(compile_sop(opsflow.load(SOPS / f"{name}.sop"))))


def compiled_text(text: str, tmp: Path, name: str = "t") -> dict[str, Any]:
    path = tmp / f"{name}.sop"
    path.write_text(text, "utf-8")
    return json.loads(json.dumps(compile_sop(opsflow.load(path))))


class Runner:
    """Drives one run through :func:`opsflow.runcore.apply`, keeping its event log."""

    def __init__(self, compiled_sop: dict[str, Any], now: dt.datetime = T0) -> None:
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
        for number in range(1, len(self.c["phases"][pid]["checklist"]) + 1):
            self.do("tick", actor, criterion=number, phase=pid)
