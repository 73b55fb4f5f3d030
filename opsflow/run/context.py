"""One action in progress on one run: guard answers and token moves.

A :class:`RunContext` holds a copy of the run's state while the run core
(:mod:`opsflow.run.core`) applies one action to it. It is the
:class:`~opsflow.run.machine.GuardContext` the shared ``transitions`` machine
asks (owner acting, checklist complete, approval decided, event allowed,
tracks joined, route conditions), it moves tokens through the machine
(entering phases with their due times, forking and joining parallel tracks,
reaching milestones, finishing the run), it settles approvals the votes have
decided, and it records each resulting :class:`Change` (an event to store).

It reads no clock and no database; what is acted on and when is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import conditions, policy
from .authority import listing, require
from .clock import add_duration, from_iso, to_iso
from .compiler import END
from .errors import RunError
from .fieldvalues import typed_fields
from .machine import Flow, fire, flow_for
from .state import RunState, TokenState

__all__ = ["Change", "RunContext"]


@dataclass(frozen=True)
class Change:
    """One event to record: what happened, from which phase to which, details."""

    action: str
    from_phase: str | None
    to_phase: str | None
    payload: dict[str, Any]


class RunContext:
    """One action in progress: the state being changed and the guard answers."""

    def __init__(self, compiled: Mapping[str, Any], state: RunState, actor: str,
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

    def phase(self, pid: str) -> Mapping[str, Any]:
        return self.c["phases"][pid]  # type: ignore[no-any-return]

    def has_approval(self, pid: str) -> bool:
        return self.phase(pid)["approval"] is not None

    def concerns(self, pid: str) -> bool:
        """Whether the actor owns the phase or may vote on it (to pick among phases)."""
        approval = self.phase(pid)["approval"]
        if approval is not None and self.actor in policy.eligible(approval, self.s.assignments):
            return True
        return self.owns(pid)

    def owns(self, pid: str) -> bool:
        return self.actor in self.s.holders([self.phase(pid)["owner"]])

    def sop_owner_roles(self) -> list[str]:
        owner = self.c["sop"]["owner"]
        return [owner] if owner else []

    def values(self) -> dict[str, Any]:
        return typed_fields(self.c["fields"], self.s.fields)

    def record(self, name: str, from_phase: str | None, to_phase: str | None, /,
               **payload: Any) -> None:
        self.changes.append(Change(name, from_phase, to_phase, payload))

    def policy(self, pid: str) -> policy.PolicyResult:
        approval = self.phase(pid)["approval"]
        token = self.s.token(pid)
        assert approval is not None and token is not None
        votes = {p: v["decision"] for p, v in self.s.votes.get(pid, {}).items()}
        return policy.decide(approval, policy.eligible(approval, self.s.assignments), votes,
                             self.now, policy.window_end(approval, from_iso(token.entered_at)))

    # ---- guards (machine.GuardContext) ---------------------------------------
    def owner_acts(self, pid: str) -> bool:
        require(self.s, self.actor, [self.phase(pid)["owner"]], f"hand off phase {pid}")
        return True

    def checklist_complete(self, pid: str) -> bool:
        items = self.phase(pid)["checklist"]
        ticked = self.s.ticked.get(pid, [])
        open_items = [n for n in range(1, len(items) + 1) if n not in ticked]
        if open_items:
            listed = "; ".join(f"{n}. {items[n - 1]}" for n in open_items)
            count = len(open_items)
            raise RunError(f"phase {pid} has {count} open checklist item"
                           f"{'s' if count > 1 else ''} ({listed}); tick "
                           f"{'them' if count > 1 else 'it'} first")
        return True

    def decider_acts(self, pid: str) -> bool:
        if not self.auto:
            roles = [self.phase(pid)["owner"], *self.sop_owner_roles()]
            require(self.s, self.actor, roles, f"advance phase {pid}")
        return True

    def approved(self, pid: str) -> bool:
        return self.policy(pid).outcome == "approved"

    def rejected(self, pid: str) -> bool:
        return self.policy(pid).outcome == "rejected"

    def event_allowed(self, pid: str, event: str) -> bool:
        roles = list(self.c["events"].get(event, {}).get("by", [])) or [self.phase(pid)["owner"]]
        require(self.s, self.actor, roles, f"fire event {event} in phase {pid}")
        return True

    def all_joined(self, block: str) -> bool:
        tracks = self.c["parallels"][block]["tracks"]
        return len(set(self.s.joined.get(block, []))) >= len(tracks)

    def condition_holds(self, condition: Mapping[str, Any]) -> bool:
        return conditions.holds(condition, self.values())

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
        self.leave(token, trigger)
        self.enter(dest, token.tracks, pid)
        return True

    def leave(self, token: TokenState, trigger: str) -> None:
        self.s.tokens.remove(token)
        self.s.ticked.pop(token.phase, None)
        self.s.votes.pop(token.phase, None)
        if trigger == "reject":
            return
        for ms in self.phase(token.phase)["milestones"]:
            if ms["id"] not in self.s.milestones:
                self.s.milestones[ms["id"]] = to_iso(self.now)
                self.record("milestone", token.phase, None, milestone=ms["id"], title=ms["title"])

    def enter(self, dest: str, tracks: list[list[Any]], came_from: str | None) -> None:
        if dest == END:
            self.finish(came_from or "")
        elif dest in self.c["parallels"]:
            for index, start in enumerate(self.c["parallels"][dest]["tracks"]):
                self.enter(start, [*tracks, [dest, index]], came_from)
        elif dest.endswith(":join"):
            self.join(dest, tracks)
        else:
            due = self.phase(dest)["due"]
            due_at = to_iso(add_duration(self.now, due)) if due else None
            token = TokenState(dest, to_iso(self.now), due_at, [list(t) for t in tracks])
            self.s.tokens.append(token)
            self.s.ticked.pop(dest, None)
            self.s.votes.pop(dest, None)
            if self.phase(dest)["end"] and not self.phase(dest)["checklist"]:
                self.leave(self.s.tokens[-1], "finish")
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
        for token in list(self.s.tokens):
            self.s.tokens.remove(token)
        self.record("finish", end_phase, None, outcome=end_phase)

    def settle(self) -> None:
        """Move on every approval the votes have decided (window passed)."""
        self.auto = True
        try:
            for token in list(self.s.tokens):
                pid = token.phase
                if self.s.status != "active" or self.s.token(pid) is None:
                    continue
                if self.phase(pid)["approval"] is None:
                    continue
                result = self.policy(pid)
                if result.outcome == "approved" and self.open_items(pid):
                    continue
                if result.outcome != "pending":
                    trigger = "approve" if result.outcome == "approved" else "reject"
                    self.move(pid, trigger, auto=True, tally=result.needs)
        finally:
            self.auto = False

    def open_items(self, pid: str) -> list[int]:
        ticked = self.s.ticked.get(pid, [])
        return [n for n in range(1, len(self.phase(pid)["checklist"]) + 1) if n not in ticked]

    def no_route(self, pid: str, trigger: str) -> RunError:
        values = self.values()
        reasons = []
        for route in self.phase(pid)["routes"]:
            if route["event"] != trigger or route["condition"] is None:
                continue
            text = conditions.describe(route["condition"])
            unset = conditions.unset_fields(route["condition"], values)
            reasons.append(f"`{text}`: {', '.join(unset)} not set" if unset
                           else f"`{text}` is false")
        return RunError(f"no {trigger} route of phase {pid} applies ({'; '.join(reasons)}); "
                        "set the fields it needs with `opsflow set` and try again")

    # ---- choosing a phase -------------------------------------------------------
    def pick(self, requested: str | None, fits: Callable[[str], bool], what: str) -> str:
        active = self.s.phases
        if requested:
            if requested not in active:
                raise RunError(f"phase {requested} is not active in this run "
                               f"(active: {listing(active)}); name an active phase")
            return requested
        if len(active) == 1:
            return active[0]
        fitting = [p for p in active if fits(p)]
        if len(fitting) > 1:
            fitting = [p for p in fitting if self.concerns(p)] or fitting
        if len(fitting) == 1:
            return fitting[0]
        raise RunError(f"the run has {len(active)} active phases ({listing(active)}); "
                       f"name the one to {what} with --phase")
