"""Approval policies: every quorum kind, veto, separation of duties, window."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from opsflow.run import policy
from opsflow.run.compiled import ApprovalSpec, DurationSpec, QuorumSpec
from opsflow.run.state import RunState

NOW = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
BOARD = ["ann", "bob", "cat", "dan", "eve", "fay", "gus"]


def approval(kind: str = "count", count: int = 1, num: int = 0, den: int = 1,
             veto: bool = False, by: list[str] | None = None,
             not_by: list[str] | None = None, window: dict[str, Any] | None = None
             ) -> ApprovalSpec:
    return ApprovalSpec(
        by=tuple(by or ["board"]), quorum=QuorumSpec(kind, count, num, den), veto=veto,
        not_by=tuple(not_by or []),
        window=None if window is None else DurationSpec(window["amount"], window["unit"]))


def people(assignments: dict[str, list[str]]) -> RunState:
    return RunState(assignments=assignments)


def votes(**given: str) -> dict[str, str]:
    return dict(given)


def outcome(a: ApprovalSpec, voters: list[str], **given: str) -> str:
    return policy.decide(a, voters, votes(**given), NOW).outcome


# ---- who may vote -----------------------------------------------------------


def test_eligible_binds_people_not_role_names() -> None:
    a = approval(by=["client", "board"], not_by=["writer"])
    assignments = {"client": ["carol", "wendy"], "board": ["bob"], "writer": ["wendy"]}
    assert policy.eligible(a, people(assignments)) == ["bob", "carol"]
    assert policy.excluded(a, people(assignments)) == {"wendy"}


def test_eligible_without_not_by_and_unbound_roles() -> None:
    assert policy.eligible(approval(), people({"board": ["x", "y", "x"]})) == ["x", "y"]
    assert policy.eligible(approval(), people({})) == []


# ---- quorum N ---------------------------------------------------------------


def test_quorum_count_needs_n_approvals() -> None:
    a = approval(count=2)
    voters = ["ann", "bob", "cat"]
    assert outcome(a, voters) == "pending"
    assert outcome(a, voters, ann="approve") == "pending"
    assert outcome(a, voters, ann="approve", bob="approve") == "approved"


def test_quorum_count_rejects_once_unreachable() -> None:
    a = approval(count=2)
    voters = ["ann", "bob", "cat"]
    assert outcome(a, voters, ann="reject") == "pending"  # bob and cat can still approve
    assert outcome(a, voters, ann="reject", bob="abstain") == "rejected"


def test_quorum_larger_than_the_people_stays_pending_with_the_fix() -> None:
    result = policy.decide(approval(count=3), ["ann", "bob"], votes(ann="approve"), NOW)
    assert result.outcome == "pending"
    assert result.needs == ("needs 3 approvals but only 2 people may vote (ann, bob); "
                            "bind more people to the approving role")


def test_needs_text_for_a_count() -> None:
    result = policy.decide(approval(count=2), ["ann", "bob", "cat"], votes(ann="approve"), NOW)
    assert result.needs == ("needs 1 more approval (1 approve, 0 reject, 0 abstain); "
                            "not voted yet: bob, cat")
    assert (result.approvals, result.rejections, result.abstentions) == (1, 0, 0)
    assert result.not_voted == ("bob", "cat")


# ---- all --------------------------------------------------------------------


def test_all_needs_every_eligible_person() -> None:
    a = approval(kind="all")
    assert outcome(a, ["ann", "bob"], ann="approve") == "pending"
    assert outcome(a, ["ann", "bob"], ann="approve", bob="approve") == "approved"
    assert outcome(a, ["ann", "bob"], bob="reject") == "rejected"
    # an abstention is never a rejection: nobody said no, but "all" can no longer be met
    assert outcome(a, ["ann", "bob"], bob="abstain") == "no quorum"
    assert outcome(a, [], ) == "pending"


# ---- majority of votes cast -------------------------------------------------


def test_majority_of_a_seven_member_board() -> None:
    a = approval(kind="majority")
    assert outcome(a, BOARD, ann="approve", bob="approve", cat="approve") == "pending"
    assert outcome(a, BOARD, ann="approve", bob="approve", cat="approve",
                   dan="approve") == "approved"  # 4 > 3 even if the rest reject
    assert outcome(a, BOARD, ann="reject", bob="reject", cat="reject",
                   dan="reject") == "rejected"


def test_majority_ignores_abstentions() -> None:
    a = approval(kind="majority")
    done = dict(ann="approve", bob="approve", cat="reject", dan="abstain", eve="abstain",
                fay="abstain", gus="abstain")
    assert outcome(a, BOARD, **done) == "approved"  # 2 of 3 cast
    tie = dict(done, bob="reject", cat="approve", ann="reject")
    assert outcome(a, BOARD, **tie) == "rejected"  # 1 approve vs 2 reject
    assert outcome(a, ["ann", "bob"], ann="abstain", bob="abstain") == "no quorum"


def test_majority_decides_once_everybody_voted() -> None:
    a = approval(kind="majority")
    assert outcome(a, ["ann", "bob"], ann="approve") == "pending"
    assert outcome(a, ["ann", "bob"], ann="approve", bob="reject") == "rejected"  # 1 is not > 1
    assert outcome(a, ["ann", "bob"], ann="approve", bob="abstain") == "approved"


# ---- fraction of votes cast ----------------------------------------------------


def test_two_thirds_of_votes_cast() -> None:
    a = approval(kind="fraction", num=2, den=3)
    voters = ["ann", "bob", "cat"]
    assert outcome(a, voters, ann="approve", bob="approve") == "approved"  # 2/3 even if cat rejects
    assert outcome(a, voters, ann="approve", bob="reject") == "pending"
    assert outcome(a, voters, ann="approve", bob="reject", cat="approve") == "approved"
    assert outcome(a, voters, ann="approve", bob="reject", cat="reject") == "rejected"
    assert outcome(a, voters, ann="reject", bob="reject") == "rejected"
    assert outcome(a, voters, ann="approve", bob="reject", cat="abstain") == "rejected"  # 1/2


def test_fraction_needs_text() -> None:
    result = policy.decide(approval(kind="fraction", num=2, den=3), ["ann", "bob", "cat"],
                           votes(ann="approve", bob="reject"), NOW)
    assert result.needs == ("needs at least 2/3 of the votes cast to approve (1 approve, "
                            "1 reject, 0 abstain); not voted yet: cat")


# ---- veto ---------------------------------------------------------------------


def test_veto_one_rejection_rejects() -> None:
    a = approval(kind="majority", veto=True)
    result = policy.decide(a, BOARD, votes(ann="approve", bob="approve", cat="approve",
                                           dan="approve", eve="reject"), NOW)
    assert result.outcome == "rejected"
    assert result.needs == "rejected: veto by eve"
    assert outcome(approval(kind="majority"), BOARD, ann="approve", bob="approve",
                   cat="approve", dan="approve", eve="reject") == "approved"


# ---- who counts -----------------------------------------------------------------


def test_votes_of_people_who_may_not_vote_are_not_counted() -> None:
    # e.g. a vote cast before a reassignment took the role away
    a = approval(count=1)
    assert outcome(a, ["bob"], wendy="approve") == "pending"
    assert outcome(a, ["bob"], wendy="reject", bob="approve") == "approved"


def test_a_changed_vote_counts_only_as_its_latest_decision() -> None:
    a = approval(count=2)
    first = votes(ann="reject", bob="approve")
    assert policy.decide(a, ["ann", "bob", "cat"], first, NOW).outcome == "pending"
    changed = dict(first, ann="approve")
    assert policy.decide(a, ["ann", "bob", "cat"], changed, NOW).outcome == "approved"


# ---- voting window ----------------------------------------------------------------


def test_window_holds_back_a_decision_until_it_passes() -> None:
    a = approval(count=1, window={"amount": 72, "unit": "hours"})
    entered = NOW - dt.timedelta(hours=10)
    ends = policy.window_end(a, entered)
    assert ends == entered + dt.timedelta(hours=72)
    early = policy.decide(a, ["ann"], votes(ann="approve"), NOW, ends)
    assert (early.outcome, early.decision) == ("pending", "approved")
    assert early.needs == ("approved (1 approve, 0 reject, 0 abstain); voting stays open until "
                           "2025-01-08 23:00 UTC")
    late = policy.decide(a, ["ann"], votes(ann="approve"), ends, ends)
    assert late.outcome == "approved"
    vetoed = policy.decide(approval(veto=True, window={"amount": 1, "unit": "days"}),
                           ["ann", "bob"], votes(bob="reject"), NOW, NOW + dt.timedelta(days=1))
    assert (vetoed.outcome, vetoed.decision) == ("pending", "rejected")
    assert policy.window_end(approval(), entered) is None


@pytest.mark.parametrize(("kind", "text"), [
    ({"kind": "count", "count": 1}, "1 approval"),
    ({"kind": "count", "count": 3}, "3 approvals"),
    ({"kind": "all"}, "approval from everyone eligible"),
    ({"kind": "majority"}, "more approvals than rejections among the votes cast"),
    ({"kind": "fraction", "numerator": 3, "denominator": 4},
     "at least 3/4 of the votes cast to approve"),
])
def test_describe_quorum(kind: dict[str, Any], text: str) -> None:
    assert policy.describe_quorum(QuorumSpec(**kind)) == text


def test_abstentions_that_make_the_quorum_unreachable_are_no_quorum_not_a_rejection() -> None:
    """Issue 7: with quorum 3, two approvals and two abstentions took the reject route."""
    a = approval(count=3)
    voters = ["ann", "bob", "cat", "dan"]
    result = policy.decide(a, voters, votes(ann="approve", bob="approve", cat="abstain",
                                            dan="abstain"), NOW)
    assert (result.outcome, result.needs) == (
        "no quorum", "no quorum: 3 approvals can no longer be reached "
                     "(2 approve, 0 reject, 2 abstain)")
    # had somebody rejected instead, enough people took part: that is a rejection
    assert outcome(a, voters, ann="approve", bob="approve", cat="reject",
                   dan="abstain") == "rejected"


def test_a_veto_holds_the_vote_open_until_everybody_voted() -> None:
    """Issue 7: with quorum 1 the first approval moved the run on before a veto could come."""
    a = approval(count=1, veto=True)
    voters = ["ann", "bob", "cat"]
    held = policy.decide(a, voters, votes(ann="approve"), NOW)
    assert (held.outcome, held.needs) == (
        "pending", "has its approvals (1 approve, 0 reject, 0 abstain); with a veto it passes "
                   "once everybody has voted; not voted yet: bob, cat")
    assert outcome(a, voters, ann="approve", bob="approve", cat="reject") == "rejected"
    assert outcome(a, voters, ann="approve", bob="approve", cat="abstain") == "approved"
    # with a window, the window's end lets it pass without the silent voters
    window = approval(count=1, veto=True, window={"amount": 1, "unit": "days"})
    ends = NOW - dt.timedelta(hours=1)
    assert policy.decide(window, voters, votes(ann="approve"), NOW, ends).outcome == "approved"
