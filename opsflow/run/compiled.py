"""The compiled SOP: the one typed structure the run stage reads.

:func:`opsflow.run.compiler.compile_sop` turns a checked model into a
:class:`CompiledSop`: frozen, slotted, free of source positions and of the
parser. Runs pin it (the store keeps :meth:`CompiledSop.to_json` beside the
source text); status, actions, replay and verify read it back with
:meth:`CompiledSop.from_json`, never the ``.sop`` file.

Versions. :data:`FORMAT` is stored with every compiled SOP (``"format"``).
:meth:`~CompiledSop.from_json` reads the current format and every older one
(format 1, written by opsflow before the run stage became a package, has no
field rules, no ``reopen on change``, no ``no-quorum`` transitions and only
the paths of included files; it is read with those defaults and its
transitions completed the way the compiler completes them today). A format
newer than this opsflow, or data that does not fit, raises
:class:`CompiledFormatError` naming the fix.

Machine states (``states``, ``transitions``; exactly what
``transitions.Machine`` takes with ``auto_transitions=False``): every phase;
every parallel block id (entering it forks one token per track);
``BLOCK:join`` per block; ``:end`` (an end phase with a checklist goes there
on ``handoff``). The colon cannot appear in a name in the language.

This module holds data; it decides nothing (see :mod:`opsflow.run.context`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import OpsflowError
from . import conditions as cond
from .conditions import Condition

__all__ = [
    "END",
    "ENTRY",
    "EVENT_GUARDS",
    "FORMAT",
    "GUARDS",
    "GUARD_IF",
    "NO_QUORUM",
    "ApprovalSpec",
    "CompiledFormatError",
    "CompiledSop",
    "DurationSpec",
    "EventSpec",
    "FieldSpec",
    "IncludedFile",
    "MilestoneSpec",
    "ParallelSpec",
    "PhaseSpec",
    "QuorumSpec",
    "RouteSpec",
    "SopInfo",
    "TransitionSpec",
    "join_state",
    "no_quorum_transitions",
]

#: the format of the compiled form this opsflow writes (stored with it)
FORMAT = 2
#: the state a finished end phase's token moves to
END = ":end"
#: prefix of the guard names of route conditions
GUARD_IF = "guard:if:"
#: the event a vote that can no longer reach its quorum fires
NO_QUORUM = "no-quorum"

#: the guards of each built-in trigger (conditions of compiled transitions)
#: (a route's own condition follows them, then :data:`ENTRY`)
GUARDS: dict[str, tuple[str, ...]] = {
    "handoff": ("guard:owner", "guard:checklist"),
    "approve": ("guard:decider", "guard:checklist", "guard:approved"),
    "reject": ("guard:decider", "guard:rejected"),
    NO_QUORUM: ("guard:decider", "guard:no-quorum"),
}
#: the guards of a declared event
EVENT_GUARDS = ("guard:event-by",)
#: the last guard of every move: what the destination requires (fields set before it)
ENTRY = "guard:entry"


class CompiledFormatError(OpsflowError):
    """A stored compiled SOP this opsflow cannot read."""


def join_state(block: str) -> str:
    """The machine state where the tracks of a parallel block wait for each other."""
    return f"{block}:join"


@dataclass(frozen=True, slots=True)
class DurationSpec:
    """An amount of time: ``amount`` ``unit`` (minutes, hours, days, business_days,
    business_hours, weeks)."""

    amount: int
    unit: str


@dataclass(frozen=True, slots=True)
class QuorumSpec:
    """How many must agree (see :mod:`opsflow.run.policy`)."""

    kind: str  # count | all | majority | fraction
    count: int = 1
    numerator: int = 0
    denominator: int = 1


@dataclass(frozen=True, slots=True)
class ApprovalSpec:
    by: tuple[str, ...]
    quorum: QuorumSpec
    veto: bool = False
    not_by: tuple[str, ...] = ()
    window: DurationSpec | None = None
    #: a change of a field its routes read, after the vote was granted, sends the run back
    reopen_on_change: bool = False


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route: ``event`` → ``target`` (as written) reaching machine state ``dest``."""

    event: str
    target: str
    dest: str
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class MilestoneSpec:
    id: str
    title: str
    owner: str
    due: DurationSpec | dt.date | None = None


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    id: str
    title: str
    owner: str
    description: str = ""
    accountable: tuple[str, ...] = ()
    consulted: tuple[str, ...] = ()
    informed: tuple[str, ...] = ()
    due: DurationSpec | None = None
    checklist: tuple[str, ...] = ()
    approval: ApprovalSpec | None = None
    routes: tuple[RouteSpec, ...] = ()
    milestones: tuple[MilestoneSpec, ...] = ()
    end: bool = False
    #: the parallel block whose track this phase is in, if any
    track: str | None = None

    def routes_on(self, event: str) -> tuple[RouteSpec, ...]:
        return tuple(r for r in self.routes if r.event == event)

    @property
    def events(self) -> tuple[str, ...]:
        """The distinct events this phase routes on, in source order."""
        return tuple(dict.fromkeys(r.event for r in self.routes))

    def route_fields(self) -> tuple[str, ...]:
        """Every field the conditions of this phase's routes read."""
        return tuple(dict.fromkeys(
            f for r in self.routes if r.condition is not None for f in cond.fields_of(r.condition)))


