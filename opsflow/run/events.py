"""The typed event vocabulary: one frozen dataclass per kind of stored event.

The store keeps every change to a run as an :class:`~opsflow.store.EventRecord`
whose ``payload`` is a JSON dict. :func:`decode` turns one record into one of
the events below (the :data:`Event` union), reading each kind's payload once,
here, so that readers (history, the playbook-with-run, the projection in
:mod:`opsflow.run.projection`) never read payloads by string keys. Every event
carries ``run_id``, ``seq``, ``at`` and ``actor``, plus:

=============  ==================================================================
stored action  event
=============  ==================================================================
``start``      :class:`Started` — phase (the start phase), title, assignments,
               fields as given, ``sop`` hash
``tick``       :class:`Ticked` — phase, criterion number, criterion text
``untick``     :class:`Unticked` — the same
``vote``       :class:`Voted` — phase, decision, comment, the decision it
               replaces, whether it counts (an advisory vote does not)
any move       :class:`Moved` — ``trigger`` (``handoff``, ``approve``,
               ``reject``, ``no-quorum``, an event id), from and to phase
               (``"join"`` when a track ends, None when the run ends), the
               command that moved it, or ``auto`` and the ``tally`` of the
               votes that decided it, and a comment
``milestone``  :class:`MilestoneReached` — phase, milestone id, title
``join``       :class:`Joined` — the parallel block and the phase after it
``finish``     :class:`Finished` — the end phase
``set``        :class:`FieldSet` — field, value, previous value (None: unset)
``reassign``   :class:`Reassigned` — role, people, previous people
``cancel``     :class:`Cancelled` — the phases active then, reason
``refused``    :class:`Refused` — phase, the attempted command, reason, error
``reopen``     :class:`Reopened` — from phase, the approval phase re-entered,
               the field whose change reopened it
=============  ==================================================================

A command event keeps its ``action`` dict as a :class:`Command` (kind plus the
resolved arguments, exactly as stored, since replay repeats it). Payload keys
no kind knows are kept in ``extra``. :meth:`payload` on every event gives back
the payload it was decoded from: optional keys are written only when they say
something (a vote's ``counted`` only when false, a move's top-level
``comment`` only when not empty).

Decoding never raises: a record whose payload does not fit its kind (missing
keys, wrong types, not a dict, a move without phases) becomes
:class:`Unreadable`, with the reason in plain words and the raw payload.

This module reads no database and knows no SOP: it does not check that a
phase or criterion exists, and it decides nothing about a run.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import EventRecord

__all__ = [
    "DECISIONS",
    "KIND_NAMES",
    "MOVES",
    "Cancelled",
    "Command",
    "Event",
    "FieldSet",
    "Finished",
    "Joined",
    "MilestoneReached",
    "Moved",
    "Reassigned",
    "Refused",
    "Reopened",
    "Started",
    "Ticked",
    "Unreadable",
    "Unticked",
    "Voted",
    "decode",
    "to_json",
]

#: the decisions a vote may carry
DECISIONS = ("approve", "reject", "abstain")
#: the moves the engine itself writes (declared event ids are moves too)
MOVES = ("handoff", "approve", "reject", "no-quorum")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Command:
    """The command a person gave (``payload["action"]``): its kind and arguments."""

    kind: str
    args: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def phase(self) -> str | None:
        value = self.args.get("phase")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        """The action dict as stored (a fresh copy)."""
        return {"kind": self.kind, **copy.deepcopy(dict(self.args))}


@dataclass(frozen=True, slots=True)
class _Base:
    run_id: int
    seq: int
    at: dt.datetime
    actor: str
    #: payload keys this kind does not know, kept as stored
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, kw_only=True)

    def _with_extra(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**copy.deepcopy(dict(self.extra)), **payload}


@dataclass(frozen=True, slots=True)
class Started(_Base):
    phase: str
    title: str
    assignments: Mapping[str, tuple[str, ...]]
    fields: Mapping[str, str]
    sop: str
    command: Command

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"action": self.command.to_dict(), "sop": self.sop})


@dataclass(frozen=True, slots=True)
class Ticked(_Base):
    phase: str
    criterion: int
    text: str
    command: Command

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"action": self.command.to_dict(), "text": self.text})


@dataclass(frozen=True, slots=True)
class Unticked(_Base):
    phase: str
    criterion: int
    text: str
    command: Command

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"action": self.command.to_dict(), "text": self.text})


@dataclass(frozen=True, slots=True)
class Voted(_Base):
    phase: str
    decision: str  # one of DECISIONS
    comment: str
    replaces: str | None
    command: Command
    #: False for an advisory vote (it does not count towards the decision)
    counted: bool = True

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"action": self.command.to_dict(), "decision": self.decision,
                                   "comment": self.comment, "replaces": self.replaces}
        if not self.counted:
            payload["counted"] = False
        return self._with_extra(payload)


@dataclass(frozen=True, slots=True)
class Moved(_Base):
    """A phase left for another: by a command, or by the votes (``auto``)."""

    trigger: str
    from_phase: str
    to_phase: str | None
    command: Command | None
    auto: bool = False
    tally: str | None = None
    comment: str = ""

    @property
    def by_person(self) -> bool:
        """Whether a person's command moved it (not the votes by themselves)."""
        return self.command is not None and not self.auto

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        if self.command is not None:
            payload["action"] = self.command.to_dict()
        if self.auto:
            payload["auto"] = True
        if self.tally is not None:
            payload["tally"] = self.tally
        if self.comment:
            payload["comment"] = self.comment
        return self._with_extra(payload)


