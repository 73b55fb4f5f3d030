"""The SOP model: what a parsed ``.sop`` file holds.

Every construct of the language is one small frozen dataclass. Each node
carries a :class:`Span` (file, line, column, end) that is excluded from
equality and from ``repr``, so tests compare structure, not positions.

The model holds, it does not act:

* references to roles, phases, fields and events are :class:`Ref` values
  (a name plus where it was written); the checker resolves them, the model
  does not;
* conditions stay parsed expressions (:class:`Compare`, :class:`Member`,
  :class:`And`, :class:`Or`, :class:`Not`); the engine evaluates them with
  its own evaluator, text from a ``.sop`` file never reaches ``eval``;
* durations stay amounts and units; the engine's clock turns them into
  due times.

Small read-only helpers (lookups by id, the routes of a phase) are fine
here; anything that decides (checks, compile, run, render) lives in its
own module.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal as _Literal

__all__ = [
    "BUILTIN_EVENTS",
    "ENGINE_RECORDS",
    "JOIN",
    "NO_SPAN",
    "And",
    "Approval",
    "Compare",
    "Condition",
    "Criterion",
    "Duration",
    "Event",
    "Field",
    "FieldType",
    "Include",
    "Member",
    "Milestone",
    "Not",
    "Or",
    "Parallel",
    "Phase",
    "Quorum",
    "Ref",
    "Role",
    "Route",
    "Sop",
    "Span",
    "Value",
]

#: Events every phase understands without declaring them.
#: ``no-quorum`` is taken when a vote can no longer reach its quorum (without
#: such a route the engine takes the ``reject`` route).
BUILTIN_EVENTS = ("handoff", "approve", "reject", "no-quorum")
#: The route target that ends a parallel track (``handoff to join``).
JOIN = "join"
#: The names the engine gives its own records and commands in a run's history;
#: a declared event may not take one (nor a built-in event's), so that a fired
#: event is never read back as something the engine did.
ENGINE_RECORDS = ("start", "tick", "untick", "vote", "abstain", "milestone", JOIN, "finish",
                  "set", "reassign", "cancel", "refused", "reopen", "fire", "advance")


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node was written: 1-based line and column, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<unknown>", 0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Ref:
    """A name that refers to something declared elsewhere (role, phase, …)."""

    name: str
    span: Span = _span()

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Role:
    """``role ID "Title"``: a named role that runs bind to people."""

    id: str
    title: str
    description: str = ""
    span: Span = _span()


FieldKind = _Literal["text", "number", "date", "choice"]


@dataclass(frozen=True, slots=True)
class FieldType:
    """The type of a field: text, number, date, or one of fixed choices."""

    kind: FieldKind
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Field:
    """``field ID "Title" TYPE``: typed run data used in conditions.

    The indented statements under the ``field`` line:

    * ``required``: the field must be given when the run starts;
    * ``required before PHASE, …``: it must be set before the run enters
      one of those phases (or parallel blocks);
    * ``set by ROLE, …``: who may change it during a run; empty means the
      default (the owner of the current phase and the SOP owner).

    The model only records them; the engine enforces them.
    """

    id: str
    title: str
    type: FieldType
    description: str = ""
    required: bool = False
    required_before: tuple[Ref, ...] = ()
    set_by: tuple[Ref, ...] = ()
    #: single-valued statements written more than once: (keyword, where)
    repeated: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Event:
    """``event ID "Title" [by ROLE, …]``: a named event a phase may route on.

    ``by`` lists the roles that may fire it; empty means the phase owner.
    """

    id: str
    title: str
    by: tuple[Ref, ...] = ()
    description: str = ""
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Include:
    """``include "path"``: roles, fields and events shared from another file.

    ``path`` is as written (relative to the including file); ``resolved``
    is the absolute path the loader read, or ``""`` when it was not found.
    """

    path: str
    resolved: str = ""
    span: Span = _span()


DurationUnit = _Literal["minutes", "hours", "days", "business_days", "business_hours",
                        "weeks"]


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount of time: ``2 business days``, ``8 business hours``, ``4 hours``."""

    amount: int
    unit: DurationUnit
    span: Span = _span()

    def __str__(self) -> str:
        unit = self.unit.replace("_", " ")
        if self.amount == 1:
            unit = unit[:-1]
        return f"{self.amount} {unit}"


