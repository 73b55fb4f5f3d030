"""Compile a checked SOP into the run stage's :class:`~opsflow.run.compiled.CompiledSop`.

:func:`compile_sop` reads a :class:`~opsflow.lang.model.Sop` (after the
checks passed) and emits the typed, frozen compiled SOP: roles, fields
(with their rules), events, and per phase its owner, RACI, checklist texts,
approval policy, due time, routes (conditions as
:mod:`opsflow.run.conditions` values), milestones and track; plus the
``states`` and ``transitions`` of its ``transitions`` machine. Transition
conditions are guard names the run core answers (see
:mod:`opsflow.run.machine`): the trigger's own guards, then the route's
condition (``guard:if:PHASE:N``), then :data:`~opsflow.run.compiled.ENTRY`
(what the destination requires).

An approval phase that names no ``no-quorum`` route gets ``no-quorum``
transitions along its reject routes: a vote that can no longer reach its
quorum is recorded as such, and goes where a rejection goes.

This module does not run anything and reads no file except the included
texts that :func:`sop_hash` covers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ..lang import model as m
from . import conditions as cond
from .compiled import (
    END,
    ENTRY,
    EVENT_GUARDS,
    GUARD_IF,
    GUARDS,
    ApprovalSpec,
    CompiledSop,
    DurationSpec,
    EventSpec,
    FieldSpec,
    IncludedFile,
    MilestoneSpec,
    ParallelSpec,
    PhaseSpec,
    QuorumSpec,
    RouteSpec,
    SopInfo,
    TransitionSpec,
    join_state,
    no_quorum_transitions,
)
from .sophash import hash_texts, read_text

__all__ = ["compile_sop", "condition_of", "sop_hash"]


def _included_texts(sop: m.Sop) -> list[str | None]:
    return [read_text(i.resolved) for i in sop.includes]


def sop_hash(sop: m.Sop, texts: list[str | None] | None = None) -> str:
    """The hash that pins runs to this SOP (source plus included files)."""
    if texts is None:
        texts = _included_texts(sop)
    return hash_texts(sop.source, (t or "" for t in texts))


def condition_of(c: m.Condition) -> cond.Condition:
    """A model condition as a run-time condition (no spans, literals as text)."""
    if isinstance(c, m.Compare):
        return cond.Compare(c.field.name, c.op, cond.Literal(c.value.kind, str(c.value.value)))
    if isinstance(c, m.Member):
        return cond.OneOf(c.field.name,
                          tuple(cond.Literal(v.kind, str(v.value)) for v in c.values), c.negated)
    if isinstance(c, m.And):
        return cond.AllOf(tuple(condition_of(i) for i in c.items))
    if isinstance(c, m.Or):
        return cond.AnyOf(tuple(condition_of(i) for i in c.items))
    return cond.Negate(condition_of(c.item))


def _duration(d: m.Duration | None) -> DurationSpec | None:
    return None if d is None else DurationSpec(d.amount, d.unit)


def _names(refs: tuple[m.Ref, ...]) -> tuple[str, ...]:
    return tuple(r.name for r in refs)


def _approval(a: m.Approval | None) -> ApprovalSpec | None:
    if a is None:
        return None
    q = a.quorum
    return ApprovalSpec(
        by=_names(a.by), quorum=QuorumSpec(q.kind, q.count, q.numerator, q.denominator),
        veto=a.veto, not_by=_names(a.not_by), window=_duration(a.window),
        reopen_on_change=a.reopen_on_change)


def _milestone(ms: m.Milestone) -> MilestoneSpec:
    due = ms.due if isinstance(ms.due, dt.date) else _duration(ms.due)
    return MilestoneSpec(ms.id, ms.title, ms.owner.name, due)


def _phase(phase: m.Phase, track_of: dict[str, str], transitions: list[TransitionSpec],
           guards: dict[str, cond.Condition]) -> PhaseSpec:
    routes = []
    own: list[TransitionSpec] = []
    for index, route in enumerate(phase.routes):
        event = route.event.name
        if route.target.name == m.JOIN:
            dest = join_state(track_of.get(phase.id, ""))
        else:
            dest = route.target.name
        names = list(GUARDS.get(event, EVENT_GUARDS))
        condition = None if route.condition is None else condition_of(route.condition)
        if condition is not None:
            name = f"{GUARD_IF}{phase.id}:{index}"
            guards[name] = condition
            names.append(name)
        own.append(TransitionSpec(event, phase.id, dest, (*names, ENTRY)))
        routes.append(RouteSpec(event, route.target.name, dest, condition))
    if phase.end and phase.checklist:
        own.append(TransitionSpec("handoff", phase.id, END, (*GUARDS["handoff"], ENTRY)))
    spec = PhaseSpec(
        id=phase.id, title=phase.title, owner=phase.owner.name if phase.owner else "",
        description=phase.description, accountable=_names(phase.accountable),
        consulted=_names(phase.consulted), informed=_names(phase.informed),
        due=_duration(phase.due), checklist=tuple(c.text for c in phase.checklist),
        approval=_approval(phase.approval), routes=tuple(routes),
        milestones=tuple(_milestone(ms) for ms in phase.milestones), end=phase.end,
        track=track_of.get(phase.id))
    transitions += own
    transitions += no_quorum_transitions(spec, own)
    return spec


def _field(f: m.Field) -> FieldSpec:
    return FieldSpec(
        f.id, f.title, f.type.kind, tuple(f.type.choices),
        required=f.required,
        required_before=_names(f.required_before),
        set_by=_names(f.set_by))


def compile_sop(sop: m.Sop, files: Mapping[str, str] | None = None) -> CompiledSop:
    """The compiled form of a checked SOP (see the module docstring).

    ``files``: the text of every file the SOP included, at any depth, by
    resolved path (as :func:`opsflow.api.load_with_files` gives them); they
    are pinned with it so that a run renders from them, never from disk.
    Without it, the SOP's own includes are read again.
    """
    track_of = sop.track_of()
    transitions: list[TransitionSpec] = []
    guards: dict[str, cond.Condition] = {}
    phases = {p.id: _phase(p, track_of, transitions, guards) for p in sop.phases}
    parallels = {}
    for block in sop.parallels:
        then = block.then.name if block.then else None
        parallels[block.id] = ParallelSpec(block.id, block.title, _names(block.tracks), then)
        if then is not None:
            transitions.append(TransitionSpec("join", join_state(block.id), then,
                                              ("guard:joined",)))
    states = [*phases, *(s for b in parallels for s in (b, join_state(b)))]
    if any(p.end and p.checklist for p in phases.values()):
        states.append(END)
    texts = _included_texts(sop) if files is None else [
        files.get(i.resolved) for i in sop.includes]
    pinned = dict(files) if files is not None else {
        i.resolved: text for i, text in zip(sop.includes, texts, strict=True) if text is not None}
    return CompiledSop(
        hash=sop_hash(sop, texts),
        sop=SopInfo(sop.id, sop.title, sop.version, sop.owner.name if sop.owner else None,
                    sop.path, tuple(IncludedFile(path, text) for path, text in pinned.items())),
        start=sop.start,
        states=tuple(states),
        transitions=tuple(transitions),
        guards=guards,
        roles={r.id: r.title for r in sop.roles},
        fields={f.id: _field(f) for f in sop.fields},
        events={e.id: EventSpec(e.id, e.title, _names(e.by)) for e in sop.events},
        phases=phases,
        parallels=parallels,
    )
