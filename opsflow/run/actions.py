"""The actions a person can take on a run, one function each.

Each handler gets the :class:`~opsflow.run.context.RunContext` of the action
in progress and the action's arguments (already type-checked by
:mod:`opsflow.run.core`); it checks the actor's authority and the input,
changes the state, records the command's :class:`Change` (with
``payload["action"]``: the action with every choice resolved, so that
replay repeats it exactly) and moves tokens through the machine where the
action does. Handlers raise :class:`~opsflow.run.errors.RunError` (or
:class:`~opsflow.run.errors.NotAllowed`) to refuse.

The controls they hold:

* ``start`` refuses a run without its required fields, without somebody
  for every role the run needs to finish (the SOP owner, phase owners,
  approving roles), or with fewer eligible voters than a quorum needs;
* a vote is refused once the vote is decided (also after its window has
  passed with a decision): a decided vote is never re-decided;
* ``set`` is for the field's ``set by`` roles (default: the current
  phases' owners and the SOP owner); a field is frozen by every approval
  whose routes read it and that was granted (and not entered since), and by
  an open vote that reads it once votes are cast; changing a frozen field
  is refused unless every approval that froze it says ``reopen on change``,
  and then the run goes back to the earliest of them, every decision on the
  field is released and the left phases' votes are gone;
* ``reassign`` is for the SOP owner or the active phases' accountable
  roles; the SOP owner role only by its holders; nobody binds a role to
  themself; nobody who has voted in an open approval is removed from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import policy
from .authority import listing, require, roles_text, who_may
from .clock import to_iso
from .context import RunContext
from .errors import NotAllowed, RunError
from .fieldvalues import FieldValueError, parse_value
from .people import lookalikes, person_keys

if TYPE_CHECKING:
    from .compiled import CompiledSop
    from .state import RunState

__all__ = ["ACTIONS", "DECISIONS", "start"]

DECISIONS = ("approve", "reject", "abstain")


def _assignments(run: RunContext, given: Mapping[str, Any]) -> dict[str, list[str]]:
    result = {}
    for role, people in given.items():
        if role not in run.c.roles:
            raise RunError(f"unknown role {role}", f"roles of this SOP: {listing(run.c.roles)}",
                           code="unknown-role")
        keys = person_keys(people, f"the people of role {role}")
        if not keys:
            raise RunError(f"role {role} needs at least one person", "name who holds it")
        result[role] = keys
    return result


def _refuse_lookalikes(keys: Iterable[str]) -> None:
    """Refuse two names of one run that look alike: they could not be told apart."""
    pair = lookalikes(keys)
    if pair is not None:
        shown = "; ".join(f"{name}: " + " ".join(f"U+{ord(c):04X}" for c in name)
                          for name in pair)
        raise RunError(f"{pair[0]} and {pair[1]} look alike ({shown}): two people of one "
                       "run must be told apart at a glance", "use one spelling for one person",
                       code="lookalike")


def _field(run: RunContext, name: str, text: object) -> str:
    if not isinstance(text, str):
        raise RunError(f"the value of field {name} must be text, not {type(text).__name__}",
                       'give it as a string, like "12000"', code="bad-argument")
    spec = run.c.fields.get(name)
    if spec is None:
        raise RunError(f"unknown field {name}", f"fields of this SOP: {listing(run.c.fields)}",
                       code="unknown-field")
    try:
        return parse_value(name, spec, text)
    except FieldValueError as exc:
        raise RunError(str(exc)) from None


def _unbound_at_start(run: RunContext) -> dict[str, str]:
    """Role -> why the run cannot start while nobody holds it: the SOP owner (who binds
    the other roles once the run reaches a phase that needs them) and what the first
    phases need; with no SOP owner nobody could bind a role later, so what every phase
    needs. An approving role is needed only when the others cannot reach the quorum."""
    needed = {role: "the SOP owner" for role in run.c.owner_roles()
              if not run.s.holders([role])}
    phases = run.c.entry_phases(run.c.start) if run.c.owner_roles() else list(run.c.phases)
    for role, why in policy.unbound_roles((run.phase(p) for p in phases), run.s).items():
        needed.setdefault(role, why)
    return needed


def _check_start(run: RunContext) -> None:
    missing = [f.id for f in run.c.fields.values() if f.required and f.id not in run.s.fields]
    if missing:
        raise RunError(f"the run needs {'fields' if len(missing) > 1 else 'field'} "
                       f"{listing(missing)} at start", f"give {listing(missing)}",
                       code="field-unset")
    unbound = [f"{role} ({why})" for role, why in _unbound_at_start(run).items()]
    if unbound:
        raise RunError(f"nobody holds {'roles' if len(unbound) > 1 else 'role'} "
                       f"{'; '.join(unbound)}, so the run could not finish",
                       "bind somebody to each of them", code="role-unbound")
    _check_quorums(run, run.c.phases)


def _check_quorums(run: RunContext, phases: Iterable[str]) -> None:
    """Refuse people who leave an approval of ``phases`` unable to reach its quorum
    (once every approving role is bound: a role bound later may bring the voters)."""
    for pid in phases:
        approval = run.phase(pid).approval
        if approval is None or not all(run.s.holders([r]) for r in approval.by):
            continue
        voters = policy.eligible(approval, run.s)
        if len(voters) < policy.needed(approval.quorum):
            raise RunError(
                f"phase {pid} needs {policy.describe_quorum(approval.quorum)} but only "
                f"{len(voters)} of the people bound may vote there ({listing(voters, 'nobody')})",
                f"bind more people to {roles_text(list(approval.by))}", code="quorum-unreachable")


def start(run: RunContext, a: Mapping[str, Any]) -> None:
    title = str(a.get("title", "")).strip()
    if not title:
        raise RunError("a run needs a title", 'give one, like "ACME spring campaign"')
    run.s.assignments = _assignments(run, a.get("assignments", {}))
    _refuse_lookalikes(p for people in run.s.assignments.values() for p in people)
    run.s.held = {role: list(people) for role, people in run.s.assignments.items()}
    run.s.fields = {n: _field(run, n, v) for n, v in a.get("fields", {}).items()}
    _check_start(run)
    run.may_enter(run.c.start)
    run.s.started_at = to_iso(run.now)
    run.record("start", None, run.c.start, action=dict(a, kind="start"), sop=run.c.hash)
    run.enter(run.c.start, [], None)


def _criterion(run: RunContext, pid: str, wanted: Any) -> int:
    items = run.phase(pid).checklist
    listed = "; ".join(f"{n}. {t}" for n, t in enumerate(items, 1)) or "empty"
    text = str(wanted).strip()
    if text.isdigit() and len(text) <= 6:
        number = int(text)
        if 1 <= number <= len(items):
            return number
        raise RunError(f"phase {pid} has no criterion {number}", f"its checklist: {listed}")
    if text.isdigit():
        raise RunError(f"phase {pid} has no criterion {text[:12]}…", f"its checklist: {listed}")
    hits = [n for n, t in enumerate(items, 1) if t.lower().startswith(text.lower()) and text]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise RunError(f"no criterion of phase {pid} starts with {text[:80]!r}",
                       f"its checklist: {listed}")
    raise RunError(f"{text!r} starts criteria {', '.join(map(str, hits))} of phase {pid}",
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
    require(run.s, run.actor, [run.phase(pid).owner], f"{verb} the checklist of phase {pid}")
    number = _criterion(run, pid, a["criterion"])
    ticked = run.s.ticked.setdefault(pid, [])
    if (number in ticked) == on:
        state = "already" if on else "not"
        raise RunError(f"criterion {number} of phase {pid} is {state} ticked", "nothing to do")
    if on:
        ticked.append(number)
        ticked.sort()
    else:
        ticked.remove(number)
    a.update(phase=pid, criterion=number)
    run.record(verb, pid, None, action=dict(a, kind=verb),
               text=run.phase(pid).checklist[number - 1])


def _vote(run: RunContext, a: dict[str, Any]) -> None:
    decision = a["decision"]
    if decision not in DECISIONS:
        raise RunError(f"a vote is approve, reject or abstain, not {decision!r}")
    pid = run.pick(a.get("phase"), run.has_approval, "vote on")
    approval = run.phase(pid).approval
    if approval is None:
        raise RunError(f"phase {pid} has no approval; nobody votes there "
                       f"(active: {listing(run.s.phases)})")
    voters = policy.eligible(approval, run.s)
    if run.actor not in voters:
        if run.actor in policy.excluded(approval, run.s) and \
                run.actor in run.s.holders(approval.by):
            roles = [r for r in approval.not_by if run.actor in run.s.ever_held([r])]
            raise NotAllowed(
                f"{run.actor} may not vote on phase {pid}: {run.actor} holds or has held "
                f"{roles_text(roles)} in this run, which may not approve it (separation of "
                f"duties)", f"eligible voters: {listing(voters, 'nobody')}", code="not-allowed")
        raise NotAllowed(f"{run.actor} may not vote on phase {pid}; only "
                         f"{who_may(run.s, list(approval.by))} may", code="not-allowed")
    result = run.policy(pid)
    if result.outcome != "pending":
        raise RunError(f"the vote on phase {pid} is decided ({result.needs}); it takes no more "
                       "votes", "nothing to do", code="vote-decided")
    comment = str(a.get("comment") or "").strip()
    if decision == "reject" and not comment:
        raise RunError("a rejection needs a reason", "say why in a comment",
                       code="reason-needed")
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
    phase = run.phase(pid)
    if phase.approval is not None:
        return "it moves on by itself once its approval is decided (vote approve or reject)"
    if phase.end:
        return "it is an end phase"
    return f"it moves on with: {', '.join(phase.events)}"


def _move_on(run: RunContext, pid: str, trigger: str, a: dict[str, Any]) -> None:
    if trigger not in run.flow.machine.get_triggers(pid):
        raise RunError(f"phase {pid} has no {trigger}", _ways_on(run, pid), code="no-route")
    a.update(phase=pid)
    # the comment is the move's own (history shows it), and part of the command replayed
    said = {"comment": a["comment"]} if a.get("comment") else {}
    if not run.move(pid, trigger, action=dict(a, kind=a["kind"]), **said):
        raise run.no_route(pid, trigger)


def _fire(run: RunContext, a: dict[str, Any]) -> None:
    event = a["event"]
    if event not in run.c.events:
        raise RunError(f"unknown event {event}",
                       f"events of this SOP: {listing(run.c.events)}", code="unknown-event")

    def routes_on(pid: str) -> bool:
        return bool(run.phase(pid).routes_on(event))

    pid = run.pick(a.get("phase"), routes_on, f"fire {event} in")
    if not routes_on(pid):
        where = [p for p in run.c.phases if routes_on(p)]
        raise RunError(f"event {event} does not apply in phase {pid}",
                       f"it applies in: {listing(where)}")
    comment = str(a.get("comment") or "").strip()
    if comment:
        a["comment"] = comment
    else:
        a.pop("comment", None)
    _move_on(run, pid, event, a)


def field_setters(compiled: CompiledSop, state: RunState, name: str) -> list[str]:
    """The roles that may set field ``name`` now: its ``set by`` roles, else the SOP
    owner and the owners of the active phases."""
    spec = compiled.fields[name]
    if spec.set_by:
        return list(spec.set_by)
    return [*compiled.owner_roles(), *(compiled.phase(p).owner for p in state.phases)]


def _setters(run: RunContext, name: str) -> list[str]:
    return field_setters(run.c, run.s, name)


def _frozen_by(run: RunContext, name: str) -> list[str]:
    """The approval phases whose decision ``name`` may not change under: those granted
    (and not entered since) whose routes read it, earliest grant first, then the open
    votes with votes cast whose routes read it."""
    granted = [p for p in run.s.granted if name in run.phase(p).route_fields()]
    voting = [p for p in run.s.phases if p not in granted and run.phase(p).approval is not None
              and run.s.votes.get(p) and name in run.phase(p).route_fields()]
    return [*granted, *voting]


def _set(run: RunContext, a: dict[str, Any]) -> None:
    name = a["field"]
    value = _field(run, name, a["value"])
    require(run.s, run.actor, _setters(run, name), f"set field {name}")
    previous = run.s.fields.get(name)
    if previous == value:
        raise RunError(f"field {name} is already {value}", "nothing to do")
    # giving a value to a field that had none changes no decision made on it
    frozen = [] if previous is None else _frozen_by(run, name)
    for approval in frozen:
        spec = run.phase(approval).approval
        if spec is not None and not spec.reopen_on_change:
            how = "granted by" if approval in run.s.granted else "being voted on in"
            raise RunError(
                f"field {name} is read by the routes of the approval of phase {approval}, "
                f"which it is {how}; changing it would change a decision already made",
                "reject the approval to send the run back, or start a new run", code="decided")
    run.s.fields[name] = value
    a.update(value=value)
    run.record("set", None, None, action=dict(a, kind="set"), field=name, value=value,
               previous=previous)
    if frozen:
        _reopen(run, frozen, name)


def _reopen(run: RunContext, frozen: list[str], name: str) -> None:
    """Send the run back to the earliest of the approvals that froze ``name`` after it
    changed (each says ``reopen on change``): every decision on ``name`` is released and
    the votes of the phases the run leaves are gone."""
    approval = frozen[0]
    here = run.s.phases
    for token in list(run.s.tokens):
        run.s.tokens.remove(token)
        run.s.ticked.pop(token.phase, None)
        run.s.votes.pop(token.phase, None)
    run.s.joined.clear()
    run.s.granted = [p for p in run.s.granted if p not in frozen]
    run.record("reopen", ",".join(here) or None, approval, field=name, approval=approval)
    run.enter(approval, [], None)


def _reassign(run: RunContext, a: dict[str, Any]) -> None:
    role = a["role"]
    if role not in run.c.roles:
        raise RunError(f"unknown role {role}", f"roles of this SOP: {listing(run.c.roles)}",
                       code="unknown-role")
    people = person_keys(a["people"], f"the people of role {role}")
    if not people:
        raise RunError(f"role {role} needs at least one person", "name who holds it")
    what = f"reassign role {role}" + (" (the SOP owner)" if role in run.c.owner_roles()
                                      else "")
    require(run.s, run.actor, run.c.reassign_roles(role, run.s.phases), what)
    previous = run.s.assignments.get(role, [])
    _refuse_lookalikes([*(p for held in (run.s.held, run.s.assignments) for ps in held.values()
                          for p in ps), *people])
    if previous == people:
        raise RunError(f"role {role} is already held by {listing(people)}", "nothing to do")
    if run.actor in people and run.actor not in previous:
        raise NotAllowed(f"{run.actor} may not bind role {role} to themself",
                         "ask the SOP owner or another accountable person", code="not-allowed")
    for pid in run.s.phases:
        phase = run.phase(pid)
        if phase.approval is None or role not in (*phase.approval.by, *phase.approval.not_by):
            continue
        excluded = [p for p in run.s.votes.get(pid, {})
                    if role in phase.approval.not_by and p in people]
        if excluded:
            raise RunError(
                f"{listing(excluded)} {'have' if len(excluded) > 1 else 'has'} voted in the "
                f"open approval of phase {pid}, which role {role} may not vote in; a voter "
                "cannot be removed from a vote in progress", f"bind somebody else to {role}",
                code="electorate")
        if role not in phase.approval.by:
            continue
        others = set(run.s.holders([r for r in phase.approval.by if r != role]))
        dropped = [p for p in run.s.votes.get(pid, {}) if p in previous and p not in people
                   and p not in others]
        if dropped:
            raise RunError(
                f"{listing(dropped)} {'have' if len(dropped) > 1 else 'has'} voted in the open "
                f"approval of phase {pid}; a voter cannot be removed from a vote in progress",
                f"keep {listing(dropped)} in role {role} (you may add people)",
                code="electorate")
    decided = {pid: run.policy(pid).outcome for pid in run.s.phases
               if run.phase(pid).approval is not None}
    run.s.assignments[role] = people
    held = run.s.held.setdefault(role, [])
    held += [p for p in people if p not in held]
    # what start refuses: an approval left unable to reach its quorum (one still to come,
    # or open; a decided one is judged below)
    _check_quorums(run, [pid for pid, phase in run.c.phases.items()
                         if phase.approval is not None and decided.get(pid, "pending") == "pending"
                         and role in (*phase.approval.by, *phase.approval.not_by)])
    for pid, before in decided.items():  # (a refusal discards these changes)
        if before != "pending" and run.policy(pid).outcome != before:
            raise RunError(f"the vote on phase {pid} is decided ({before}); this change of "
                           f"role {role} would decide it again", "reassign the role once the "
                           "run has moved on", code="electorate")
    a.update(people=people)
    run.record("reassign", None, None, action=dict(a, kind="reassign"), role=role,
               people=people, previous=previous)


def _cancel(run: RunContext, a: dict[str, Any]) -> None:
    require(run.s, run.actor, run.authority_roles(), "cancel the run")
    phases = run.s.phases
    run.clear_tokens()
    run.s.status = "cancelled"
    run.s.outcome = "cancelled"
    run.s.finished_at = to_iso(run.now)
    run.record("cancel", ",".join(phases) or None, None, action=dict(a, kind="cancel"),
               reason=str(a.get("reason") or ""))


def _advance(run: RunContext, a: dict[str, Any]) -> None:
    pid = run.pick(a.get("phase"), run.has_approval, "advance")
    if not run.has_approval(pid):
        raise RunError(f"phase {pid} has no approval to advance", _ways_on(run, pid))
    run.decider_acts(pid)
    result = run.policy(pid)
    if result.outcome == "pending":
        raise RunError(f"the approval of phase {pid} is not decided: {result.needs}",
                       "wait for the votes", code="vote-pending")
    trigger = {"approved": "approve", "rejected": "reject"}.get(result.outcome, "no-quorum")
    _move_on(run, pid, trigger, a)


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
