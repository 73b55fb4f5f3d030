"""Approval policies: who may vote, and what the votes so far decide.

Pure functions over plain data. The approval comes from the compiled SOP::

    {"by": ["board"], "quorum": {"kind": "fraction", "count": 1, "numerator": 2,
     "denominator": 3}, "veto": false, "not_by": ["requester"], "window": null}

* :func:`eligible` — separation of duties binds *people*: everybody bound to
  an approving role, minus everybody bound to a ``not by`` role (a person
  who holds both may not vote).
* :func:`decide` — the outcome of the votes (``approved``, ``rejected`` or
  ``pending``) and what the policy still needs, in plain words.

Rules. Only eligible people's latest votes count. ``quorum N``: N
approvals. ``all``: every eligible person approves. ``majority``: more
approvals than rejections among the votes cast (abstentions are not
counted). ``a/b``: approvals are at least a/b of the votes cast. With
``veto`` one rejection rejects. Otherwise the vote is rejected as soon as
the people who have not voted can no longer make it pass, and approved as
soon as they can no longer make it fail (so majority and fractions decide
once everybody voted, or earlier when the result cannot change). A quorum
larger than the number of eligible people stays pending (the fix is to
bind more people to the role), it is not a rejection. A voting window
(``open at least 72 hours``, counted from entering the phase) holds any
decision back until it has passed.

This module does not record votes, check who is acting, or move runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NamedTuple

from .clock import add_duration

__all__ = [
    "Outcome",
    "PolicyResult",
    "decide",
    "describe_quorum",
    "eligible",
    "excluded",
    "window_end",
]

Outcome = Literal["approved", "rejected", "pending"]


def window_end(approval: Mapping[str, Any], entered_at: dt.datetime) -> dt.datetime | None:
    """When the voting window (``open at least …``) of a phase entered then closes."""
    window = approval.get("window")
    return add_duration(entered_at, window) if window else None


def _holders(roles: Iterable[str], assignments: Mapping[str, list[str]]) -> set[str]:
    return {person for role in roles for person in assignments.get(role, [])}


def eligible(approval: Mapping[str, Any], assignments: Mapping[str, list[str]]) -> list[str]:
    """The people who may vote, sorted: approving roles' holders minus ``not by`` holders."""
    return sorted(_holders(approval["by"], assignments) - excluded(approval, assignments))


def excluded(approval: Mapping[str, Any], assignments: Mapping[str, list[str]]) -> set[str]:
    """The people bound to a ``not by`` role of this approval."""
    return _holders(approval.get("not_by", []), assignments)


class PolicyResult(NamedTuple):
    """What the votes decide now.

    ``decision`` ignores the voting window (what the votes say);
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


def describe_quorum(quorum: Mapping[str, Any]) -> str:
    kind = quorum["kind"]
    if kind == "count":
        n = int(quorum["count"])
        return f"{n} approval{'s' if n != 1 else ''}"
    if kind == "all":
        return "approval from everyone eligible"
    if kind == "majority":
        return "more approvals than rejections among the votes cast"
    return f"at least {quorum['numerator']}/{quorum['denominator']} of the votes cast to approve"


def _passes(quorum: Mapping[str, Any], size: int) -> Callable[[int, int], bool]:
    """Whether ``approvals, rejections`` (final counts) pass; monotone in both."""
    kind = quorum["kind"]
    if kind == "count":
        need = int(quorum["count"])
        return lambda a, r: a >= need
    if kind == "all":
        return lambda a, r: size > 0 and a >= size
    if kind == "majority":
        return lambda a, r: a > r
    num, den = int(quorum["numerator"]), int(quorum["denominator"])
    return lambda a, r: a + r > 0 and a > 0 and a * den >= num * (a + r)


def _reachable(quorum: Mapping[str, Any], size: int) -> bool:
    """False when too few people are eligible for the quorum ever to pass."""
    if quorum["kind"] == "count":
        return size >= int(quorum["count"])
    return size > 0


def _who(people: Iterable[str]) -> str:
    names = list(people)
    return ", ".join(names) if names else "nobody"


def decide(
    approval: Mapping[str, Any],
    voters: list[str],
    votes: Mapping[str, str],
    now: dt.datetime,
    window_ends: dt.datetime | None = None,
) -> PolicyResult:
    """Decide the votes (``{person: approve|reject|abstain}``) of ``voters``."""
    quorum = approval["quorum"]
    counted = {p: d for p, d in votes.items() if p in voters}
    approvals = sum(1 for d in counted.values() if d == "approve")
    rejections = sum(1 for d in counted.values() if d == "reject")
    abstentions = sum(1 for d in counted.values() if d == "abstain")
    not_voted = tuple(p for p in voters if p not in counted)
    left = len(not_voted)
    passes = _passes(quorum, len(voters))
    tally = f"{approvals} approve, {rejections} reject, {abstentions} abstain"
    vetoers = [p for p in voters if counted.get(p) == "reject"]

    decision: Outcome
    if approval.get("veto") and vetoers:
        decision, needs = "rejected", f"rejected: veto by {_who(vetoers)}"
    elif not _reachable(quorum, len(voters)):
        decision = "pending"
        needs = (f"needs {describe_quorum(quorum)} but only {len(voters)} "
                 f"{'person may' if len(voters) == 1 else 'people may'} vote "
                 f"({_who(voters)}); reassign the approving role to more people")
    elif passes(approvals, rejections + left):
        decision, needs = "approved", f"approved ({tally})"
    elif not passes(approvals + left, rejections):
        decision, needs = "rejected", f"rejected: {describe_quorum(quorum)} can no longer " \
                                      f"be reached ({tally})"
    else:
        decision = "pending"
        needs = f"needs {describe_quorum(quorum)} ({tally}); not voted yet: {_who(not_voted)}"
        if quorum["kind"] == "count":
            more = int(quorum["count"]) - approvals
            needs = (f"needs {more} more approval{'s' if more != 1 else ''} ({tally}); "
                     f"not voted yet: {_who(not_voted)}")

    outcome = decision
    if decision != "pending" and window_ends is not None and now < window_ends:
        outcome = "pending"
        needs += f"; voting stays open until {window_ends:%Y-%m-%d %H:%M} UTC"
    return PolicyResult(outcome, decision, needs, approvals, rejections, abstentions,
                        not_voted, window_ends)
