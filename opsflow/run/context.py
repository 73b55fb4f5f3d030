"""One action in progress on one run: guard answers and token moves.

A :class:`RunContext` holds a copy of the run's state while the run core
(:mod:`opsflow.run.core`) applies one action to it. It is the
:class:`~opsflow.run.machine.GuardContext` the shared ``transitions``
machine asks (owner acting, checklist complete, approval decided, event
allowed, tracks joined, route conditions, what the destination requires);
it moves tokens through the machine (entering phases with their due times,
forking and joining parallel tracks, reaching milestones, finishing the
run), settles approvals the votes have decided, and records each resulting
:class:`Change` (an event to store).

Rules that live here:

* a route condition that reads a field which is not set is never treated
  as false: the move is refused, naming the field;
* a phase (or a parallel block) that needs fields set before it is entered
  refuses every move into it until they are;
* leaving an approval through a granted vote adds it to
  :attr:`RunState.granted`, which freezes the fields its routes read;
  entering that phase again releases them;
* entering a parallel block starts it afresh (no track is remembered as
  joined from an earlier visit).

It reads no clock and no database; what is acted on and when is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import conditions, policy
from .authority import listing, require
from .clock import add_duration, from_iso, to_iso
from .compiled import END, NO_QUORUM, CompiledSop, PhaseSpec
from .conditions import Condition
from .errors import RunError
from .fieldvalues import Scalar, typed_fields
from .machine import Flow, fire, flow_for
from .state import RunState, TokenState

__all__ = ["Change", "RunContext"]

#: the trigger of each decided outcome
TRIGGERS = {"approved": "approve", "rejected": "reject", "no quorum": NO_QUORUM}


@dataclass(frozen=True)
class Change:
    """One event to record: what happened, from which phase to which, details."""

    action: str
    from_phase: str | None
    to_phase: str | None
    payload: dict[str, Any]


class RunContext:
    """One action in progress: the state being changed and the guard answers."""

    def __init__(self, compiled: CompiledSop, state: RunState, actor: str,
                 now: dt.datetime) -> None:
        self.c = compiled
        self.s = state
        self.actor = actor
        self.now = now
        self.changes: list[Change] = []
        self.auto = False
        self._flow: Flow | None = None

    # ---- lookups ---------------------------------------------------------
    @property
    def flow(self) -> Flow:
        if self._flow is None:
            self._flow = flow_for(self.c)
        return self._flow

    def phase(self, pid: str) -> PhaseSpec:
        return self.c.phases[pid]

    def has_approval(self, pid: str) -> bool:
        return self.phase(pid).approval is not None

    def voters(self, pid: str) -> list[str]:
        approval = self.phase(pid).approval
        return [] if approval is None else policy.eligible(approval, self.s)

    def concerns(self, pid: str) -> bool:
        """Whether the actor owns the phase or may vote on it (to pick among phases)."""
        return self.actor in self.voters(pid) or self.owns(pid)

    def owns(self, pid: str) -> bool:
        return self.actor in self.s.holders([self.phase(pid).owner])

    def authority_roles(self) -> list[str]:
        """Who may reassign and cancel (:meth:`CompiledSop.authority_roles`)."""
        return self.c.authority_roles(self.s.phases)

    def values(self) -> dict[str, Scalar]:
        return typed_fields(self.c.fields, self.s.fields)

    def record(self, name: str, from_phase: str | None, to_phase: str | None, /,
               **payload: Any) -> None:
        self.changes.append(Change(name, from_phase, to_phase, payload))

    def policy(self, pid: str) -> policy.PolicyResult:
        approval = self.phase(pid).approval
        token = self.s.token(pid)
        assert approval is not None and token is not None
        votes = {p: v["decision"] for p, v in self.s.votes.get(pid, {}).items()}
        return policy.decide(approval, policy.eligible(approval, self.s), votes, self.now,
                             policy.window_end(approval, from_iso(token.entered_at)))

    def open_items(self, pid: str) -> list[int]:
        ticked = self.s.ticked.get(pid, [])
        return [n for n in range(1, len(self.phase(pid).checklist) + 1) if n not in ticked]

    # ---- guards (machine.GuardContext) ---------------------------------------
    def owner_acts(self, pid: str) -> bool:
        require(self.s, self.actor, [self.phase(pid).owner], f"hand off phase {pid}")
        return True

    def checklist_complete(self, pid: str) -> bool:
        items = self.phase(pid).checklist
        open_items = self.open_items(pid)
        if open_items:
            listed = "; ".join(f"{n}. {items[n - 1]}" for n in open_items)
            count = len(open_items)
            raise RunError(f"phase {pid} has {count} open checklist item"
                           f"{'s' if count > 1 else ''} ({listed})",
                           f"tick {'them' if count > 1 else 'it'} first", code="open-items")
        return True

    def decider_acts(self, pid: str) -> bool:
        if not self.auto:
            roles = [self.phase(pid).owner, *self.c.owner_roles()]
            require(self.s, self.actor, roles, f"advance phase {pid}")
        return True

    def approved(self, pid: str) -> bool:
        return self.policy(pid).outcome == "approved"

    def rejected(self, pid: str) -> bool:
        return self.policy(pid).outcome == "rejected"

    def no_quorum(self, pid: str) -> bool:
        return self.policy(pid).outcome == "no quorum"

    def event_allowed(self, pid: str, event: str) -> bool:
        spec = self.c.events.get(event)
        roles = list(spec.by) if spec is not None and spec.by else [self.phase(pid).owner]
        require(self.s, self.actor, roles, f"fire event {event} in phase {pid}")
        return True

    def all_joined(self, block: str) -> bool:
        tracks = self.c.parallels[block].tracks
        return len(set(self.s.joined.get(block, []))) >= len(tracks)

    def condition_holds(self, pid: str, condition: Condition) -> bool:
        values = self.values()
        result = conditions.evaluate(condition, values)
        if result is None:
            unset = conditions.unset_fields(condition, values)
            fields = listing(unset)
            raise RunError(
                f"phase {pid} cannot choose its route: `{conditions.describe(condition)}` "
                f"reads {'fields' if len(unset) > 1 else 'field'} {fields}, which "
                f"{'are' if len(unset) > 1 else 'is'} not set",
                f"set {fields} first", code="field-unset")
        return result

    def may_enter(self, dest: str) -> bool:
        missing = self.missing_before(dest)
        if missing:
            fields = listing(missing)
            where = f"parallel block {dest}" if dest in self.c.parallels else f"phase {dest}"
            raise RunError(f"{where} needs {'fields' if len(missing) > 1 else 'field'} "
                           f"{fields} set before the run enters it", f"set {fields} first",
                           code="field-unset")
        return True

    def missing_before(self, dest: str) -> list[str]:
        """The fields that must be set before ``dest`` is entered and are not."""
        if dest in self.c.parallels:
            targets = set(self.c.parallels[dest].tracks) | {dest}
        else:
            targets = {dest}
        return [f.id for f in self.c.fields.values()
                if targets & set(f.required_before) and f.id not in self.s.fields]

    # ---- moving tokens --------------------------------------------------------
    def move(self, pid: str, trigger: str, **payload: Any) -> bool:
        """Fire ``trigger`` on the token in ``pid``; False when no route applies."""
        token = self.s.token(pid)
        assert token is not None
        dest = fire(self.flow, pid, trigger, self)
        if dest is None:
            return False
        shown: str | None = dest
        if dest.endswith(":join"):
            shown = "join"
        elif dest == END:
            shown = None
        self.record(trigger, pid, shown, **payload)
        if trigger == "approve":
            self.s.granted.append(pid)
        self.leave(token, trigger)
        self.enter(dest, token.tracks, pid)
        return True

    def leave(self, token: TokenState, trigger: str) -> None:
        self.s.tokens.remove(token)
        self.s.ticked.pop(token.phase, None)
        self.s.votes.pop(token.phase, None)
        if trigger in ("reject", NO_QUORUM):
            return
        for ms in self.phase(token.phase).milestones:
            if ms.id not in self.s.milestones:
                self.s.milestones[ms.id] = to_iso(self.now)
                self.record("milestone", token.phase, None, milestone=ms.id, title=ms.title)

    def enter(self, dest: str, tracks: list[list[Any]], came_from: str | None) -> None:
        if dest == END:
            self.finish(came_from or "")
        elif dest in self.c.parallels:
            self.s.joined.pop(dest, None)  # a block entered again starts afresh
            for index, start in enumerate(self.c.parallels[dest].tracks):
                self.enter(start, [*tracks, [dest, index]], came_from)
        elif dest.endswith(":join"):
            self.join(dest, tracks)
        else:
            phase = self.phase(dest)
            due_at = to_iso(add_duration(self.now, phase.due)) if phase.due else None
            token = TokenState(dest, to_iso(self.now), due_at, [list(t) for t in tracks])
            self.s.tokens.append(token)
            self.s.ticked.pop(dest, None)
            self.s.votes.pop(dest, None)
            if phase.approval is not None and dest in self.s.granted:  # decided afresh
                self.s.granted.remove(dest)
            if phase.end and not phase.checklist:
                self.leave(token, "finish")
                self.finish(dest)

    def join(self, dest: str, tracks: list[list[Any]]) -> None:
        block = dest.rpartition(":")[0]
        index = int(tracks[-1][1]) if tracks and tracks[-1][0] == block else -1
        arrived = self.s.joined.setdefault(block, [])
        if index not in arrived:
            arrived.append(index)
        then = fire(self.flow, dest, "join", self)
        if then is None:
            return
        self.s.joined.pop(block, None)
        self.record("join", block, then)
        self.enter(then, tracks[:-1], block)

    def finish(self, end_phase: str) -> None:
        self.s.status = "done"
        self.s.outcome = end_phase
        self.s.finished_at = to_iso(self.now)
        self.clear_tokens()
        self.record("finish", end_phase, None, outcome=end_phase)

    def clear_tokens(self) -> None:
        """End every active phase (the run finished or was cancelled): no ticks, votes or
        joined tracks stay behind."""
        for token in self.s.tokens:
            self.s.ticked.pop(token.phase, None)
            self.s.votes.pop(token.phase, None)
        self.s.tokens.clear()
        self.s.joined.clear()

    def settle(self) -> None:
        """Move on every approval the votes have decided (window passed).

        An approval that is decided but cannot move yet (open checklist items
        after an approval, a route reading a field not set, a destination that
        needs a field) stays where it is; status says why.
        """
        self.auto = True
        try:
            for token in list(self.s.tokens):
                pid = token.phase
                if self.s.status != "active" or self.s.token(pid) is None:
                    continue
                if self.phase(pid).approval is None:
                    continue
                result = self.policy(pid)
                if result.outcome == "pending":
                    continue
                if result.outcome == "approved" and self.open_items(pid):
                    continue
                try:
                    self.move(pid, TRIGGERS[result.outcome], auto=True, tally=result.needs)
                except RunError:
                    continue  # decided, but blocked: nothing changed (guards run first)
        finally:
            self.auto = False

    def no_route(self, pid: str, trigger: str) -> RunError:
        values = self.values()
        reasons = [f"`{conditions.describe(r.condition)}` is false"
                   for r in self.phase(pid).routes_on(trigger)
                   if r.condition is not None and conditions.evaluate(r.condition, values)
                   is False]
        return RunError(f"no {trigger} route of phase {pid} applies ({'; '.join(reasons)})",
                        "change the fields its routes read, or take another route",
                        code="no-route")

    # ---- choosing a phase -------------------------------------------------------
    def pick(self, requested: str | None, fits: Callable[[str], bool], what: str) -> str:
        active = self.s.phases
        if requested:
            if requested not in active:
                raise RunError(f"phase {requested} is not active in this run "
                               f"(active: {listing(active)})", "name an active phase",
                               code="pick-phase")
            return requested
        if len(active) == 1:
            return active[0]
        fitting = [p for p in active if fits(p)]
        if len(fitting) > 1:
            fitting = [p for p in fitting if self.concerns(p)] or fitting
        if len(fitting) == 1:
            return fitting[0]
        raise RunError(f"the run has {len(active)} active phases ({listing(active)})",
                       f"name the one to {what}", code="pick-phase")
