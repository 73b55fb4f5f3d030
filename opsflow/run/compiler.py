"""Stage 4: compile a checked SOP into plain data for the run engine.

:func:`compile_sop` turns a :class:`~opsflow.lang.model.Sop` into a JSON-serialisable
dict. Its ``states`` and ``transitions`` are exactly what
``transitions.Machine(states=..., transitions=..., auto_transitions=False)``
takes: conditions are names the engine's token model answers (see
:mod:`opsflow.run.machine`). The rest is what the run engine needs at run time
without the parser: roles, fields, events, and per phase its owner, RACI,
checklist texts, approval policy, due time, routes (conditions as plain data,
see :mod:`opsflow.run.conditions`), milestones and parallel blocks.

Machine states: every phase; every parallel block id (entering it forks one
token per track); ``BLOCK:join`` per block (a track's ``handoff to join``
goes there; the ``join`` trigger moves on to the block's ``then`` once all
tracks have arrived); ``:end`` (an end phase with a checklist goes there on
``handoff``). The colon cannot appear in a name in the language, so these
never clash with a phase.

The compiled dict is stored in the database beside the SOP source, so
status and actions never need the parser. This module does not run anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..lang import model as m
from .sophash import hash_texts, read_text

__all__ = ["END", "FORMAT", "GUARD_IF", "compile_sop", "condition_data", "join_state", "sop_hash"]

#: bump when the shape of the compiled dict changes
FORMAT = 1
#: the state a finished end phase's token moves to
END = ":end"
#: prefix of the guard names of route conditions
GUARD_IF = "guard:if:"

_GUARDS = {
    "handoff": ["guard:owner", "guard:checklist"],
    "approve": ["guard:decider", "guard:checklist", "guard:approved"],
    "reject": ["guard:decider", "guard:rejected"],
}


def join_state(block: str) -> str:
    """The machine state where the tracks of a parallel block wait for each other."""
    return f"{block}:join"


def sop_hash(sop: m.Sop) -> str:
    """The hash that pins runs to this SOP (source plus included files)."""
    return hash_texts(sop.source, (read_text(i.resolved) or "" for i in sop.includes))


def _value_data(value: m.Value) -> dict[str, str]:
    return {"kind": value.kind, "value": str(value.value)}


def condition_data(cond: m.Condition) -> dict[str, Any]:
    """A model condition as plain JSON-serialisable data."""
    if isinstance(cond, m.Compare):
        return {"compare": cond.field.name, "op": cond.op, "value": _value_data(cond.value)}
    if isinstance(cond, m.Member):
        return {"member": cond.field.name, "values": [_value_data(v) for v in cond.values],
                "negated": cond.negated}
    if isinstance(cond, m.And):
        return {"and": [condition_data(c) for c in cond.items]}
    if isinstance(cond, m.Or):
        return {"or": [condition_data(c) for c in cond.items]}
    return {"not": condition_data(cond.item)}


def _duration(d: m.Duration | None) -> dict[str, Any] | None:
    return None if d is None else {"amount": d.amount, "unit": d.unit}


def _names(refs: tuple[m.Ref, ...]) -> list[str]:
    return [r.name for r in refs]


def _approval(a: m.Approval | None) -> dict[str, Any] | None:
    if a is None:
        return None
    q = a.quorum
    return {
        "by": _names(a.by),
        "quorum": {"kind": q.kind, "count": q.count, "numerator": q.numerator,
                   "denominator": q.denominator},
        "veto": a.veto,
        "not_by": _names(a.not_by),
        "window": _duration(a.window),
    }


def _milestone(ms: m.Milestone) -> dict[str, Any]:
    due: dict[str, Any] | None
    if isinstance(ms.due, dt.date):
        due = {"date": ms.due.isoformat()}
    else:
        due = _duration(ms.due)
    return {"id": ms.id, "title": ms.title, "owner": ms.owner.name, "due": due}


def _route_dest(route: m.Route, track_of: dict[str, str], phase: m.Phase) -> str:
    if route.target.name == m.JOIN:
        return join_state(track_of.get(phase.id, ""))
    return route.target.name


def _phase(
    phase: m.Phase, track_of: dict[str, str], transitions: list[dict[str, Any]],
    guards: dict[str, Any],
) -> dict[str, Any]:
    routes = []
    for index, route in enumerate(phase.routes):
        event = route.event.name
        dest = _route_dest(route, track_of, phase)
        conditions = list(_GUARDS.get(event, ["guard:event-by"]))
        cond = condition_data(route.condition) if route.condition is not None else None
        if cond is not None:
            name = f"{GUARD_IF}{phase.id}:{index}"
            guards[name] = cond
            conditions.append(name)
        transitions.append({"trigger": event, "source": phase.id, "dest": dest,
                            "conditions": conditions})
        routes.append({"event": event, "target": route.target.name, "dest": dest,
                       "condition": cond})
    if phase.end and phase.checklist:
        transitions.append({"trigger": "handoff", "source": phase.id, "dest": END,
                            "conditions": list(_GUARDS["handoff"])})
    return {
        "title": phase.title,
        "description": phase.description,
        "owner": phase.owner.name if phase.owner else None,
        "accountable": _names(phase.accountable),
        "consulted": _names(phase.consulted),
        "informed": _names(phase.informed),
        "due": _duration(phase.due),
        "checklist": [c.text for c in phase.checklist],
        "approval": _approval(phase.approval),
        "routes": routes,
        "milestones": [_milestone(ms) for ms in phase.milestones],
        "end": phase.end,
        "track": track_of.get(phase.id),
    }


def compile_sop(sop: m.Sop) -> dict[str, Any]:
    """The plain-data form of a checked SOP (see the module docstring)."""
    track_of = sop.track_of()
    transitions: list[dict[str, Any]] = []
    guards: dict[str, Any] = {}
    phases = {p.id: _phase(p, track_of, transitions, guards) for p in sop.phases}
    parallels: dict[str, Any] = {}
    for block in sop.parallels:
        parallels[block.id] = {"title": block.title, "tracks": _names(block.tracks),
                               "then": block.then.name if block.then else None}
        if block.then is not None:
            transitions.append({"trigger": "join", "source": join_state(block.id),
                                "dest": block.then.name, "conditions": ["guard:joined"]})
    states = list(phases) + [s for b in parallels for s in (b, join_state(b))]
    if any(p["end"] and p["checklist"] for p in phases.values()):
        states.append(END)
    return {
        "format": FORMAT,
        "hash": sop_hash(sop),
        "sop": {"id": sop.id, "title": sop.title, "version": sop.version,
                "owner": sop.owner.name if sop.owner else None, "path": sop.path,
                "includes": [i.resolved for i in sop.includes]},
        "start": sop.start,
        "states": states,
        "transitions": transitions,
        "guards": guards,
        "roles": {r.id: r.title for r in sop.roles},
        "fields": {f.id: {"title": f.title, "type": f.type.kind, "choices": list(f.type.choices)}
                   for f in sop.fields},
        "events": {e.id: {"title": e.title, "by": _names(e.by)} for e in sop.events},
        "phases": phases,
        "parallels": parallels,
    }