@dataclass(frozen=True, slots=True)
class MilestoneReached(_Base):
    phase: str
    milestone: str
    title: str

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"milestone": self.milestone, "title": self.title})


@dataclass(frozen=True, slots=True)
class Joined(_Base):
    block: str
    then: str

    def payload(self) -> dict[str, Any]:
        return self._with_extra({})


@dataclass(frozen=True, slots=True)
class Finished(_Base):
    phase: str
    outcome: str

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"outcome": self.outcome})


@dataclass(frozen=True, slots=True)
class FieldSet(_Base):
    field: str
    value: str
    previous: str | None
    command: Command

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"action": self.command.to_dict(), "field": self.field,
                                 "value": self.value, "previous": self.previous})


@dataclass(frozen=True, slots=True)
class Reassigned(_Base):
    role: str
    people: tuple[str, ...]
    previous: tuple[str, ...]
    command: Command

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"action": self.command.to_dict(), "role": self.role,
                                 "people": list(self.people), "previous": list(self.previous)})


@dataclass(frozen=True, slots=True)
class Cancelled(_Base):
    phases: tuple[str, ...]
    reason: str
    command: Command

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"action": self.command.to_dict(), "reason": self.reason})


@dataclass(frozen=True, slots=True)
class Refused(_Base):
    phase: str | None
    attempt: Command
    reason: str
    error: str

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"attempt": self.attempt.to_dict(), "reason": self.reason,
                                 "error": self.error})


@dataclass(frozen=True, slots=True)
class Reopened(_Base):
    """A run sent back to an approval phase because a field it depends on changed."""

    from_phase: str
    approval: str
    field: str

    def payload(self) -> dict[str, Any]:
        return self._with_extra({"field": self.field, "approval": self.approval})


@dataclass(frozen=True, slots=True)
class Unreadable(_Base):
    """A stored event whose payload does not fit its kind; ``reason`` says how."""

    action: str
    from_phase: str | None
    to_phase: str | None
    raw: Any
    reason: str

    def payload(self) -> Any:
        return copy.deepcopy(self.raw)


Event = (Started | Ticked | Unticked | Voted | Moved | MilestoneReached | Joined | Finished
         | FieldSet | Reassigned | Cancelled | Refused | Reopened | Unreadable)


# ---- decoding ----------------------------------------------------------------------

class _Bad(Exception):
    """A payload that does not fit its kind (never leaves this module)."""


def _is_text(value: object) -> bool:
    return isinstance(value, str)


