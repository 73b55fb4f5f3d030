"""What a run's history says, derived from its typed events: visits, milestones, changes.

Pure functions over a sequence of :mod:`opsflow.run.events` events, oldest first:

* :func:`phase_visits` — every visit of every phase, in the order entered: the
  visit number of that phase (from 1; a rejected review entered again is
  visit 2, with fresh ticks and votes), when it was entered, when a person
  first acted in it (a tick, untick, vote, or a move they made), when and how
  it was left (``exit``: the trigger — ``handoff``, ``approve``, ``reject``,
  ``no-quorum``, an event id — or ``cancel``, ``finish``, ``reopen``) and by
  whom, the criteria ticked at the end of the visit, and each person's latest
  vote in it;
* :func:`milestones` — the milestones reached, with when;
* :func:`field_history` and :func:`assignment_history` — every change of a
  field value or a role's people, starting with the values the run started
  with (old value None, old people empty);
* :func:`project` — all of them at once, as a :class:`Timeline`;
* :func:`track_starts` — the ``parallels`` argument, from a compiled SOP.

Rules. A move into a parallel block enters the first phase of each of its
tracks; the events do not name them, so pass ``parallels`` (block id → the
first phase of each track, as in the compiled SOP's ``parallels``). A move to
``"join"`` or to no phase (the run ends) enters nothing. A phase first seen in
an event without having been entered gets a visit whose ``entered_at`` is
None. A finish or a cancel leaves every phase still open. Refused attempts
and :class:`~opsflow.run.events.Unreadable` events change nothing here.

This module reads no database and knows nothing of a SOP beyond ``parallels``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .compiled import CompiledSop
from .events import (
    Cancelled,
    Event,
    FieldSet,
    Finished,
    Joined,
    MilestoneReached,
    Moved,
    Reassigned,
    Reopened,
    Started,
    Ticked,
    Unticked,
    Voted,
)

__all__ = [
    "AssignmentChange",
    "FieldChange",
    "Milestone",
    "PhaseVisit",
    "Timeline",
    "VisitVote",
    "assignment_history",
    "field_history",
    "milestones",
    "phase_visits",
    "project",
    "track_starts",
]

_NO_BLOCKS: Mapping[str, Sequence[str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class VisitVote:
    """One person's latest vote in one visit of an approval phase."""

    person: str
    decision: str
    comment: str
    at: dt.datetime
    counted: bool = True


@dataclass(frozen=True, slots=True)
class PhaseVisit:
    """One stay of the run in one phase (see the module docstring)."""

    phase: str
    visit: int
    entered_at: dt.datetime | None
    first_action_at: dt.datetime | None = None
    left_at: dt.datetime | None = None
    #: how the phase was left: the trigger, or cancel / finish / reopen; None while open
    exit: str | None = None
    #: who acted when it was left (for a move the votes decided: whose action settled it)
    left_by: str | None = None
    ticked: frozenset[int] = frozenset()
    votes: tuple[VisitVote, ...] = ()

    @property
    def open(self) -> bool:
        return self.exit is None


