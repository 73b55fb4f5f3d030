"""The run core: apply one action to a run's state, purely.

:func:`apply` takes the compiled SOP, the current :class:`RunState` (None
for ``start``), an :class:`Action`, the actor and the time, and returns the
new state plus the :class:`Change` records (events) to store — or raises a
:class:`~opsflow.run.errors.RunError`. It reads no clock and no database, so
replaying a run's stored events through it rebuilds exactly the stored
state (:func:`replay`; ``opsflow verify`` uses it).

The actions themselves are in :mod:`opsflow.run.actions`; phase moves go
through the SOP's shared ``transitions`` machine, whose guards ask the
:class:`~opsflow.run.context.RunContext` of the action in progress. After
every action an approval that the votes have decided (and whose voting
window has passed) moves on by itself: ``approve`` once the checklist is
complete, ``reject`` at once.

Events. The first change of an action is the command itself and carries
``payload["action"]`` (the action with every choice resolved: phase,
criterion number); what follows from it (an automatic approve, a fork or
join of tracks, a milestone, the finish) are further changes without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .actions import ACTIONS, start
from .compiled import CompiledSop
from .context import Change, RunContext
from .errors import NotAllowed, RunError
from .people import person_key
from .state import RunState
from .text import bad_text, shown

__all__ = ["KINDS", "Action", "Change", "NotAllowed", "RunError", "apply", "replay"]

#: every action kind apply understands
KINDS = ("start", "tick", "untick", "vote", "handoff", "fire", "set", "reassign", "cancel",
         "advance")


@dataclass(frozen=True)
class Action:
    """One thing a person does to a run, with its arguments (plain data)."""

    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.args}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        args = dict(data)
        return cls(args.pop("kind"), args)


#: each action's arguments: name -> (accepted types, required)
_TEXT = (str,)
_ARGS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "start": {"title": (_TEXT, True), "assignments": ((dict,), False),
              "fields": ((dict,), False)},
    "tick": {"criterion": ((int, str), True), "phase": (_TEXT, False)},
    "untick": {"criterion": ((int, str), True), "phase": (_TEXT, False)},
    "vote": {"decision": (_TEXT, True), "comment": (_TEXT, False), "phase": (_TEXT, False)},
    "handoff": {"phase": (_TEXT, False)},
    "fire": {"event": (_TEXT, True), "comment": (_TEXT, False), "phase": (_TEXT, False)},
    "set": {"field": (_TEXT, True), "value": (_TEXT, True)},
    "reassign": {"role": (_TEXT, True), "people": ((list, tuple), True)},
    "cancel": {"reason": (_TEXT, False)},
    "advance": {"phase": (_TEXT, False)},
}
#: the longest text argument (a comment, a reason, a title), in characters
MAX_TEXT = 10_000


def _check_args(kind: str, args: Mapping[str, Any]) -> None:
    """Refuse arguments of the wrong type, unknown ones and missing ones (library callers)."""
    spec = _ARGS[kind]
    for name, value in args.items():
        if name not in spec:
            raise RunError(f"{kind} takes no argument {name!r}",
                           f"its arguments: {', '.join(spec)}", code="bad-argument")
        types, _ = spec[name]
        if isinstance(value, bool) or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise RunError(f"argument {name} of {kind} must be {wanted}, not "
                           f"{type(value).__name__}", f"give {name} as {wanted}",
                           code="bad-argument")
        bad = bad_text(value)
        if bad is not None:
            raise RunError(f"argument {name} of {kind} holds bytes that are not UTF-8 "
                           f"({shown(bad)[:80]})", "give it as UTF-8 text", code="bad-argument")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise RunError(f"argument {name} of {kind} is {len(value)} characters long; at "
                           f"most {MAX_TEXT} are allowed", "shorten it", code="bad-argument")
    missing = [n for n, (_, required) in spec.items() if required and n not in args]
    if missing:
        raise RunError(f"{kind} needs {', '.join(missing)}", f"give {', '.join(missing)}",
                       code="bad-argument")


def apply(compiled: CompiledSop, state: RunState | None, action: Action, actor: str,
          now: dt.datetime) -> tuple[RunState, list[Change]]:
    """The state after ``actor`` did ``action`` at ``now``, and the events to store."""
    key = person_key(actor, "the person acting")
    if action.kind not in _ARGS:
        raise RunError(f"unknown action {action.kind!r}", f"actions: {', '.join(KINDS)}",
                       code="bad-argument")
    args = dict(action.args)
    _check_args(action.kind, args)
    fresh = state.copy() if state is not None else RunState()
    run = RunContext(compiled, fresh, key, now)
    if action.kind == "start":
        if state is not None:
            raise RunError("the run has already started", "act on it instead")
        start(run, args)
    else:
        handler = ACTIONS[action.kind]
        if run.s.status != "active":
            how = f"finished in phase {run.s.outcome}" if run.s.status == "done" else "cancelled"
            raise RunError(f"the run is {how}; it cannot change any more", "start a new run",
                           code="run-over")
        args["kind"] = action.kind
        handler(run, args)
    run.settle()
    return run.s, run.changes


def replay(compiled: CompiledSop, events: list[tuple[str, dt.datetime, Change]]
           ) -> tuple[RunState | None, list[str]]:
    """Rebuild a run from its events ``(actor, at, change)``; also the mismatches found.

    Each command event is applied again; the events it produces must equal
    the stored ones that follow it. Refused attempts are skipped.
    """
    state: RunState | None = None
    problems: list[str] = []
    i = 0
    while i < len(events):
        actor, at, change = events[i]
        if "action" not in change.payload:
            if change.action != "refused":
                problems.append(f"event {i + 1} ({change.action}) follows from no action")
            i += 1
            continue
        try:
            state, produced = apply(compiled, state, Action.from_dict(change.payload["action"]),
                                    actor, at)
        except RunError as exc:
            problems.append(f"event {i + 1} ({change.action}) cannot be replayed: {exc}")
            i += 1
            continue
        stored = [e[2] for e in events[i:i + len(produced)]]
        if stored != produced:
            which = f"event {i + 1} differs" if len(produced) == 1 else \
                f"events {i + 1}-{i + len(produced)} differ"
            problems.append(f"{which} from what {change.action} produces on replay")
        i += len(produced)
    return state, problems