class _Payload:
    """Reads one payload, remembering the keys read (the rest is ``extra``)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.read: set[str] = set()

    def _get(self, key: str) -> Any:
        self.read.add(key)
        return self.data.get(key)

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise _Bad(_wrong(key, value, "text"))
        return value

    def text_or(self, key: str, default: str) -> str:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise _Bad(_wrong(key, value, "text"))
        return value

    def maybe_text(self, key: str) -> str | None:
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise _Bad(_wrong(key, value, "text or null"))
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _Bad(_wrong(key, value, "true or false"))
        return value

    def people(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(map(_is_text, value)):
            raise _Bad(_wrong(key, value, "a list of names"))
        return tuple(value)

    def command(self, key: str) -> Command:
        return _command(key, self._get(key))

    def has(self, key: str) -> bool:
        return key in self.data

    def extra(self) -> Mapping[str, Any]:
        rest = {k: v for k, v in self.data.items() if k not in self.read}
        return MappingProxyType(copy.deepcopy(rest)) if rest else _EMPTY


def _wrong(key: str, value: object, wanted: str) -> str:
    if value is None:
        return f"the payload has no {key}"
    return f"{key} is {type(value).__name__}, not {wanted}"


def _command(key: str, value: object) -> Command:
    if not isinstance(value, dict):
        raise _Bad(_wrong(key, value, "an action dict"))
    kind = value.get("kind")
    if not isinstance(kind, str):
        raise _Bad(f"the {key} dict has no kind")
    args = {k: v for k, v in value.items() if k != "kind"}
    if not all(map(_is_text, args)):
        raise _Bad(f"the {key} dict has a key that is not text")
    return Command(kind, MappingProxyType(copy.deepcopy(args)))


def _arg(command: Command, key: str, kind: type, wanted: str) -> Any:
    value = command.args.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Bad(f"the action's {key} is {type(value).__name__}, not {wanted}"
                   if value is not None else f"the action has no {key}")
    return value


def _scalar_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Bad(f"a field value is {type(value).__name__}, not text")


def _start(p: _Payload, r: EventRecord, head: dict[str, Any]) -> Started:
    command = p.command("action")
    given = command.args.get("assignments", {})
    values = command.args.get("fields", {})
    if not isinstance(given, dict) or not all(
            isinstance(v, list) and all(map(_is_text, v)) for v in given.values()):
        raise _Bad("the action's assignments are not role → list of names")
    if not isinstance(values, dict):
        raise _Bad("the action's fields are not field → value")
    return Started(**head, phase=_phase(r.to_phase, "to"),
                   title=_arg(command, "title", str, "text"),
                   assignments=MappingProxyType({k: tuple(v) for k, v in given.items()}),
                   fields=MappingProxyType({k: _scalar_text(v) for k, v in values.items()}),
                   sop=p.text("sop"), command=command)


def _phase(value: str | None, side: str) -> str:
    if not value:
        raise _Bad(f"the event has no {side} phase")
    return value


def _tick(p: _Payload, r: EventRecord, head: dict[str, Any]) -> Ticked | Unticked:
    command = p.command("action")
    kind = Ticked if r.action == "tick" else Unticked
    return kind(**head, phase=_phase(r.from_phase, "from"),
                criterion=_arg(command, "criterion", int, "a number"), text=p.text("text"),
                command=command)


def _vote(p: _Payload, r: EventRecord, head: dict[str, Any]) -> Voted:
    command = p.command("action")
    decision = p.text("decision")
    replaces = p.maybe_text("replaces")
    for value in (decision, replaces):
        if value is not None and value not in DECISIONS:
            raise _Bad(f"{value!r} is not a decision (approve, reject or abstain)")
    return Voted(**head, phase=_phase(r.from_phase, "from"), decision=decision,
                 comment=p.text_or("comment", ""), replaces=replaces, command=command,
                 counted=p.flag("counted", True))


def _move(p: _Payload, r: EventRecord, head: dict[str, Any]) -> Moved:
    source = _phase(r.from_phase, "from")
    command = p.command("action") if p.has("action") else None
    auto = p.flag("auto", False)
    if command is None and not auto and r.to_phase is None:
        raise _Bad(f"a {r.action} event needs an action, auto or a to phase")
    comment = p.text_or("comment", "")
    return Moved(**head, trigger=r.action, from_phase=source, to_phase=r.to_phase,
                 command=command, auto=auto, tally=p.maybe_text("tally"), comment=comment)


def _cancel(p: _Payload, r: EventRecord, head: dict[str, Any]) -> Cancelled:
    phases = tuple(r.from_phase.split(",")) if r.from_phase else ()
    return Cancelled(**head, phases=phases, reason=p.text_or("reason", ""),
                     command=p.command("action"))


def _reopen(p: _Payload, r: EventRecord, head: dict[str, Any]) -> Reopened:
    approval = p.text("approval")
    if r.to_phase != approval:
        raise _Bad(f"the event goes to {r.to_phase or 'no phase'} but reopens {approval}")
    return Reopened(**head, from_phase=_phase(r.from_phase, "from"), approval=approval,
                    field=p.text("field"))


#: commands whose events are moves, whatever the stored action is called (a fired
#: event is stored under its own id, which an SOP checked before E207 may have
#: given a name the engine uses for its own records)
_MOVING_COMMANDS = ("fire", "handoff", "advance")


def _kind(p: _Payload, r: EventRecord, head: dict[str, Any]) -> Event:
    action = r.action
    command = p.data.get("action")
    if isinstance(command, Mapping) and command.get("kind") in _MOVING_COMMANDS:
        return _move(p, r, head)
    if action == "start":
        return _start(p, r, head)
    if action in ("tick", "untick"):
        return _tick(p, r, head)
    if action == "vote":
        return _vote(p, r, head)
    if action == "milestone":
        return MilestoneReached(**head, phase=_phase(r.from_phase, "from"),
                                milestone=p.text("milestone"), title=p.text("title"))
    if action == "join":
        return Joined(**head, block=_phase(r.from_phase, "from"),
                      then=_phase(r.to_phase, "to"))
    if action == "finish":
        return Finished(**head, phase=_phase(r.from_phase, "from"), outcome=p.text("outcome"))
    if action == "set":
        return FieldSet(**head, field=p.text("field"), value=p.text("value"),
                        previous=p.maybe_text("previous"), command=p.command("action"))
    if action == "reassign":
        return Reassigned(**head, role=p.text("role"), people=p.people("people"),
                          previous=p.people("previous"), command=p.command("action"))
    if action == "cancel":
        return _cancel(p, r, head)
    if action == "refused":
        return Refused(**head, phase=r.from_phase, attempt=p.command("attempt"),
                       reason=p.text("reason"), error=p.text("error"))
    if action == "reopen":
        return _reopen(p, r, head)
    return _move(p, r, head)


def decode(record: EventRecord) -> Event:
    """The typed event a stored record holds; :class:`Unreadable` if it does not fit."""
    head: dict[str, Any] = {"run_id": record.run_id, "seq": record.seq, "at": record.at,
                            "actor": record.actor}
    try:
        if not isinstance(record.payload, dict):
            raise _Bad(f"the payload is {type(record.payload).__name__}, not a dict")
        reader = _Payload(record.payload)
        event = _kind(reader, record, head)
    except _Bad as bad:
        return Unreadable(**head, action=record.action, from_phase=record.from_phase,
                          to_phase=record.to_phase, raw=copy.deepcopy(record.payload),
                          reason=f"{record.action} event {record.seq}: {bad}")
    extra = reader.extra()
    if extra:
        object.__setattr__(event, "extra", extra)
    return event


# ---- JSON --------------------------------------------------------------------------

#: the ``kind`` each event class has in JSON
KIND_NAMES: Mapping[type, str] = MappingProxyType({
    Started: "start", Ticked: "tick", Unticked: "untick", Voted: "vote", Moved: "move",
    MilestoneReached: "milestone", Joined: "join", Finished: "finish", FieldSet: "set",
    Reassigned: "reassign", Cancelled: "cancel", Refused: "refused", Reopened: "reopen",
    Unreadable: "unreadable",
})


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Command):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def to_json(event: Event) -> dict[str, Any]:
    """The event as plain JSON data: ``kind``, its fields under their own names, ``extra``.

    ``at`` is ISO-8601 text; tuples are lists; a :class:`Command` is its action dict.
    """
    data: dict[str, Any] = {"kind": KIND_NAMES[type(event)]}
    for item in fields(event):
        if item.name != "extra":
            data[item.name] = _plain(getattr(event, item.name))
    data["extra"] = _plain(event.extra)
    return data