@dataclass(frozen=True, slots=True)
class Criterion:
    """One item of a ``done when`` checklist; ``number`` counts from 1."""

    number: int
    text: str
    span: Span = _span()


QuorumKind = _Literal["count", "all", "majority", "fraction"]


@dataclass(frozen=True, slots=True)
class Quorum:
    """How many must agree.

    * ``count``: ``count`` approvals;
    * ``all``: every eligible person approves;
    * ``majority``: more than half of the votes cast (abstentions not counted);
    * ``fraction``: at least ``numerator/denominator`` of the votes cast.
    """

    kind: QuorumKind
    count: int = 1
    numerator: int = 0
    denominator: int = 1
    span: Span = _span()

    def __str__(self) -> str:
        if self.kind == "count":
            return str(self.count)
        if self.kind == "fraction":
            return f"{self.numerator}/{self.denominator}"
        return self.kind


@dataclass(frozen=True, slots=True)
class Approval:
    """``approval by ROLE, …`` with its policy lines.

    ``reopen_on_change``: when a field that the phase's routes read changes
    after the vote was decided, the run goes back to this approval (the
    engine does that; the model only records the line).
    """

    by: tuple[Ref, ...]
    quorum: Quorum = Quorum("count", 1)
    veto: bool = False
    not_by: tuple[Ref, ...] = ()
    window: Duration | None = None
    reopen_on_change: bool = False
    #: single-valued policy lines written more than once: (keyword, where)
    repeated: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()


ValueKind = _Literal["number", "text", "date", "word"]


@dataclass(frozen=True, slots=True)
class Value:
    """A literal in a condition. ``word`` is a bare name (a choice)."""

    kind: ValueKind
    value: Decimal | str | _dt.date
    span: Span = _span()

    def __str__(self) -> str:
        if self.kind == "text":
            return '"' + str(self.value) + '"'
        return str(self.value)


