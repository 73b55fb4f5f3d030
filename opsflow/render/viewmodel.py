"""The view-model: what the renderers show, built once from a checked SOP.

:func:`build_view` turns a :class:`~opsflow.lang.model.Sop` (and, for a run, a
:class:`~opsflow.render.runview.RunView`) into small frozen dataclasses:
phases in reading order and numbered, roles with their people, the RACI
matrix, approval policies, routes, due times and milestones in plain words.
Templates only print these values; they never look at the model.

Everything here is plain text; escaping is each template's business (see
:mod:`opsflow.render.templates`). Nothing here reads files or decides about
a run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from ..lang import model as m
from . import words
from .flow import layout
from .raci import RaciView, build_raci
from .runview import PhaseRun, RunView, Vote, as_utc, format_time

__all__ = [
    "Branch",
    "CriterionView",
    "FieldView",
    "FlowItem",
    "MilestoneView",
    "ParallelView",
    "PhaseRunView",
    "PhaseView",
    "RoleView",
    "RouteView",
    "RunSummary",
    "SopView",
    "TrackView",
    "VoteView",
    "build_view",
]


@dataclass(frozen=True)
class Branch:
    """One target of a route: ``condition`` is ``""`` when it always applies."""

    condition: str
    target: str  # a phase id, a parallel block id, or "join"
    phrase: str  # "go to 5. Publish" / "this track is done"
    otherwise: bool = False  # an earlier branch of the same route has a condition


@dataclass(frozen=True)
class RouteView:
    event: str  # handoff | approve | reject | an event id
    when: str  # "When approved"
    branches: tuple[Branch, ...]

    @property
    def text(self) -> str:
        """``When approved: if …, go to 5. Finance sign-off; otherwise go to 6. Publish.``"""
        parts = []
        for branch in self.branches:
            lead = "otherwise " if branch.otherwise else ""
            if branch.condition:
                parts.append(f"{lead}if {branch.condition}, {branch.phrase}")
            else:
                parts.append(f"{lead}{branch.phrase}")
        return f"{self.when}: " + "; ".join(parts) + "."


@dataclass(frozen=True)
class CriterionView:
    number: int
    text: str
    ticked: bool = False


@dataclass(frozen=True)
class MilestoneView:
    title: str
    owner: str
    due: str  # "due 10 days after the run starts" or ""
    reached: str = ""  # when a run reached it

    @property
    def text(self) -> str:
        parts = [f"{self.title}: owner {self.owner}"] + ([self.due] if self.due else [])
        if self.reached:
            parts.append(f"reached {self.reached}")
        return "; ".join(parts)


@dataclass(frozen=True)
class VoteView:
    person: str
    decision: str
    at: str
    comment: str

    @property
    def text(self) -> str:
        comment = f" — “{self.comment}”" if self.comment else ""
        return f"{self.person}: {self.decision} ({self.at}){comment}"


@dataclass(frozen=True)
class PhaseRunView:
    status: Literal["current", "done", "not reached"]
    entered: str
    due_at: str
    left: str
    overdue: bool
    votes: tuple[VoteView, ...]

    @property
    def text(self) -> str:
        """``current since …; due … (overdue)``."""
        if self.status == "not reached":
            return "not reached yet"
        parts = [f"current since {self.entered}" if self.status == "current"
                 else f"done {self.left}".rstrip()]
        if self.due_at:
            parts.append(f"due {self.due_at}" + (" (OVERDUE)" if self.overdue else ""))
        return "; ".join(parts)


@dataclass(frozen=True)
class PhaseView:
    id: str
    number: int
    title: str
    description: str  # Markdown
    owner: str
    accountable: tuple[str, ...]
    consulted: tuple[str, ...]
    informed: tuple[str, ...]
    due: str
    criteria: tuple[CriterionView, ...]
    approval: str
    routes: tuple[RouteView, ...]
    milestones: tuple[MilestoneView, ...]
    end: bool
    track: str  # "" or "track 1 of “Preparation”"
    run: PhaseRunView | None = None
    kind: Literal["phase"] = "phase"

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}"


@dataclass(frozen=True)
class TrackView:
    number: int
    start: str  # label of the phase the track starts at
    phases: tuple[PhaseView, ...]


@dataclass(frozen=True)
class ParallelView:
    id: str
    title: str
    description: str
    tracks: tuple[TrackView, ...]
    then: str  # label of the phase after the join, or ""
    kind: Literal["parallel"] = "parallel"


FlowItem = PhaseView | ParallelView


@dataclass(frozen=True)
class RoleView:
    id: str
    title: str
    description: str
    owns: tuple[str, ...]  # labels of the phases it is responsible for
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldView:
    id: str
    title: str
    type: str  # "number", "one of low, medium or high"
    value: str = ""
    rules: str = ""  # "Required at start; set by Finance controller"


@dataclass(frozen=True)
class RunSummary:
    id: str
    title: str
    status: str
    outcome: str
    started: str
    as_of: str
    current: tuple[str, ...]
    overdue: tuple[str, ...]


@dataclass(frozen=True)
class SopView:
    id: str
    title: str
    path: str
    version: str
    owner: str
    description: str
    library: bool
    roles: tuple[RoleView, ...]
    fields: tuple[FieldView, ...]
    flow: tuple[FlowItem, ...]
    phases: tuple[PhaseView, ...]  # in number order
    raci: RaciView
    includes: tuple[str, ...]
    run: RunSummary | None = None


class _Builder:
    """Builds one :class:`SopView`; holds the lookups the pieces share."""

    def __init__(self, sop: m.Sop, run: RunView | None) -> None:
        self.sop = sop
        self.run = run
        self.namer = words.Namer(sop)
        self.layout = layout(sop)
        self.numbers: dict[str, int] = {}
        for pid in self._reading_order():
            self.numbers.setdefault(pid, len(self.numbers) + 1)
        self.blocks = {b.id: b for b in sop.parallels}
        self.track_names = {
            pid: (block_id, index + 1)
            for block_id, tracks in self.layout.tracks.items()
            for index, track in enumerate(tracks)
            for pid in track
        }

    def _reading_order(self) -> list[str]:
        order: list[str] = []
        for node in self.layout.top:
            if node in self.layout.tracks:
                order.extend(pid for track in self.layout.tracks[node] for pid in track)
            else:
                order.append(node)
        return order

    def label(self, node: str) -> str:
        phase = self.sop.find_phase(node)
        if phase is not None:
            return f"{self.numbers.get(node, 0)}. {phase.title}"
        block = self.sop.find_parallel(node)
        return f"“{block.title}” (parallel tracks)" if block else node

    # ---- routes ---------------------------------------------------------------
    def routes(self, phase: m.Phase) -> tuple[RouteView, ...]:
        owner = self.namer.role(phase.owner) if phase.owner else "the phase owner"
        result = []
        for event in phase.events:
            verb = "hand off to" if event == "handoff" else "go to"
            branches, conditional = [], False
            for route in phase.routes_on(event):
                target = route.target.name
                phrase = (f"{verb} {self.label(target)}" if target != m.JOIN
                          else "this track is done")
                cond = words.condition_text(route.condition, self.namer) if route.condition else ""
                branches.append(Branch(cond, target, phrase, otherwise=conditional))
                conditional = conditional or bool(cond)
            result.append(RouteView(event, words.event_text(event, self.namer, owner),
                                    tuple(branches)))
        return tuple(result)

    # ---- phases ---------------------------------------------------------------
    def phase(self, phase: m.Phase) -> PhaseView:
        runinfo = self.run.phases.get(phase.id) if self.run else None
        ticked = runinfo.ticked if runinfo else frozenset()
        track = ""
        if phase.id in self.track_names:
            block_id, index = self.track_names[phase.id]
            track = f"track {index} of “{self.blocks[block_id].title}”"
        reached = self.run.milestones if self.run else {}
        return PhaseView(
            id=phase.id,
            number=self.numbers[phase.id],
            title=phase.title,
            description=phase.description,
            owner=self.namer.role(phase.owner) if phase.owner else "",
            accountable=self.namer.roles(phase.accountable),
            consulted=self.namer.roles(phase.consulted),
            informed=self.namer.roles(phase.informed),
            due=words.due_text(phase.due),
            criteria=tuple(CriterionView(c.number, c.text, c.number in ticked)
                           for c in phase.checklist),
            approval=words.approval_text(phase.approval, self.namer, _reads(phase))
            if phase.approval else "",
            routes=self.routes(phase),
            milestones=tuple(
                MilestoneView(ms.title, self.namer.role(ms.owner),
                              words.milestone_due_text(ms.due), format_time(reached.get(ms.id)))
                for ms in phase.milestones
            ),
            end=phase.end,
            track=track,
            run=self.phase_run(phase.id, runinfo) if self.run else None,
        )

    def phase_run(self, pid: str, info: PhaseRun | None) -> PhaseRunView:
        assert self.run is not None
        status: Literal["current", "done", "not reached"]
        status = "current" if pid in self.run.current else "done" if info else "not reached"
        info = info or PhaseRun()
        votes = tuple(VoteView(v.person, v.decision, format_time(v.at), v.comment)
                      for v in sorted(info.votes, key=_vote_key))
        return PhaseRunView(status, format_time(info.entered_at), format_time(info.due_at),
                            format_time(info.left_at), info.overdue and status == "current",
                            votes)

    def flow(self, phases: dict[str, PhaseView]) -> tuple[FlowItem, ...]:
        items: list[FlowItem] = []
        for node in self.layout.top:
            if node in phases:
                items.append(phases[node])
                continue
            block = self.blocks[node]
            pairs = zip(block.tracks, self.layout.tracks[node], strict=True)
            tracks = tuple(
                TrackView(i + 1, self.label(ref.name), tuple(phases[p] for p in track))
                for i, (ref, track) in enumerate(pairs)
            )
            then = self.label(block.then.name) if block.then else ""
            items.append(ParallelView(block.id, block.title, block.description, tracks, then))
        return tuple(items)

    # ---- the whole SOP --------------------------------------------------------
    def build(self) -> SopView:
        sop = self.sop
        ordered = sorted((p for p in sop.phases if p.id in self.numbers),
                         key=lambda p: self.numbers[p.id])
        views = {p.id: self.phase(p) for p in ordered}
        people = self.run.people if self.run else {}
        values = self.run.fields if self.run else {}
        owned: dict[str, list[str]] = {}
        for p in ordered:
            if p.owner is not None:
                owned.setdefault(p.owner.name, []).append(views[p.id].label)
        roles = tuple(RoleView(r.id, r.title, r.description, tuple(owned.get(r.id, ())),
                               tuple(people.get(r.id, ())))
                      for r in sop.roles)
        fields = tuple(FieldView(f.id, f.title, _type_text(f.type), values.get(f.id, ""),
                                 words.field_rules_text(f, self.namer, self.label))
                       for f in sop.fields)
        raci = build_raci(sop, [(views[p.id].label, p) for p in ordered], self.namer)
        return SopView(
            id=sop.id, title=sop.title, path=sop.path, version=sop.version,
            owner=self.namer.role(sop.owner) if sop.owner else "",
            description=sop.description, library=sop.is_library, roles=roles, fields=fields,
            flow=self.flow(views), phases=tuple(views.values()), raci=raci,
            includes=tuple(inc.path for inc in sop.includes),
            run=self.summary(views) if self.run else None,
        )

    def summary(self, views: dict[str, PhaseView]) -> RunSummary:
        assert self.run is not None
        run = self.run
        current = tuple(views[p].label if p in views else p for p in run.current)
        overdue = tuple(f"{v.label} (due {v.run.due_at})" for v in views.values()
                        if v.run is not None and v.run.overdue)
        return RunSummary(run.id, run.title, run.status, run.outcome, format_time(run.started_at),
                          format_time(run.as_of), current, overdue)


def _vote_key(vote: Vote) -> tuple[dt.datetime, str]:
    return (as_utc(vote.at), vote.person)


def _reads(phase: m.Phase) -> tuple[str, ...]:
    """The ids of the fields the routes of ``phase`` read, in source order."""
    found: dict[str, None] = {}
    todo: list[m.Condition] = [r.condition for r in phase.routes if r.condition is not None]
    while todo:
        cond = todo.pop(0)
        if isinstance(cond, (m.Compare, m.Member)):
            found.setdefault(cond.field.name)
        elif isinstance(cond, m.Not):
            todo.insert(0, cond.item)
        else:
            todo[0:0] = cond.items
    return tuple(found)


def _type_text(kind: m.FieldType) -> str:
    if kind.kind == "choice":
        return "one of " + words.join_or(list(kind.choices))
    return kind.kind


def build_view(sop: m.Sop, run: RunView | None = None) -> SopView:
    """The view-model of ``sop`` (with the state of ``run`` when given)."""
    return _Builder(sop, run).build()
