"""The run core: apply one action to a run's state, purely.

:func:`apply` takes the compiled SOP, the current :class:`RunState` (None
for ``start``), an :class:`Action`, the actor and the time, and returns the
new state plus the :class:`Change` records (events) to store — or raises a
:class:`~opsflow.runerrors.RunError`. It reads no clock and no database, so
replaying a run's stored events through it rebuilds exactly the stored
state (:func:`replay`; ``opsflow verify`` uses it).

Phase moves go through the SOP's shared ``transitions`` machine
(:mod:`opsflow.machine`): this module is the :class:`GuardContext` its
guards ask. After every action an approval that the votes have decided (and
whose voting window has passed) moves on by itself: ``approve`` once the
checklist is complete, ``reject`` at once.

Events. The first change of an action is the command itself and carries
``payload["action"]`` (the action with every choice resolved: phase,
criterion number); what follows from it (an automatic approve, a fork or
join of tracks, a milestone, the finish) are further changes without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import conditions, policy
from .authority import listing, require, roles_text, who_may
from .clock import add_duration, from_iso, to_iso
from .compiler import END
from .fieldvalues import FieldValueError, parse_value, typed_fields
from .machine import Flow, fire, flow_for
from .runerrors import NotAllowed, RunError
from .runstate import RunState, TokenState

__all__ = ["KINDS", "Action", "Change", "NotAllowed", "RunError", "apply", "replay"]

#: every action kind apply understands
KINDS = ("start", "tick", "untick", "vote", "handoff", "fire", "set", "reassign", "cancel",
         "advance")
DECISIONS = ("approve", "reject", "abstain")


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


@dataclass(frozen=True)
class Change:
    """One event to record: what happened, from which phase to which, details."""

    action: str
    from_phase: str | None
    to_phase: str | None
    payload: dict[str, Any]


class _Run:
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


# ---- actions -------------------------------------------------------------------


def _check_people(people: list[str], role: str) -> list[str]:
    clean = [p.strip() for p in people if p.strip()]
    if not clean:
        raise RunError(f"role {role} needs at least one person; name who holds it")
    return list(dict.fromkeys(clean))


def _assignments(run: _Run, given: Mapping[str, list[str]]) -> dict[str, list[str]]:
    roles = run.c["roles"]
    result = {}
    for role, people in given.items():
        if role not in roles:
            raise RunError(f"unknown role {role}; roles of this SOP: {', '.join(roles)}")
        result[role] = _check_people(list(people), role)
    return result


def _field(run: _Run, name: str, text: str) -> str:
    fields = run.c["fields"]
    if name not in fields:
        known = ", ".join(fields) or "none"
        raise RunError(f"unknown field {name}; fields of this SOP: {known}")
    try:
        return parse_value(name, fields[name], str(text))
    except FieldValueError as exc:
        raise RunError(str(exc)) from None


def _start(run: _Run, a: Mapping[str, Any]) -> None:
    title = str(a.get("title", "")).strip()
    if not title:
        raise RunError("a run needs a title; give one, like \"ACME spring campaign\"")
    run.s.assignments = _assignments(run, a.get("assignments", {}))
    run.s.fields = {n: _field(run, n, v) for n, v in a.get("fields", {}).items()}
    run.s.started_at = to_iso(run.now)
    run.record("start", None, run.c["start"], action=dict(a, kind="start"),
               sop=run.c["hash"])
    run.enter(run.c["start"], [], None)


def _criterion(run: _Run, pid: str, wanted: Any) -> int:
    items = run.phase(pid)["checklist"]
    listed = "; ".join(f"{n}. {t}" for n, t in enumerate(items, 1)) or "empty"
    text = str(wanted).strip()
    if text.isdigit():
        number = int(text)
        if 1 <= number <= len(items):
            return number
        raise RunError(f"phase {pid} has no criterion {number}; its checklist: {listed}")
    hits = [n for n, t in enumerate(items, 1) if t.lower().startswith(text.lower()) and text]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise RunError(f"no criterion of phase {pid} starts with {text!r}; its checklist: "
                       f"{listed}")
    raise RunError(f"{text!r} starts criteria {', '.join(map(str, hits))} of phase {pid}; "
                   "give more of the text, or the number")


def _matches_criterion(run: _Run, wanted: Any) -> Callable[[str], bool]:
    def fits(pid: str) -> bool:
        try:
            _criterion(run, pid, wanted)
        except RunError:
            return False
        return True

    return fits


def _tick(run: _Run, a: dict[str, Any], on: bool) -> None:
    verb = "tick" if on else "untick"
    pid = run.pick(a.get("phase"), _matches_criterion(run, a["criterion"]), verb)
    owner = run.phase(pid)["owner"]
    require(run.s, run.actor, [owner], f"{verb} the checklist of phase {pid}")
    number = _criterion(run, pid, a["criterion"])
    ticked = run.s.ticked.setdefault(pid, [])
    if (number in ticked) == on:
        state = "already" if on else "not"
        raise RunError(f"criterion {number} of phase {pid} is {state} ticked; nothing to do")
    if on:
        ticked.append(number)
        ticked.sort()
    else:
        ticked.remove(number)
    a.update(phase=pid, criterion=number)
    run.record(verb, pid, None, action=dict(a, kind=verb),
               text=run.phase(pid)["checklist"][number - 1])


def _vote(run: _Run, a: dict[str, Any]) -> None:
    decision = a["decision"]
    if decision not in DECISIONS:
        raise RunError(f"a vote is approve, reject or abstain, not {decision!r}")
    pid = run.pick(a.get("phase"), run.has_approval, "vote on")
    approval = run.phase(pid)["approval"]
    if approval is None:
        raise RunError(f"phase {pid} has no approval; nobody votes there "
                       f"(active: {listing(run.s.phases)})")
    voters = policy.eligible(approval, run.s.assignments)
    if run.actor not in voters:
        if run.actor in policy.excluded(approval, run.s.assignments) and \
                run.actor in run.s.holders(approval["by"]):
            roles = [r for r in approval["not_by"] if run.actor in run.s.assignments.get(r, [])]
            raise NotAllowed(
                f"{run.actor} may not vote on phase {pid}: {run.actor} holds "
                f"{roles_text(roles)}, which may not approve it (separation of duties); "
                f"eligible voters: {listing(voters, 'nobody')}")
        raise NotAllowed(f"{run.actor} may not vote on phase {pid}; only "
                         f"{who_may(run.s, approval['by'])} may")
    comment = str(a.get("comment") or "").strip()
    if decision == "reject" and not comment:
        raise RunError("a rejection needs a reason; say why with --comment \"…\"")
    votes = run.s.votes.setdefault(pid, {})
    previous = votes.get(run.actor, {}).get("decision")
    votes[run.actor] = {"decision": decision, "comment": comment, "at": to_iso(run.now)}
    a.update(phase=pid, comment=comment)
    run.record("vote", pid, None, action=dict(a, kind="vote"), decision=decision,
               comment=comment, replaces=previous)


def _handoff(run: _Run, a: dict[str, Any]) -> None:
    pid = run.pick(a.get("phase"), run.owns, "hand off")
    _move_on(run, pid, "handoff", a)


def _ways_on(run: _Run, pid: str) -> str:
    events = list(dict.fromkeys(r["event"] for r in run.phase(pid)["routes"]))
    if run.phase(pid)["approval"] is not None:
        return "it moves on when its approval is decided (vote with `opsflow approve` or " \
               "`opsflow reject`)"
    if not events:
        return "it is an end phase"
    return f"it moves on with: {', '.join(events)}"


def _move_on(run: _Run, pid: str, trigger: str, a: dict[str, Any]) -> None:
    if trigger not in run.flow.machine.get_triggers(pid):
        raise RunError(f"phase {pid} has no {trigger}; {_ways_on(run, pid)}")
    a.update(phase=pid)
    if not run.move(pid, trigger, action=dict(a, kind=a["kind"])):
        raise run.no_route(pid, trigger)


def _fire(run: _Run, a: dict[str, Any]) -> None:
    event = a["event"]
    if event not in run.c["events"]:
        known = ", ".join(run.c["events"]) or "none"
        raise RunError(f"unknown event {event}; events of this SOP: {known}")
    def routes_on(pid: str) -> bool:
        return any(r["event"] == event for r in run.phase(pid)["routes"])

    pid = run.pick(a.get("phase"), routes_on, f"fire {event} in")
    if not routes_on(pid):
        where = [p for p in run.c["phases"] if routes_on(p)]
        raise RunError(f"event {event} does not apply in phase {pid}; it applies in: "
                       f"{listing(where)}")
    _move_on(run, pid, event, a)


def _changers(run: _Run, key: str) -> list[str]:
    roles = [run.phase(p)[key] for p in run.s.phases]
    flat = [r for item in roles for r in (item if isinstance(item, list) else [item])]
    return [*run.sop_owner_roles(), *[r for r in flat if r]]


def _set(run: _Run, a: dict[str, Any]) -> None:
    name = a["field"]
    value = _field(run, name, a["value"])
    roles = _changers(run, "owner") + _changers(run, "accountable")
    require(run.s, run.actor, roles, f"set field {name}")
    previous = run.s.fields.get(name)
    run.s.fields[name] = value
    a.update(value=value)
    run.record("set", None, None, action=dict(a, kind="set"), field=name, value=value,
               previous=previous)


def _reassign(run: _Run, a: dict[str, Any]) -> None:
    role = a["role"]
    if role not in run.c["roles"]:
        raise RunError(f"unknown role {role}; roles of this SOP: {', '.join(run.c['roles'])}")
    people = _check_people(list(a["people"]), role)
    require(run.s, run.actor, _changers(run, "accountable"), f"reassign role {role}")
    previous = run.s.assignments.get(role, [])
    run.s.assignments[role] = people
    a.update(people=people)
    run.record("reassign", None, None, action=dict(a, kind="reassign"), role=role,
               people=people, previous=previous)


def _cancel(run: _Run, a: dict[str, Any]) -> None:
    roles = run.sop_owner_roles() or _changers(run, "owner")
    require(run.s, run.actor, roles, "cancel the run")
    phases = run.s.phases
    run.s.tokens.clear()
    run.s.status = "cancelled"
    run.s.outcome = "cancelled"
    run.s.finished_at = to_iso(run.now)
    run.record("cancel", ",".join(phases) or None, None, action=dict(a, kind="cancel"),
               reason=str(a.get("reason") or ""))


def _advance(run: _Run, a: dict[str, Any]) -> None:
    pid = run.pick(a.get("phase"), run.has_approval, "advance")
    if not run.has_approval(pid):
        raise RunError(f"phase {pid} has no approval to advance; {_ways_on(run, pid)}")
    run.decider_acts(pid)
    result = run.policy(pid)
    if result.outcome == "pending":
        raise RunError(f"the approval of phase {pid} is not decided: {result.needs}")
    _move_on(run, pid, "approve" if result.outcome == "approved" else "reject", a)


def _tick_on(run: _Run, a: dict[str, Any]) -> None:
    _tick(run, a, True)


def _tick_off(run: _Run, a: dict[str, Any]) -> None:
    _tick(run, a, False)


_ACTIONS: dict[str, Callable[[_Run, dict[str, Any]], None]] = {
    "tick": _tick_on,
    "untick": _tick_off,
    "vote": _vote,
    "handoff": _handoff,
    "fire": _fire,
    "set": _set,
    "reassign": _reassign,
    "cancel": _cancel,
    "advance": _advance,
}


def apply(compiled: Mapping[str, Any], state: RunState | None, action: Action, actor: str,
          now: dt.datetime) -> tuple[RunState, list[Change]]:
    """The state after ``actor`` did ``action`` at ``now``, and the events to store."""
    if not actor.strip():
        raise RunError("every action names the person acting; give --as NAME")
    run = _Run(compiled, state.copy() if state is not None else RunState(), actor.strip(), now)
    args = dict(action.args)
    if action.kind == "start":
        if state is not None:
            raise RunError("the run has already started")
        _start(run, args)
    else:
        handler = _ACTIONS.get(action.kind)
        if handler is None:
            raise RunError(f"unknown action {action.kind!r}; actions: {', '.join(KINDS)}")
        if run.s.status != "active":
            how = f"finished in phase {run.s.outcome}" if run.s.status == "done" else "cancelled"
            raise RunError(f"the run is {how}; it cannot change any more (start a new run)")
        args["kind"] = action.kind
        handler(run, args)
    run.settle()
    return run.s, run.changes


def replay(compiled: Mapping[str, Any], events: list[tuple[str, dt.datetime, Change]]
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