@dataclass(frozen=True, slots=True)
class FieldSpec:
    id: str
    title: str
    type: str  # text | number | date | choice
    choices: tuple[str, ...] = ()
    #: must be given at start
    required: bool = False
    #: must be set before the run enters one of these phases
    required_before: tuple[str, ...] = ()
    #: who may set it during a run (empty: the current phase's owner and the SOP owner)
    set_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventSpec:
    id: str
    title: str
    #: who may fire it (empty: the phase owner)
    by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParallelSpec:
    id: str
    title: str
    tracks: tuple[str, ...]
    then: str | None = None


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"trigger": self.trigger, "source": self.source, "dest": self.dest,
                "conditions": list(self.conditions)}


@dataclass(frozen=True, slots=True)
class IncludedFile:
    """A file the SOP included: its resolved path and (format 2 on) its text."""

    path: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class SopInfo:
    id: str
    title: str
    version: str = ""
    owner: str | None = None
    path: str = ""
    includes: tuple[IncludedFile, ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledSop:
    """A checked SOP compiled for running (see the module docstring)."""

    hash: str
    sop: SopInfo
    start: str
    states: tuple[str, ...]
    transitions: tuple[TransitionSpec, ...]
    guards: Mapping[str, Condition]
    roles: Mapping[str, str]
    fields: Mapping[str, FieldSpec]
    events: Mapping[str, EventSpec]
    phases: Mapping[str, PhaseSpec]
    parallels: Mapping[str, ParallelSpec] = field(default_factory=dict)
    format: int = FORMAT

    # ---- questions the run stage asks ------------------------------------------------
    def phase(self, pid: str) -> PhaseSpec:
        return self.phases[pid]

    def owner_roles(self) -> tuple[str, ...]:
        """The SOP owner role (empty when the SOP names none)."""
        return (self.sop.owner,) if self.sop.owner else ()

    def block_phases(self, block: str) -> tuple[str, ...]:
        """The phases inside the tracks of ``block``."""
        return tuple(p.id for p in self.phases.values() if p.track == block)

    def authority_roles(self, active: Sequence[str]) -> list[str]:
        """Who may reassign and cancel while ``active`` phases run: the SOP owner; with
        none, the active phases' owners and accountable roles (so a run never lacks
        someone who may act)."""
        if self.owner_roles():
            return list(self.owner_roles())
        return [r for pid in active for r in (self.phases[pid].owner,
                                              *self.phases[pid].accountable)]

    def reassign_roles(self, role: str, active: Sequence[str]) -> list[str]:
        """The roles whose holders may reassign ``role`` while ``active`` phases run: the
        SOP owner role only its holders; any other the SOP owner (see
        :meth:`authority_roles`) and the active phases' accountable roles."""
        if role in self.owner_roles():
            return list(self.owner_roles())
        accountable = [r for pid in active for r in self.phases[pid].accountable]
        return list(dict.fromkeys([*self.authority_roles(active), *accountable]))

    def entry_phases(self, dest: str) -> list[str]:
        """The phases the run is in right after entering ``dest`` (a phase, or each
        track's first phase of a parallel block, recursively)."""
        if dest in self.parallels:
            return [p for t in self.parallels[dest].tracks for p in self.entry_phases(t)]
        return [dest] if dest in self.phases else []

    def needed_roles(self) -> dict[str, str]:
        """Role -> why a run cannot finish without somebody holding it."""
        needed: dict[str, str] = {}
        for role in self.owner_roles():
            needed[role] = "the SOP owner"
        for phase in self.phases.values():
            needed.setdefault(phase.owner, f"the owner of phase {phase.id}")
            if phase.approval is not None:
                for role in phase.approval.by:
                    needed.setdefault(role, f"an approver of phase {phase.id}")
        return needed

    # ---- stored form -----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Plain JSON data; :meth:`from_json` reads it back equal."""
        return {
            "format": self.format,
            "hash": self.hash,
            "sop": {"id": self.sop.id, "title": self.sop.title, "version": self.sop.version,
                    "owner": self.sop.owner, "path": self.sop.path,
                    "includes": [{"path": i.path, "text": i.text} for i in self.sop.includes]},
            "start": self.start,
            "states": list(self.states),
            "transitions": [t.to_json() for t in self.transitions],
            "guards": {name: cond.to_json(c) for name, c in self.guards.items()},
            "roles": dict(self.roles),
            "fields": {f.id: {"title": f.title, "type": f.type, "choices": list(f.choices),
                              "required": f.required,
                              "required_before": list(f.required_before),
                              "set_by": list(f.set_by)} for f in self.fields.values()},
            "events": {e.id: {"title": e.title, "by": list(e.by)} for e in self.events.values()},
            "phases": {p.id: _phase_json(p) for p in self.phases.values()},
            "parallels": {b.id: {"title": b.title, "tracks": list(b.tracks), "then": b.then}
                          for b in self.parallels.values()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompiledSop:
        """Read a stored compiled SOP of this format or an older one."""
        try:
            version = data.get("format") if isinstance(data, Mapping) else None
        except Exception:
            version = None
        if not isinstance(version, int):
            raise CompiledFormatError(
                "the stored compiled SOP has no format number; it was not written by opsflow "
                "(restore the database from a backup)")
        if version > FORMAT:
            raise CompiledFormatError(
                f"the stored compiled SOP has format {version}, newer than this opsflow reads "
                f"(format {FORMAT}); upgrade opsflow")
        try:
            return _read(data, version)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CompiledFormatError(
                f"the stored compiled SOP (format {version}) is damaged ({type(exc).__name__}: "
                f"{exc}); restore the database from a backup") from None


def _duration_json(d: DurationSpec | None) -> dict[str, Any] | None:
    return None if d is None else {"amount": d.amount, "unit": d.unit}


def _approval_json(a: ApprovalSpec | None) -> dict[str, Any] | None:
    if a is None:
        return None
    q = a.quorum
    return {"by": list(a.by),
            "quorum": {"kind": q.kind, "count": q.count, "numerator": q.numerator,
                       "denominator": q.denominator},
            "veto": a.veto, "not_by": list(a.not_by), "window": _duration_json(a.window),
            "reopen_on_change": a.reopen_on_change}


def _milestone_json(ms: MilestoneSpec) -> dict[str, Any]:
    due: dict[str, Any] | None
    if isinstance(ms.due, dt.date):
        due = {"date": ms.due.isoformat()}
    else:
        due = _duration_json(ms.due)
    return {"id": ms.id, "title": ms.title, "owner": ms.owner, "due": due}


def _phase_json(p: PhaseSpec) -> dict[str, Any]:
    return {
        "title": p.title, "description": p.description, "owner": p.owner,
        "accountable": list(p.accountable), "consulted": list(p.consulted),
        "informed": list(p.informed), "due": _duration_json(p.due),
        "checklist": list(p.checklist), "approval": _approval_json(p.approval),
        "routes": [{"event": r.event, "target": r.target, "dest": r.dest,
                    "condition": None if r.condition is None else cond.to_json(r.condition)}
                   for r in p.routes],
        "milestones": [_milestone_json(ms) for ms in p.milestones],
        "end": p.end, "track": p.track,
    }


# ---- reading -----------------------------------------------------------------------------
def _strs(items: Any) -> tuple[str, ...]:
    if not isinstance(items, list | tuple):
        raise TypeError(f"expected a list, got {type(items).__name__}")
    return tuple(str(i) for i in items)


def _duration(data: Any) -> DurationSpec | None:
    return None if data is None else DurationSpec(int(data["amount"]), str(data["unit"]))


def _approval(data: Any) -> ApprovalSpec | None:
    if data is None:
        return None
    q = data["quorum"]
    return ApprovalSpec(
        by=_strs(data["by"]),
        quorum=QuorumSpec(str(q["kind"]), int(q["count"]), int(q["numerator"]),
                          int(q["denominator"])),
        veto=bool(data["veto"]), not_by=_strs(data.get("not_by", [])),
        window=_duration(data.get("window")),
        reopen_on_change=bool(data.get("reopen_on_change", False)))


def _milestone(data: Any) -> MilestoneSpec:
    due = data.get("due")
    when: DurationSpec | dt.date | None
    if due is not None and "date" in due:
        when = dt.date.fromisoformat(due["date"])
    else:
        when = _duration(due)
    return MilestoneSpec(str(data["id"]), str(data["title"]), str(data["owner"]), when)


def _phase(pid: str, data: Any) -> PhaseSpec:
    routes = tuple(
        RouteSpec(str(r["event"]), str(r["target"]), str(r["dest"]),
                  None if r.get("condition") is None else cond.from_json(r["condition"]))
        for r in data["routes"])
    return PhaseSpec(
        id=pid, title=str(data["title"]), owner=str(data["owner"]),
        description=str(data.get("description", "")),
        accountable=_strs(data["accountable"]), consulted=_strs(data["consulted"]),
        informed=_strs(data["informed"]), due=_duration(data.get("due")),
        checklist=_strs(data["checklist"]), approval=_approval(data.get("approval")),
        routes=routes, milestones=tuple(_milestone(ms) for ms in data["milestones"]),
        end=bool(data["end"]), track=data.get("track"))


def _includes(items: Any) -> Iterator[IncludedFile]:
    for item in items:
        if isinstance(item, str):  # format 1: the resolved path only
            yield IncludedFile(item)
        else:
            text = item.get("text")
            yield IncludedFile(str(item["path"]), None if text is None else str(text))


def _read(data: Mapping[str, Any], version: int) -> CompiledSop:
    sop = data["sop"]
    phases = {pid: _phase(pid, p) for pid, p in data["phases"].items()}
    transitions = tuple(
        TransitionSpec(str(t["trigger"]), str(t["source"]), str(t["dest"]),
                       _strs(t["conditions"]))
        for t in data["transitions"])
    if version < 2:
        transitions = _upgrade_transitions(transitions, phases)
    fields = {
        fid: FieldSpec(fid, str(f["title"]), str(f["type"]), _strs(f.get("choices", [])),
                       bool(f.get("required", False)), _strs(f.get("required_before", [])),
                       _strs(f.get("set_by", [])))
        for fid, f in data["fields"].items()}
    return CompiledSop(
        hash=str(data["hash"]),
        sop=SopInfo(str(sop["id"]), str(sop["title"]), str(sop.get("version", "")),
                    sop.get("owner"), str(sop.get("path", "")),
                    tuple(_includes(sop.get("includes", [])))),
        start=str(data["start"]),
        states=_strs(data["states"]),
        transitions=transitions,
        guards={name: cond.from_json(c) for name, c in data["guards"].items()},
        roles={str(r): str(t) for r, t in data["roles"].items()},
        fields=fields,
        events={eid: EventSpec(eid, str(e["title"]), _strs(e.get("by", [])))
                for eid, e in data["events"].items()},
        phases=phases,
        parallels={bid: ParallelSpec(bid, str(b["title"]), _strs(b["tracks"]), b.get("then"))
                   for bid, b in data["parallels"].items()},
        format=FORMAT,
    )


def _upgrade_transitions(old: tuple[TransitionSpec, ...], phases: Mapping[str, PhaseSpec]
                         ) -> tuple[TransitionSpec, ...]:
    """Format 1 → 2: the entry guard on every move, and the no-quorum transitions."""
    result = []
    for t in old:
        if t.trigger == "join":
            result.append(t)
            continue
        result.append(TransitionSpec(t.trigger, t.source, t.dest, (*t.conditions, ENTRY)))
    for phase in phases.values():
        result.extend(no_quorum_transitions(phase, [t for t in result if t.source == phase.id]))
    return tuple(result)


def no_quorum_transitions(phase: PhaseSpec, transitions: list[TransitionSpec]
                          ) -> list[TransitionSpec]:
    """The ``no-quorum`` transitions of an approval phase that names none: its reject routes."""
    if phase.approval is None or phase.routes_on(NO_QUORUM):
        return []
    guards = GUARDS[NO_QUORUM]
    return [TransitionSpec(NO_QUORUM, t.source, t.dest,
                           (*guards, *(c for c in t.conditions if c.startswith(GUARD_IF)), ENTRY))
            for t in transitions if t.trigger == "reject"]
