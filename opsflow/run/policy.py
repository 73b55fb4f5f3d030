"""Approval policies: who may vote, and what the votes so far decide.

Pure functions over the compiled :class:`~opsflow.run.compiled.ApprovalSpec`.

* :func:`eligible` — separation of duties binds *people*, and is judged on
  who did what in the run: everybody bound to an approving role, minus
  everybody who holds or has held a ``not by`` role in this run (a person
  who requested once stays the requester, whoever holds the role now).
* :func:`decide` — the outcome of the votes and what the policy still
  needs, in plain words.

Rules. Only eligible people's latest votes count; abstentions count for
nothing (never as a rejection). ``quorum N``: N approvals. ``all``: every
eligible person approves. ``majority``: more approvals than rejections
among the votes cast. ``a/b``: approvals are at least a/b of the
approvals and rejections cast. The vote is decided as soon as the people
who have not voted can no longer change the result; then it is:

* ``approved`` when it passes whatever they do;
* ``rejected`` when it fails although enough people took part for it to
  pass — had those who rejected approved, it could have passed;
* ``no quorum`` when it fails even counting every rejection as an approval:
  too many abstained (or too few may vote) for the quorum to be met.

``veto``: one rejection rejects at once, and the vote cannot pass before
every eligible person has voted (or its window has passed), so a veto
always has its chance. A voting window (``open at least 72 hours``, counted
from entering the phase) holds every decision back until it has passed;
votes cast after that are refused by the run core. A quorum larger than
the number of eligible people stays pending (``start`` refuses such a run;
a reassign adds people), it is not a rejection.

This module does not record votes, check who is acting, or move runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Literal, NamedTuple, Protocol

from .clock import add_duration
from .compiled import ApprovalSpec, PhaseSpec, QuorumSpec

__all__ = [
    "Outcome",
    "PolicyResult",
    "decide",
    "describe_quorum",
    "eligible",
    "excluded",
    "needed",
    "roles_to_bind",
    "unbound_roles",
    "window_end",
]

Outcome = Literal["approved", "rejected", "no quorum", "pending"]


class People(Protocol):
    """What the policy asks of a run's state (``RunState`` answers it)."""

    def holders(self, roles: Iterable[str]) -> list[str]: ...
    def ever_held(self, roles: Iterable[str]) -> set[str]: ...


def window_end(approval: ApprovalSpec, entered_at: dt.datetime) -> dt.datetime | None:
    """When the voting window (``open at least …``) of a phase entered then closes."""
    return add_duration(entered_at, approval.window) if approval.window else None


def roles_to_bind(phase: PhaseSpec, people: People) -> list[str]:
    """The roles nobody holds that ``phase`` cannot go on without: its owner role, and
    the approving roles when the people bound to the others cannot reach the quorum
    (``approval by delegate, council`` with only council bound needs no delegate)."""
    missing = [] if people.holders([phase.owner]) else [phase.owner]
    approval = phase.approval
    if approval is not None and len(eligible(approval, people)) < needed(approval.quorum):
        missing += [r for r in approval.by if not people.holders([r]) and r not in missing]
    return missing


def unbound_roles(phases: Iterable[PhaseSpec], people: People) -> dict[str, str]:
    """Role -> why: the roles nobody holds that some of ``phases`` cannot go on without
    (:func:`roles_to_bind`), each with the first phase that needs it."""
    needed: dict[str, str] = {}
    for phase in phases:
        for role in roles_to_bind(phase, people):
            needed.setdefault(role, f"the owner of phase {phase.id}" if role == phase.owner
                              else f"an approver of phase {phase.id}")
    return needed


def excluded(approval: ApprovalSpec, people: People) -> set[str]:
    """The people who hold or have held a ``not by`` role of this approval in the run."""
    return people.ever_held(approval.not_by)


def eligible(approval: ApprovalSpec, people: People) -> list[str]:
    """The people who may vote, sorted: approving roles' holders minus ``not by`` people."""
    return sorted(set(people.holders(approval.by)) - excluded(approval, people))


def needed(quorum: QuorumSpec) -> int:
    """The fewest eligible people with whom the quorum can be met."""
    return quorum.count if quorum.kind == "count" else 1


