"""The board of one SOP: a column per phase in flow order, a swim lane per owner role,
a card per active run in each phase it is in.

The view an operations lead checks every morning: where every run stands, how
long it has been there and which are overdue. Columns follow the flow from the
start (:func:`flow_order`); phases no route reaches come last, as written.
Runs pinned to older versions of the SOP bring their phases along: a phase the
newest version no longer has gets its own column after the others.

Only the runs given are on it (the web app gives those the person holds a role
in); reading the board changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..store.records import RunRecord
from .compiled import CompiledSop
from .state import RunState

__all__ = ["Board", "Card", "Column", "board", "flow_order"]


@dataclass(frozen=True)
class Column:
    phase: str
    title: str
    #: the phase's owner role: the swim lane its cards are in
    lane: str


@dataclass(frozen=True)
class Card:
    run_id: int
    title: str
    phase: str
    entered_at: dt.datetime | None
    due_at: dt.datetime | None
    overdue: bool


@dataclass(frozen=True)
class Board:
    sop_id: str
    title: str
    columns: tuple[Column, ...]
    #: the owner roles, in the order their first phase comes
    lanes: tuple[str, ...]
    #: role id -> its title
    lane_titles: dict[str, str]
    cards: tuple[Card, ...]

    def in_cell(self, lane: str, phase: str) -> list[Card]:
        """The cards of ``phase`` when ``lane`` is its owner's (overdue first, then the
        longest waiting)."""
        column = next((c for c in self.columns if c.phase == phase), None)
        if column is None or column.lane != lane:
            return []
        return [c for c in self.cards if c.phase == phase]

    def count(self, phase: str) -> int:
        return sum(1 for c in self.cards if c.phase == phase)


def flow_order(compiled: CompiledSop) -> list[str]:
    """The phases in the order a run meets them: a depth-first order from the start in
    which every phase comes after the phases that lead to it (loops back aside), the
    first route written leading; a parallel block's tracks in turn, then what follows
    it. Phases no route reaches come last, as written."""

    def children(node: str) -> list[str]:
        if node in compiled.parallels:
            block = compiled.parallels[node]
            return [*block.tracks, *([block.then] if block.then else [])]
        phase = compiled.phases.get(node)
        return [r.dest for r in phase.routes] if phase is not None else []

    finished: list[str] = []
    visited = {compiled.start}
    stack = [(compiled.start, iter(reversed(children(compiled.start))))]
    while stack:  # reverse post-order, without recursion (an SOP may be long)
        node, pending = stack[-1]
        nxt = next((c for c in pending if c not in visited), None)
        if nxt is None:
            stack.pop()
            finished.append(node)
            continue
        visited.add(nxt)
        stack.append((nxt, iter(reversed(children(nxt)))))
    reached = [n for n in reversed(finished) if n in compiled.phases]
    return reached + [p for p in compiled.phases if p not in visited]


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def board(versions: Sequence[CompiledSop], runs: Iterable[RunRecord], now: dt.datetime
          ) -> Board:
    """The board for active ``runs`` of one SOP; ``versions``: the SOP's compiled
    versions, newest first (at least one)."""
    columns: list[Column] = []
    titles: dict[str, str] = {}
    for compiled in versions:
        for pid in flow_order(compiled):
            if all(c.phase != pid for c in columns):
                phase = compiled.phases[pid]
                columns.append(Column(pid, phase.title, phase.owner))
        for role, title in compiled.roles.items():
            titles.setdefault(role, title)
    cards = []
    for run in runs:
        if run.status != "active":
            continue
        for token in RunState.from_dict(run.state).tokens:
            due = _time(token.due_at)
            cards.append(Card(run.id, run.title, token.phase, _time(token.entered_at), due,
                              due is not None and due < now))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    cards.sort(key=lambda c: (not c.overdue, c.entered_at or far, c.run_id))
    lanes = tuple(dict.fromkeys(c.lane for c in columns))
    newest = versions[0].sop
    return Board(newest.id, newest.title, tuple(columns), lanes,
                 {lane: titles.get(lane, lane) for lane in lanes}, tuple(cards))
