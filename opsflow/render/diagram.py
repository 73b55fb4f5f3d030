"""Flow diagrams: a diagram view built from the view-model, Mermaid and DOT
source from templates, and SVG from Graphviz's ``dot``.

Nodes are the start, each phase (end phases drawn differently), and a split
and a join for each parallel block; each track is a cluster. Edges are the
routes, labelled with the event (approve, reject, a named event's title)
and the condition; reject and named-event routes are dashed. For a run, the
phases it is in now are highlighted.

:func:`svg` runs ``dot -Tsvg`` in a subprocess with a timeout and returns
``None`` when Graphviz is missing or fails, so callers can fall back to a
readable text form. This module does not write files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from ..lang import model as m
from .templates import render
from .viewmodel import Branch, ParallelView, PhaseView, RouteView, SopView

__all__ = [
    "DOT_TIMEOUT",
    "Cluster",
    "DiagramView",
    "Edge",
    "Node",
    "build_diagram",
    "dot",
    "dot_available",
    "mermaid",
    "svg",
]

#: seconds one ``dot`` run may take before the diagram falls back to text
DOT_TIMEOUT = 30.0

Shape = Literal["start", "phase", "end", "split", "join"]
EdgeStyle = Literal["normal", "reject", "event"]


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    shape: Shape
    current: bool = False  # a phase a run is in now


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    style: EdgeStyle


@dataclass(frozen=True)
class Cluster:
    id: str
    title: str
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class DiagramView:
    title: str
    nodes: tuple[Node, ...]  # outside any cluster
    clusters: tuple[Cluster, ...]
    edges: tuple[Edge, ...]


class _Ids:
    """Diagram-safe node ids (letters, digits, ``_``), unique and stable."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], str] = {}
        self._used: set[str] = {"start"}

    def __call__(self, prefix: str, name: str) -> str:
        key = (prefix, name)
        if key not in self._ids:
            base = f"{prefix}_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
            candidate, n = base, 2
            while candidate in self._used:
                candidate, n = f"{base}_{n}", n + 1
            self._used.add(candidate)
            self._ids[key] = candidate
        return self._ids[key]


def _edge_label(route: RouteView, branch: Branch, event_title: str) -> str:
    word = {"handoff": "", "approve": "approve", "reject": "reject"}.get(route.event, event_title)
    cond = f"if {branch.condition}" if branch.condition else ("otherwise" if branch.otherwise
                                                             else "")
    return " ".join(part for part in (word, cond) if part)


def build_diagram(sop: m.Sop, view: SopView) -> DiagramView:
    """The nodes, clusters and edges of ``sop``'s flow."""
    ids = _Ids()
    blocks = {item.id: item for item in view.flow if isinstance(item, ParallelView)}
    join_of = {p.id: ids("j", bid) for bid, b in blocks.items() for t in b.tracks for p in t.phases}

    def target_id(target: str, source: str) -> str:
        if target == m.JOIN:
            return join_of.get(source, ids("j", "?"))
        return ids("s", target) if target in blocks else ids("p", target)

    def phase_node(phase: PhaseView) -> Node:
        lines = tuple(line for line in (phase.label, phase.owner) if line)
        current = phase.run is not None and phase.run.status == "current"
        return Node(ids("p", phase.id), lines, "end" if phase.end else "phase", current)

    nodes = [Node("start", ("Start",), "start")]
    clusters: list[Cluster] = []
    edges: list[Edge] = []
    if sop.start:
        edges.append(Edge("start", target_id(sop.start, ""), "", "normal"))
    for item in view.flow:
        if isinstance(item, PhaseView):
            nodes.append(phase_node(item))
            continue
        split, join = ids("s", item.id), ids("j", item.id)
        nodes.append(Node(split, (f"Parallel: {item.title}",), "split"))
        nodes.append(Node(join, ("All tracks done",), "join"))
        for track in item.tracks:
            clusters.append(Cluster(f"cluster_{split}_{track.number}",
                                    f"Track {track.number}", tuple(map(phase_node, track.phases))))
            if track.phases:
                edges.append(Edge(split, ids("p", track.phases[0].id), f"track {track.number}",
                                  "normal"))
        block = sop.find_parallel(item.id)
        if block is not None and block.then is not None:
            edges.append(Edge(join, target_id(block.then.name, ""), "", "normal"))
    for phase in view.phases:
        for route in phase.routes:
            event = sop.find_event(route.event)
            style: EdgeStyle = ("reject" if route.event == "reject" else
                                "normal" if route.event in m.BUILTIN_EVENTS else "event")
            for branch in route.branches:
                label = _edge_label(route, branch, event.title if event else route.event)
                edges.append(Edge(ids("p", phase.id), target_id(branch.target, phase.id), label,
                                  style))
    return DiagramView(view.title, tuple(nodes), tuple(clusters), tuple(edges))


def mermaid(diagram: DiagramView) -> str:
    """Mermaid flowchart source (GitHub and GitLab render it in Markdown)."""
    return render("diagram.mmd", d=diagram)


def dot(diagram: DiagramView) -> str:
    """Graphviz DOT source."""
    return render("diagram.dot", d=diagram)


def dot_available() -> bool:
    """True when Graphviz's ``dot`` is on the PATH."""
    return shutil.which("dot") is not None


def svg(dot_source: str, timeout: float = DOT_TIMEOUT) -> str | None:
    """``dot -Tsvg`` of the source, or ``None`` when Graphviz is missing or fails."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-Tsvg"], input=dot_source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or b"<svg" not in done.stdout:
        return None
    return done.stdout.decode("utf-8")