class PolicyResult(NamedTuple):
    """What the votes decide now.

    ``decision`` is what the votes say (ignoring the voting window);
    ``outcome`` is what may happen now (``pending`` while the window is open).
    """

    outcome: Outcome
    decision: Outcome
    needs: str
    approvals: int
    rejections: int
    abstentions: int
    not_voted: tuple[str, ...]
    window_ends: dt.datetime | None = None


def describe_quorum(quorum: QuorumSpec) -> str:
    if quorum.kind == "count":
        n = quorum.count
        return f"{n} approval{'s' if n != 1 else ''}"
    if quorum.kind == "all":
        return "approval from everyone eligible"
    if quorum.kind == "majority":
        return "more approvals than rejections among the votes cast"
    return f"at least {quorum.numerator}/{quorum.denominator} of the votes cast to approve"


def _passes(quorum: QuorumSpec, size: int) -> Callable[[int, int], bool]:
    """Whether ``approvals, rejections`` (final counts) pass; monotone in both."""
    if quorum.kind == "count":
        return lambda a, r: a >= quorum.count
    if quorum.kind == "all":
        return lambda a, r: size > 0 and a >= size
    if quorum.kind == "majority":
        return lambda a, r: a > r
    num, den = quorum.numerator, quorum.denominator
    return lambda a, r: a + r > 0 and a > 0 and a * den >= num * (a + r)


def _who(people: Iterable[str]) -> str:
    names = list(people)
    return ", ".join(names) if names else "nobody"


def decide(approval: ApprovalSpec, voters: list[str], votes: Mapping[str, str],
           now: dt.datetime, window_ends: dt.datetime | None = None) -> PolicyResult:
    """Decide the votes (``{person: approve|reject|abstain}``) of ``voters``."""
    quorum = approval.quorum
    counted = {p: d for p, d in votes.items() if p in voters}
    approvals = sum(1 for d in counted.values() if d == "approve")
    rejections = sum(1 for d in counted.values() if d == "reject")
    abstentions = sum(1 for d in counted.values() if d == "abstain")
    not_voted = tuple(p for p in voters if p not in counted)
    left = len(not_voted)
    passes = _passes(quorum, len(voters))
    tally = f"{approvals} approve, {rejections} reject, {abstentions} abstain"
    window_open = window_ends is not None and now < window_ends
    vetoers = [p for p in voters if counted.get(p) == "reject"]

    decision: Outcome
    if approval.veto and vetoers:
        decision, needs = "rejected", f"rejected: veto by {_who(vetoers)}"
    elif len(voters) < needed(quorum):
        decision = "pending"
        needs = (f"needs {describe_quorum(quorum)} but only {len(voters)} "
                 f"{'person may' if len(voters) == 1 else 'people may'} vote "
                 f"({_who(voters)}); bind more people to the approving role")
    elif passes(approvals, rejections + left) and not (
            approval.veto and left and (window_ends is None or window_open)):
        decision, needs = "approved", f"approved ({tally})"
    elif not passes(approvals + left, rejections):
        if passes(approvals + left + rejections, 0):
            decision, needs = "rejected", f"rejected: {describe_quorum(quorum)} can no longer " \
                                          f"be reached ({tally})"
        else:
            decision, needs = "no quorum", f"no quorum: {describe_quorum(quorum)} can no " \
                                           f"longer be reached ({tally})"
    else:
        decision = "pending"
        needs = f"needs {describe_quorum(quorum)} ({tally}); not voted yet: {_who(not_voted)}"
        if quorum.kind == "count" and approvals < quorum.count:
            more = quorum.count - approvals
            needs = (f"needs {more} more approval{'s' if more != 1 else ''} ({tally}); "
                     f"not voted yet: {_who(not_voted)}")
        elif approval.veto and passes(approvals, rejections + left):
            needs = (f"has its approvals ({tally}); with a veto it passes once everybody "
                     f"has voted; not voted yet: {_who(not_voted)}")

    outcome = decision
    if decision != "pending" and window_open:
        assert window_ends is not None
        outcome = "pending"
        needs += f"; voting stays open until {window_ends:%Y-%m-%d %H:%M} UTC"
    return PolicyResult(outcome, decision, needs, approvals, rejections, abstentions,
                        not_voted, window_ends)