CompareOp = _Literal["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Compare:
    """``FIELD OP VALUE``, e.g. ``budget > 10000`` (``is`` reads as ``=``)."""

    field: Ref
    op: CompareOp
    value: Value
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Member:
    """``FIELD is one of A, B`` (``negated`` for ``is not one of``)."""

    field: Ref
    values: tuple[Value, ...]
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Condition, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Condition, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition
    span: Span = _span()


Condition = Compare | Member | And | Or | Not


@dataclass(frozen=True, slots=True)
class Route:
    """``handoff to X [if C]`` or ``on EVENT go to X [if C]``.

    ``event`` is ``handoff``, ``approve``, ``reject`` or a declared event;
    ``target`` is a phase, a parallel block, or ``join`` (end of a track).
    Routes keep their source order: the first whose condition holds wins.
    """

    event: Ref
    target: Ref
    condition: Condition | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Milestone:
    """``milestone "Title" owner ROLE [due DURATION|DATE]``.

    Reached when its phase is done. A duration ``due`` counts from the
    start of the run; a date is absolute.
    """

    id: str
    title: str
    owner: Ref
    due: Duration | _dt.date | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Phase:
    """``phase ID "Title"``: one step, with exactly one owner (the R of RACI)."""

    id: str
    title: str
    owner: Ref | None = None
    accountable: tuple[Ref, ...] = ()
    consulted: tuple[Ref, ...] = ()
    informed: tuple[Ref, ...] = ()
    description: str = ""
    due: Duration | None = None
    checklist: tuple[Criterion, ...] = ()
    approval: Approval | None = None
    routes: tuple[Route, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    end: bool = False
    #: every ``owner`` line written (the checker reports more than one)
    owners: tuple[Ref, ...] = ()
    #: single-valued statements written more than once: (keyword, where)
    repeated: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()

    def routes_on(self, event: str) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.event.name == event)

    @property
    def events(self) -> tuple[str, ...]:
        """The distinct events this phase routes on, in source order."""
        return tuple(dict.fromkeys(r.event.name for r in self.routes))


@dataclass(frozen=True, slots=True)
class Parallel:
    """``parallel ID "Title"``: tracks that run side by side, then a join.

    Each track starts at a phase; it ends when a phase routes to ``join``.
    When every track has ended the run goes to ``then``.
    """

    id: str
    title: str
    tracks: tuple[Ref, ...]
    then: Ref | None
    description: str = ""
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Sop:
    """A whole ``.sop`` file (with its includes' declarations merged in).

    ``id`` is ``""`` for a shared file that has no ``sop`` header (one that
    only declares roles, fields and events for others to include).
    The first phase (or parallel block) written is where a run starts.
    """

    id: str
    title: str
    path: str
    version: str = ""
    owner: Ref | None = None
    description: str = ""
    roles: tuple[Role, ...] = ()
    fields: tuple[Field, ...] = ()
    events: tuple[Event, ...] = ()
    phases: tuple[Phase, ...] = ()
    parallels: tuple[Parallel, ...] = ()
    includes: tuple[Include, ...] = ()
    #: the start of the flow: the first phase or parallel block written
    start: str = ""
    source: str = field(default="", compare=False, repr=False)
    #: where a second ``sop`` header was written (the checker reports it)
    extra_headers: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()

    @property
    def is_library(self) -> bool:
        """True for a shared file meant to be included (no ``sop`` header)."""
        return not self.id

    def find_role(self, id: str) -> Role | None:
        return next((r for r in self.roles if r.id == id), None)

    def find_field(self, id: str) -> Field | None:
        return next((f for f in self.fields if f.id == id), None)

    def find_event(self, id: str) -> Event | None:
        return next((e for e in self.events if e.id == id), None)

    def find_phase(self, id: str) -> Phase | None:
        return next((p for p in self.phases if p.id == id), None)

    def find_parallel(self, id: str) -> Parallel | None:
        return next((p for p in self.parallels if p.id == id), None)

    def track_members(self) -> dict[tuple[str, int], tuple[str, ...]]:
        """The phases of each track, keyed by (parallel block id, track index from 0).

        A phase belongs to a track when it is reachable from the track's
        start phase by routes without passing ``join``, an end phase, or a
        route to a parallel block id. So an end phase belongs to no track
        (reaching one finishes the whole run), and the phases of an inner
        block started from a track belong to the inner block's tracks, not
        to the outer one. A phase may appear in several tracks here; the
        checker reports that (a correct SOP has each phase in one track).
        """
        phases = {p.id: p for p in self.phases}
        result: dict[tuple[str, int], tuple[str, ...]] = {}
        for block in self.parallels:
            for index, track in enumerate(block.tracks):
                seen: dict[str, None] = {}
                todo = [track.name]
                while todo:
                    pid = todo.pop()
                    if pid in seen or pid not in phases or phases[pid].end:
                        continue
                    seen[pid] = None
                    todo.extend(
                        r.target.name for r in phases[pid].routes if r.target.name != JOIN
                    )
                result[(block.id, index)] = tuple(seen)
        return result

    def track_of(self) -> dict[str, str]:
        """Map each phase inside a parallel track to its parallel block id.

        This is the one definition of track membership (the checker and the
        compiler use it): a phase belongs to a track when it is reachable
        from the track's start without passing ``join``, an end phase, or a
        route to a parallel block id (see :meth:`track_members`); an inner
        block's phases belong to the inner block. Phases outside any track
        are absent, and so are end phases: reaching one from a track
        finishes the whole run. Should a phase be reachable from tracks of
        two blocks (an error the checker reports), the block written first
        wins.
        """
        result: dict[str, str] = {}
        for (block, _index), members in self.track_members().items():
            for pid in members:
                result.setdefault(pid, block)
        return result
