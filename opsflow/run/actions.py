"""The actions a person can take on a run, one function each.

Each handler gets the :class:`~opsflow.run.context.RunContext` of the action
in progress and the action's arguments; it checks the actor's authority and
the input, changes the state, records the command's :class:`Change` (with
``payload["action"]``: the action with every choice resolved, so that replay
repeats it exactly) and moves tokens through the machine where the action
does. Handlers raise :class:`~opsflow.run.errors.RunError` (or
:class:`~opsflow.run.errors.NotAllowed`) to refuse. :data:`ACTIONS` maps each
action kind to its handler; ``start`` is :func:`start`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import policy
from .authority import listing, require, roles_text, who_may
from .clock import to_iso
from .context import RunContext
from .errors import NotAllowed, RunError
from .fieldvalues import FieldValueError, parse_value

__all__ = ["ACTIONS", "DECISIONS", "start"]

DECISIONS = ("approve", "reject", "abstain")


def _check_people(people: list[str], role: str) -> list[str]:
    clean = [p.strip() for p in people if p.strip()]
    if not clean:
        raise RunError(f"role {role} needs at least one person; name who holds it")
    return list(dict.fromkeys(clean))


def _assignments(run: RunContext, given: Mapping[str, list[str]]) -> dict[str, list[str]]:
    roles = run.c["roles"]
    result = {}
    for role, people in given.items():
        if role not in roles:
            raise RunError(f"unknown role {role}; roles of this SOP: {', '.join(roles)}")
        result[role] = _check_people(list(people), role)
    return result


def _field(run: RunContext, name: str, text: str) -> str:
    fields = run.c["fields"]
    if name not in fields:
        known = ", ".join(fields) or "none"
        raise RunError(f"unknown field {name}; fields of this SOP: {known}")
    try:
        return parse_value(name, fields[name], str(text))
    except FieldValueError as exc:
        raise RunError(str(exc)) from None


def start(run: RunContext, a: Mapping[str, Any]) -> None:
    title = str(a.get("title", "")).strip()
    if not title:
        raise RunError("a run needs a title; give one, like \"ACME spring campaign\"")
    run.s.assignments = _assignments(run, a.get("assignments", {}))
    run.s.fields = {n: _field(run, n, v) for n, v in a.get("fields", {}).items()}
    run.s.started_at = to_iso(run.now)
    run.record("start", None, run.c["start"], action=dict(a, kind="start"),
               sop=run.c["hash"])
    run.enter(run.c["start"], [], None)


def _criterion(run: RunContext, pid: str, wanted: Any) -> int:
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


def _matches_criterion(run: RunContext, wanted: Any) -> Callable[[str], bool]:
    def fits(pid: str) -> bool:
        try:
            _criterion(run, pid, wanted)
        except RunError:
            return False
        return True

    return fits


def _tick(run: RunContext, a: dict[str, Any], on: bool) -> None:
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


def _vote(run: RunContext, a: dict[str, Any]) -> None:
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


def _handoff(run: RunContext, a: dict[str, Any]) -> None:
    pid = run.pick(a.get("phase"), run.owns, "hand off")
    _move_on(run, pid, "handoff", a)


def _ways_on(run: RunContext, pid: str) -> str:
    events = list(dict.fromkeys(r["event"] for r in run.phase(pid)["routes"]))
    if run.phase(pid)["approval"] is not None:
        return "it moves on when its approval is decided (vote with `opsflow approve` or " \
               "`opsflow reject`)"
    if not events:
        return "it is an end phase"
    return f"it moves on with: {', '.join(events)}"


def _move_on(run: RunContext, pid: str, trigger: str, a: dict[str, Any]) -> None:
    if trigger not in run.flow.machine.get_triggers(pid):
        raise RunError(f"phase {pid} has no {trigger}; {_ways_on(run, pid)}")
    a.update(phase=pid)
    if not run.move(pid, trigger, action=dict(a, kind=a["kind"])):
        raise run.no_route(pid, trigger)


def _fire(run: RunContext, a: dict[str, Any]) -> None:
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


def _changers(run: RunContext, key: str) -> list[str]:
    roles = [run.phase(p)[key] for p in run.s.phases]
    flat = [r for item in roles for r in (item if isinstance(item, list) else [item])]
    return [*run.sop_owner_roles(), *[r for r in flat if r]]


def _set(run: RunContext, a: dict[str, Any]) -> None:
    name = a["field"]
    value = _field(run, name, a["value"])
    roles = _changers(run, "owner") + _changers(run, "accountable")
    require(run.s, run.actor, roles, f"set field {name}")
    previous = run.s.fields.get(name)
    run.s.fields[name] = value
    a.update(value=value)
    run.record("set", None, None, action=dict(a, kind="set"), field=name, value=value,
               previous=previous)


def _reassign(run: RunContext, a: dict[str, Any]) -> None:
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


def _cancel(run: RunContext, a: dict[str, Any]) -> None:
    roles = run.sop_owner_roles() or _changers(run, "owner")
    require(run.s, run.actor, roles, "cancel the run")
    phases = run.s.phases
    run.s.tokens.clear()
    run.s.status = "cancelled"
    run.s.outcome = "cancelled"
    run.s.finished_at = to_iso(run.now)
    run.record("cancel", ",".join(phases) or None, None, action=dict(a, kind="cancel"),
               reason=str(a.get("reason") or ""))


def _advance(run: RunContext, a: dict[str, Any]) -> None:
    pid = run.pick(a.get("phase"), run.has_approval, "advance")
    if not run.has_approval(pid):
        raise RunError(f"phase {pid} has no approval to advance; {_ways_on(run, pid)}")
    run.decider_acts(pid)
    result = run.policy(pid)
    if result.outcome == "pending":
        raise RunError(f"the approval of phase {pid} is not decided: {result.needs}")
    _move_on(run, pid, "approve" if result.outcome == "approved" else "reject", a)


def _tick_on(run: RunContext, a: dict[str, Any]) -> None:
    _tick(run, a, True)


def _tick_off(run: RunContext, a: dict[str, Any]) -> None:
    _tick(run, a, False)


ACTIONS: dict[str, Callable[[RunContext, dict[str, Any]], None]] = {
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
