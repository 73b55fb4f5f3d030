"""The reading order of an SOP: phases in the order the work flows.

A depth-first walk from the start, following a phase's routes with the
forward ones first (handoff, approve, named events, then reject), so the
main path reads top to bottom and loops back come later. Phases inside a
parallel block are grouped under it, track by track. Phases no route
reaches (the checker reports them) come last, in the order written.

This module only orders ids; it does not build text (see
:mod:`opsflow.render.viewmodel`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..lang import model as m

__all__ = ["Layout", "layout"]

_PRIORITY = {"handoff": 0, "approve": 1, "reject": 3}


@dataclass(frozen=True)
class Layout:
    """``top``: phase and parallel-block ids outside any track, in reading order;
    ``tracks``: for each block id, the phase ids of each of its tracks."""

    top: tuple[str, ...]
    tracks: dict[str, tuple[tuple[str, ...], ...]]


def _successors(sop: m.Sop) -> Callable[[str], list[str]]:
    phases = {p.id: p for p in sop.phases}
    blocks = {b.id: b for b in sop.parallels}

    def successors(node: str) -> list[str]:
        if node in phases:
            routes = sorted(phases[node].routes, key=lambda r: _PRIORITY.get(r.event.name, 2))
            return [r.target.name for r in routes]
        block = blocks.get(node)
        if block is None:
            return []
        return [t.name for t in block.tracks] + ([block.then.name] if block.then else [])

    return successors


def _walk(starts: Iterable[str], successors: Callable[[str], list[str]],
          allowed: Callable[[str], bool], seen: set[str]) -> list[str]:
    """Depth-first preorder from each start in turn (iterative, no recursion limit)."""
    order: list[str] = []
    for start in starts:
        stack = [start]
        while stack:
            node = stack.pop()
            if node in seen or not allowed(node):
                continue
            seen.add(node)
            order.append(node)
            stack.extend(reversed(successors(node)))
    return order


def layout(sop: m.Sop) -> Layout:
    """The reading order of ``sop`` (see the module docstring)."""
    successors = _successors(sop)
    track_of = sop.track_of()
    known = {p.id for p in sop.phases} | {b.id for b in sop.parallels}
    written = [p.id for p in sop.phases] + [b.id for b in sop.parallels]
    starts = ([sop.start] if sop.start else []) + written
    order = _walk(starts, successors, lambda n: n in known, set())
    top = tuple(n for n in order if n not in track_of)
    claimed: set[str] = set()
    tracks: dict[str, tuple[tuple[str, ...], ...]] = {}
    for block in sop.parallels:
        members = {pid for pid, owner in track_of.items() if owner == block.id}
        tracks[block.id] = tuple(
            tuple(_walk([t.name], successors, members.__contains__, claimed))
            for t in block.tracks
        )
    return Layout(top=top, tracks=tracks)