@dataclass(frozen=True, slots=True)
class Milestone:
    milestone: str
    title: str
    phase: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: str | None
    new: str
    by: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class AssignmentChange:
    role: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    by: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything :func:`project` derives from one run's events."""

    visits: tuple[PhaseVisit, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    fields: tuple[FieldChange, ...] = ()
    assignments: tuple[AssignmentChange, ...] = ()

    def visits_of(self, phase: str) -> tuple[PhaseVisit, ...]:
        return tuple(v for v in self.visits if v.phase == phase)

    def latest(self, phase: str) -> PhaseVisit | None:
        """The phase's latest visit (None if the run never entered it)."""
        found = self.visits_of(phase)
        return found[-1] if found else None


@dataclass
class _Visit:
    """A visit being built (mutable; frozen into a :class:`PhaseVisit`)."""

    phase: str
    visit: int
    entered_at: dt.datetime | None
    first_action_at: dt.datetime | None = None
    left_at: dt.datetime | None = None
    exit: str | None = None
    left_by: str | None = None
    ticked: set[int] = field(default_factory=set)
    votes: dict[str, VisitVote] = field(default_factory=dict)

    def acted(self, at: dt.datetime) -> None:
        if self.first_action_at is None:
            self.first_action_at = at

    def frozen(self) -> PhaseVisit:
        return PhaseVisit(self.phase, self.visit, self.entered_at, self.first_action_at,
                          self.left_at, self.exit, self.left_by, frozenset(self.ticked),
                          tuple(v for _, v in sorted(self.votes.items())))


class _Visits:
    """Folds events into visits."""

    def __init__(self, parallels: Mapping[str, Sequence[str]]) -> None:
        self.parallels = parallels
        self.all: list[_Visit] = []
        self.open: dict[str, _Visit] = {}
        self.count: dict[str, int] = {}

    def enter(self, phase: str | None, at: dt.datetime | None) -> _Visit | None:
        if phase is None or phase == "join" or phase.startswith(":"):
            return None
        if phase in self.parallels:
            for start in self.parallels[phase]:
                self.enter(start, at)
            return None
        if phase in self.open:
            return self.open[phase]
        self.count[phase] = self.count.get(phase, 0) + 1
        visit = self.open[phase] = _Visit(phase, self.count[phase], at)
        self.all.append(visit)
        return visit

    def current(self, phase: str) -> _Visit:
        """The open visit of ``phase`` (one with no known entry if it was never entered)."""
        visit = self.open.get(phase) or self.enter(phase, None)
        assert visit is not None
        return visit

    def leave(self, phase: str, at: dt.datetime, how: str, who: str) -> None:
        visit = self.open.pop(phase, None)
        if visit is not None:
            visit.left_at, visit.exit, visit.left_by = at, how, who

    def leave_all(self, at: dt.datetime, how: str, who: str) -> None:
        for phase in list(self.open):
            self.leave(phase, at, how, who)

    def fold(self, event: Event) -> None:
        match event:
            case Started():
                self.enter(event.phase, event.at)
            case Ticked() | Unticked():
                visit = self.current(event.phase)
                visit.acted(event.at)
                if isinstance(event, Ticked):
                    visit.ticked.add(event.criterion)
                else:
                    visit.ticked.discard(event.criterion)
            case Voted():
                visit = self.current(event.phase)
                visit.acted(event.at)
                visit.votes[event.actor] = VisitVote(event.actor, event.decision,
                                                     event.comment, event.at, event.counted)
            case Moved():
                if event.by_person:
                    self.current(event.from_phase).acted(event.at)
                self.leave(event.from_phase, event.at, event.trigger, event.actor)
                self.enter(event.to_phase, event.at)
            case Joined():
                self.enter(event.then, event.at)
            case Reopened():
                self.leave(event.from_phase, event.at, "reopen", event.actor)
                self.enter(event.approval, event.at)
            case Finished():
                self.leave_all(event.at, "finish", event.actor)
            case Cancelled():
                self.leave_all(event.at, "cancel", event.actor)
            case _:
                pass


def phase_visits(events: Iterable[Event], parallels: Mapping[str, Sequence[str]] = _NO_BLOCKS
                 ) -> tuple[PhaseVisit, ...]:
    """Every visit of every phase, in the order entered (see the module docstring)."""
    visits = _Visits(parallels)
    for event in events:
        visits.fold(event)
    return tuple(v.frozen() for v in visits.all)


def milestones(events: Iterable[Event]) -> tuple[Milestone, ...]:
    return tuple(Milestone(e.milestone, e.title, e.phase, e.at) for e in events
                 if isinstance(e, MilestoneReached))


def field_history(events: Iterable[Event]) -> tuple[FieldChange, ...]:
    """Every field value given at start or set later, oldest first."""
    changes: list[FieldChange] = []
    for event in events:
        if isinstance(event, Started):
            changes += [FieldChange(name, None, value, event.actor, event.at)
                        for name, value in event.fields.items()]
        elif isinstance(event, FieldSet):
            changes.append(FieldChange(event.field, event.previous, event.value, event.actor,
                                       event.at))
    return tuple(changes)


def assignment_history(events: Iterable[Event]) -> tuple[AssignmentChange, ...]:
    """Every role's people as bound at start and every reassignment, oldest first."""
    changes: list[AssignmentChange] = []
    for event in events:
        if isinstance(event, Started):
            changes += [AssignmentChange(role, (), people, event.actor, event.at)
                        for role, people in event.assignments.items()]
        elif isinstance(event, Reassigned):
            changes.append(AssignmentChange(event.role, event.previous, event.people,
                                            event.actor, event.at))
    return tuple(changes)


def project(events: Iterable[Event], parallels: Mapping[str, Sequence[str]] = _NO_BLOCKS
            ) -> Timeline:
    """Visits, milestones, field and assignment history of one run's events."""
    seen = list(events)
    return Timeline(phase_visits(seen, parallels), milestones(seen), field_history(seen),
                    assignment_history(seen))


def track_starts(compiled: CompiledSop) -> dict[str, list[str]]:
    """The ``parallels`` argument for a compiled SOP: block id → first phase of each track."""
    return {block.id: list(block.tracks) for block in compiled.parallels.values()}
