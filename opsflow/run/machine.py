"""One ``transitions`` state machine per SOP version, shared by all its runs.

:func:`flow_for` builds a :class:`transitions.Machine` from the compiled
``states`` and ``transitions`` (``auto_transitions=False``) once per SOP hash
and caches it. The machine holds no runs. To act on a run, the run core
(:mod:`opsflow.run.context`) binds one *token* (a :class:`Token`: one active
phase of one run) to the machine with :func:`fire`, triggers one event, and unbinds it again — so an
action costs the same with 10 runs as with 100,000, and several threads can
act at once (binding, triggering and unbinding happen under the flow's lock).

Guards are the transition conditions named in the compiled data. The token
answers them by asking a :class:`GuardContext` (``RunContext`` implements it),
which may raise a domain error to refuse with a precise message, or return
False to let the next route be tried. Parallel tracks are Petri-net style:
a run holds one token per active track; the run core forks tokens when a
run enters a parallel block, and each track's ``handoff to join`` moves its
token to ``BLOCK:join``, where the ``join`` trigger (guard: all tracks have
arrived) moves on to the block's ``then`` phase.

This module decides nothing itself and touches no database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from transitions import EventData, Machine

from .compiled import GUARD_IF, CompiledSop
from .conditions import Condition

__all__ = ["Flow", "GuardContext", "Token", "clear_cache", "fire", "flow_for"]


class GuardContext(Protocol):
    """What the guards ask about the run being acted on."""

    def owner_acts(self, phase: str) -> bool: ...
    def checklist_complete(self, phase: str) -> bool: ...
    def decider_acts(self, phase: str) -> bool: ...
    def approved(self, phase: str) -> bool: ...
    def rejected(self, phase: str) -> bool: ...
    def no_quorum(self, phase: str) -> bool: ...
    def event_allowed(self, phase: str, event: str) -> bool: ...
    def all_joined(self, block: str) -> bool: ...
    def condition_holds(self, phase: str, condition: Condition) -> bool: ...
    def may_enter(self, dest: str) -> bool: ...


def _source(event: EventData) -> str:
    return str(event.state.name) if event.state is not None else ""


def _dest(event: EventData) -> str:
    return str(event.transition.dest) if event.transition is not None else ""


class Token:
    """The model bound to a flow's machine while one token of a run moves.

    ``state`` is set by ``transitions``; the ``guard:…`` attributes are the
    condition names used in compiled transitions.
    """

    state: str

    def __init__(self, context: GuardContext) -> None:
        self._context = context


_BASE_GUARDS: dict[str, Callable[[Token, EventData], bool]] = {
    "guard:owner": lambda t, e: t._context.owner_acts(_source(e)),
    "guard:checklist": lambda t, e: t._context.checklist_complete(_source(e)),
    "guard:decider": lambda t, e: t._context.decider_acts(_source(e)),
    "guard:approved": lambda t, e: t._context.approved(_source(e)),
    "guard:rejected": lambda t, e: t._context.rejected(_source(e)),
    "guard:no-quorum": lambda t, e: t._context.no_quorum(_source(e)),
    "guard:entry": lambda t, e: t._context.may_enter(_dest(e)),
    "guard:event-by": lambda t, e: t._context.event_allowed(_source(e), str(e.event.name)),
    "guard:joined": lambda t, e: t._context.all_joined(_source(e).rpartition(":")[0]),
}


def _route_guard(condition: Condition) -> Callable[[Token, EventData], bool]:
    return lambda t, e: t._context.condition_holds(_source(e), condition)


@dataclass
class Flow:
    """A cached machine with the token class whose guards its transitions name."""

    hash: str
    machine: Machine
    token_class: type[Token]
    lock: threading.RLock = field(default_factory=threading.RLock)


_CACHE: dict[str, Flow] = {}
_CACHE_LOCK = threading.Lock()


def _build(compiled: CompiledSop) -> Flow:
    guards: dict[str, Any] = dict(_BASE_GUARDS)
    for name, condition in compiled.guards.items():
        assert name.startswith(GUARD_IF)
        guards[name] = _route_guard(condition)
    token_class = type(f"Token_{compiled.sop.id}", (Token,), guards)
    machine = Machine(
        model=None,
        states=list(compiled.states),
        transitions=[t.to_json() for t in compiled.transitions],
        initial=compiled.start,
        auto_transitions=False,
        send_event=True,
        name=f"{compiled.sop.id}@{compiled.hash[:12]}",
    )
    return Flow(compiled.hash, machine, token_class)


def flow_for(compiled: CompiledSop) -> Flow:
    """The flow of a compiled SOP: built on first use, then the same object."""
    key = compiled.hash
    flow = _CACHE.get(key)
    if flow is None:
        with _CACHE_LOCK:
            flow = _CACHE.get(key)
            if flow is None:
                flow = _CACHE[key] = _build(compiled)
    return flow


def clear_cache() -> None:
    """Forget every built flow (tests use this)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def fire(flow: Flow, state: str, trigger: str, context: GuardContext) -> str | None:
    """Bind a token at ``state``, fire ``trigger``, unbind; the new state or None.

    None means no transition's guards passed (no route applies). A trigger the
    state does not know raises ``ValueError`` (the run core checks first).
    """
    machine = flow.machine
    if trigger not in machine.get_triggers(state):
        raise ValueError(f"{state} has no transition on {trigger}")
    token = flow.token_class(context)
    with flow.lock:
        machine.add_model(token, initial=state)
        try:
            moved = token.trigger(trigger)  # type: ignore[attr-defined]
        finally:
            machine.remove_model(token)
    return token.state if moved else None
