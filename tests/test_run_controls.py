"""The controls an auditor asks about: each leak reported in issues 7 and 8, closed.

Every test here failed on main before the run stage v2 (2026-11-22) and
passes now; each names the leak it closes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import T0, Runner, assert_replays, compiled, compiled_text, refused

from opsflow.run import invariants
from opsflow.run.core import RunError
from opsflow.run.state import RunState, TokenState

REFUND = """\
sop refund "Refund"
  owner lead
role lead "Lead"
role clerk "Clerk"
role manager "Manager"
field amount "Amount" number
field reason "Reason" text
phase request "Request"
  owner clerk
  handoff to approval
phase approval "Approval"
  owner lead
  approval by manager
    not by clerk
{policy}
  on approve go to big if amount > 1000
  on approve go to paid
  on reject go to request
phase big "Big refund"
  owner lead
  handoff to paid
phase paid "Paid"
  owner lead
  end
"""
PEOPLE = {"lead": ["lee"], "clerk": ["cal"], "manager": ["mia", "max", "moe"]}


def refund(tmp: Path, policy: str = "", **fields: str) -> Runner:
    run = Runner(compiled_text(REFUND.format(policy=policy), tmp))
    run.start(PEOPLE, actor="lee", **fields)
    run.do("handoff", "cal")
    assert run.s.phases == ["approval"]
    return run


# ---- fields -------------------------------------------------------------------------------


def test_a_missing_field_never_takes_the_otherwise_route(tmp_path: Path) -> None:
    """A refund with no `amount` went straight past the manager's routing."""
    run = refund(tmp_path)
    run.do("vote", "mia", decision="approve")
    assert run.s.phases == ["approval"]  # decided, but it cannot choose between big and paid
    run.do("set", "lee", field="amount", value="5000")
    assert run.s.phases == ["big"]
    assert_replays(run)


def test_required_fields_are_refused_at_start_and_before_their_phase(tmp_path: Path) -> None:
    text = REFUND.format(policy="").replace(
        'field amount "Amount" number\n', 'field amount "Amount" number\n  required\n').replace(
        'field reason "Reason" text\n', 'field reason "Reason" text\n  required before approval\n')
    run = Runner(compiled_text(text, tmp_path))
    with pytest.raises(RunError) as info:
        run.start(PEOPLE, actor="lee")
    assert str(info.value) == "the run needs field amount at start; give amount"
    run.start(PEOPLE, actor="lee", amount="10")
    assert refused(run, "handoff", "cal") == (
        "phase approval needs field reason set before the run enters it; set reason first")
    run.do("set", "cal", field="reason", value="damaged")
    run.do("handoff", "cal")
    assert run.s.phases == ["approval"]


def test_a_decided_field_cannot_change_after_the_approval(tmp_path: Path) -> None:
    """`set amount 5000` after a 750 approval finished the run unseen."""
    run = refund(tmp_path, amount="750")
    run.do("vote", "mia", decision="approve")
    assert run.s.phases == ["paid"] or run.s.status == "done"
    assert run.s.status == "done"  # paid is an end phase without a checklist
    run2 = Runner(compiled_text(REFUND.format(policy="").replace(
        'phase paid "Paid"\n  owner lead\n  end\n',
        'phase paid "Paid"\n  owner lead\n  done when\n    - Money is sent\n  end\n'), tmp_path,
        "t2"))
    run2.start(PEOPLE, actor="lee", amount="750")
    run2.do("handoff", "cal")
    run2.do("vote", "mia", decision="approve")
    assert run2.s.phases == ["paid"]
    assert refused(run2, "set", "lee", field="amount", value="5000") == (
        "field amount is read by the routes of the approval of phase approval, which it is "
        "granted by; changing it would change a decision already made; reject the approval "
        "to send the run back, or start a new run")
    run2.do("set", "lee", field="reason", value="a field no route reads may change")
    assert_replays(run2)


def test_reopen_on_change_sends_the_run_back_to_the_approval(tmp_path: Path) -> None:
    text = REFUND.format(policy="    reopen on change").replace(
        'phase paid "Paid"\n  owner lead\n  end\n',
        'phase paid "Paid"\n  owner lead\n  done when\n    - Money is sent\n  end\n')
    run = Runner(compiled_text(text, tmp_path))
    run.start(PEOPLE, actor="lee", amount="750")
    run.do("handoff", "cal")
    run.do("vote", "mia", decision="approve")
    assert run.s.phases == ["paid"]
    changes = run.do("set", "lee", field="amount", value="5000")
    assert [(c.action, c.from_phase, c.to_phase) for c in changes] == [
        ("set", None, None), ("reopen", "paid", "approval")]
    assert changes[0].payload["previous"] == "750" and changes[0].payload["value"] == "5000"
    assert run.s.phases == ["approval"] and run.s.votes.get("approval", {}) == {}
    run.do("vote", "max", decision="approve")
    assert run.s.phases == ["big"]
    assert_replays(run)


def test_a_field_an_open_vote_reads_cannot_change_once_votes_are_cast(tmp_path: Path) -> None:
    run = refund(tmp_path, "    quorum 2", amount="750")
    run.do("vote", "mia", decision="approve")
    assert refused(run, "set", "lee", field="amount", value="5000").startswith(
        "field amount is read by the routes of the approval of phase approval, which it is "
        "being voted on in;")


def test_who_may_set_a_field(tmp_path: Path) -> None:
    run = refund(tmp_path)
    assert refused(run, "set", "mia", field="reason", value="x") == (
        "mia may not set field reason; only role lead (lee) may")


# ---- votes --------------------------------------------------------------------------------


def test_a_veto_holds_the_vote_open_and_a_late_veto_rejects(tmp_path: Path) -> None:
    """With quorum 1 and veto, the first approval moved the run on; a later veto was refused."""
    run = refund(tmp_path, "    veto", amount="10")
    run.do("vote", "mia", decision="approve")
    assert run.s.phases == ["approval"]  # max and moe may still veto
    run.do("vote", "max", decision="approve")
    run.do("vote", "moe", decision="reject", comment="not covered by policy")
    assert run.s.phases == ["request"]
    assert_replays(run)


def test_votes_after_the_window_closed_are_refused(tmp_path: Path) -> None:
    """Votes after the window were counted when nobody had moved the run yet."""
    run = refund(tmp_path, "    quorum 1\n    open at least 24 hours", amount="10")
    run.do("vote", "mia", decision="approve")
    run.later(hours=25)
    assert refused(run, "vote", "moe", decision="reject", comment="late veto") == (
        "the vote on phase approval is decided (approved (1 approve, 0 reject, 0 abstain)); "
        "it takes no more votes; nothing to do")
    run.do("advance", "lee")
    assert run.s.status == "done" and run.s.outcome == "paid"


def test_abstentions_are_no_quorum_and_take_the_reject_route_as_such(tmp_path: Path) -> None:
    """With quorum 3, two approvals and two abstentions took the reject route as rejected."""
    people = dict(PEOPLE, manager=["mia", "max", "moe", "mo"])
    run = Runner(compiled_text(REFUND.format(policy="    quorum 3"), tmp_path))
    run.start(people, actor="lee", amount="10")
    run.do("handoff", "cal")
    run.do("vote", "mia", decision="approve")
    run.do("vote", "max", decision="approve")
    run.do("vote", "moe", decision="abstain")
    changes = run.do("vote", "mo", decision="abstain")
    assert [(c.action, c.to_phase) for c in changes] == [("vote", None),
                                                         ("no-quorum", "request")]
    assert changes[1].payload["tally"].startswith("no quorum: 3 approvals can no longer")
    assert_replays(run)


def test_start_refuses_a_quorum_the_people_bound_cannot_reach(tmp_path: Path) -> None:
    run = Runner(compiled_text(REFUND.format(policy="    quorum 3"), tmp_path))
    with pytest.raises(RunError) as info:
        run.start(dict(PEOPLE, manager=["mia", "cal"]), actor="lee")
    assert str(info.value) == (
        "phase approval needs 3 approvals but only 1 of the people bound may vote there (mia); "
        "bind more people to role manager")


# ---- people and reassigning -------------------------------------------------------------


def test_the_electorate_of_an_open_vote_keeps_everyone_who_voted(tmp_path: Path) -> None:
    """The SOP owner reassigned the voting role mid-vote and dropped the person who vetoed."""
    run = refund(tmp_path, "    quorum 2\n    veto", amount="10")
    run.do("vote", "moe", decision="abstain")
    assert refused(run, "reassign", "lee", role="manager", people=["mia", "max"]) == (
        "moe has voted in the open approval of phase approval; a voter cannot be removed "
        "from a vote in progress; keep moe in role manager (you may add people)")
    run.do("reassign", "lee", role="manager", people=["mia", "max", "moe", "mo"])
    assert_replays(run)


def test_one_person_is_one_person(tmp_path: Path) -> None:
    """`ed`, `Ed` and `ed` + a zero-width space met quorum 2 as three people."""
    run = refund(tmp_path, "    quorum 2", amount="10")
    run.do("vote", "MIA", decision="approve")
    with pytest.raises(RunError) as info:
        run.do("vote", "mia\u200b", decision="approve")
    assert str(info.value) == (
        "the person acting contains an invisible or control character (ZERO WIDTH SPACE); "
        "type the name with letters, digits and punctuation only")
    run.do("vote", " Mia ", decision="approve")  # the same person: her vote is replaced
    assert run.s.phases == ["approval"]
    assert list(run.s.votes["approval"]) == ["mia"]


def test_nobody_binds_a_role_to_themself_or_takes_the_owner_role(tmp_path: Path) -> None:
    """An accountable person rebound the SOP owner role to themself, then cancelled."""
    text = REFUND.format(policy="").replace(
        'phase request "Request"\n  owner clerk\n',
        'phase request "Request"\n  owner clerk\n  accountable manager\n')
    run = Runner(compiled_text(text, tmp_path))
    run.start(PEOPLE, actor="lee")
    assert refused(run, "reassign", "mia", role="lead", people=["mia"]) == (
        "mia may not reassign role lead (the SOP owner); only role lead (lee) may")
    assert refused(run, "reassign", "mia", role="clerk", people=["mia"]) == (
        "mia may not bind role clerk to themself; ask the SOP owner or another accountable "
        "person")
    assert refused(run, "cancel", "mia") == "mia may not cancel the run; only role lead (lee) may"


def test_separation_of_duties_remembers_who_requested(tmp_path: Path) -> None:
    """Reassigning the requester role away let the requester approve their own request."""
    run = refund(tmp_path, amount="10")
    run.do("reassign", "lee", role="clerk", people=["cleo"])
    run.do("reassign", "lee", role="manager", people=["mia", "max", "moe", "cal"])
    assert refused(run, "vote", "cal", decision="approve") == (
        "cal may not vote on phase approval: cal holds or has held role clerk in this run, "
        "which may not approve it (separation of duties); eligible voters: max, mia, moe")


def test_library_arguments_are_checked() -> None:
    """`reassign(role, "mallory")` bound the letters m, a, l, o, r, y; a bare tick: KeyError."""
    run = Runner(compiled("content-publishing"))
    run.start({"writer": ["wendy"], "editor": ["ed"], "account": ["ann"], "client": ["cli"],
               "finance": ["fin"]}, budget="10")
    assert refused(run, "reassign", "ann", role="writer", people="mallory") == (
        "argument people of reassign must be list or tuple, not str; give people as list or "
        "tuple")
    assert refused(run, "tick", "wendy") == "tick needs criterion; give criterion"
    assert refused(run, "tick", "wendy", criterion=1, extra=2) == (
        "tick takes no argument 'extra'; its arguments: criterion, phase")
    assert refused(run, "tick", "wendy", criterion=True) == (
        "argument criterion of tick must be int or str, not bool; give criterion as int or str")


# ---- parallel blocks and verify ---------------------------------------------------------

LOOP = """\
sop loop "Loop"
  owner lead
role lead "Lead"
phase prep "Prep"
  owner lead
  handoff to work
parallel work "Work"
  track a
  track b
  then go to check
phase a "A"
  owner lead
  handoff to join
phase b "B"
  owner lead
  handoff to join
phase check "Check"
  owner lead
  handoff to work
  on done go to end
event done "Done" by lead
phase end "End"
  owner lead
  end
"""


def test_re_entering_a_parallel_block_starts_it_afresh(tmp_path: Path) -> None:
    """Re-entering a block remembered the old join: the run sat in a track and after it."""
    run = Runner(compiled_text(LOOP, tmp_path))
    run.start({"lead": ["lee"]}, actor="lee")
    run.do("handoff", "lee")
    run.do("handoff", "lee", phase="a")
    run.do("handoff", "lee", phase="b")
    assert run.s.phases == ["check"]
    run.do("handoff", "lee")  # back into the block
    run.do("handoff", "lee", phase="a")
    assert run.s.phases == ["b"]  # the join waits for b again
    assert invariants.problems(run.c, run.s) == []
    run.do("handoff", "lee", phase="b")
    run.do("fire", "lee", event="done", comment="all good")
    assert run.s.status == "done"
    assert_replays(run)


def test_verify_finds_a_state_the_sop_does_not_allow() -> None:
    c = compiled("employee-onboarding")
    state = RunState(tokens=[TokenState("it-setup", T0.isoformat(), None,
                                        [["preparation", 0]]),
                             TokenState("it-setup", T0.isoformat(), None, [["preparation", 0]]),
                             TokenState("day-one", T0.isoformat(), None, [["preparation", 1]])],
                     votes={"day-one": {"x": {"decision": "approve", "comment": "", "at": ""}}})
    assert invariants.problems(c, state) == [
        "phase it-setup holds 2 tokens",
        "the token in phase day-one carries track preparation, but the phase is in no track",
        "phase day-one has votes but no open approval",
    ]


# ---- status says what will really happen --------------------------------------------------


def _next_steps(run: Runner) -> list[str]:
    from opsflow.run.status import build_status

    status = build_status(run.c, run.s, run_id=1, title="t", now=run.now, sop_file="unknown",
                          sop_path="")
    return [p.next_step for p in status.phases]


def test_status_hints_match_what_the_engine_does(tmp_path: Path) -> None:
    """Status said "then advance" when the run moves by itself, "hand off" for a phase
    with no handoff route, and that an `or` condition which holds "does not apply"."""
    run = Runner(compiled_text(REFUND.format(policy="").replace(
        'phase approval "Approval"\n  owner lead\n',
        'phase approval "Approval"\n  owner lead\n  done when\n    - Receipt checked\n').replace(
        "  on approve go to big if amount > 1000\n",
        "  on approve go to big if amount > 1000 or reason is \"fraud\"\n").replace(
        'phase big "Big refund"\n  owner lead\n  handoff to paid\n',
        'phase big "Big refund"\n  owner lead\n  on settle go to paid\nevent settle "Settled"\n'),
        tmp_path))
    run.start(PEOPLE, actor="lee", reason="fraud")
    run.do("handoff", "cal")
    run.do("vote", "mia", decision="approve")
    assert _next_steps(run) == ["tick 1 open item; the approval then moves on by itself"]
    from opsflow.run.status import build_status

    notes = build_status(run.c, run.s, run_id=1, title="t", now=run.now, sop_file="unknown",
                         sop_path="").phases[0].notes
    assert notes == []  # `amount > 1000 or reason is "fraud"` holds without the amount
    run.do("tick", "lee", criterion=1)
    assert run.s.phases == ["big"]
    assert _next_steps(run) == ["fire one of: settle"]


def test_reassign_refuses_what_start_refuses(tmp_path: Path) -> None:
    """`start` refused one manager under `quorum 2`, but `reassign manager mia` on a
    running run was accepted, and so was a manager who had been the clerk: the vote
    waited for ever (issue 20, item 3)."""
    run = refund(tmp_path, "    quorum 2", amount="10")
    assert refused(run, "reassign", "lee", role="manager", people=["mia"]) == (
        "phase approval needs 2 approvals but only 1 of the people bound may vote there "
        "(mia); bind more people to role manager")
    assert refused(run, "reassign", "lee", role="manager", people=["mia", "MIA"]).startswith(
        "phase approval needs 2 approvals but only 1 of the people bound may vote there")
    # a former clerk may not vote (not by clerk): two names, one eligible voter
    run.do("reassign", "lee", role="clerk", people=["cy"])
    assert refused(run, "reassign", "lee", role="manager", people=["mia", "cal"]).startswith(
        "phase approval needs 2 approvals but only 1 of the people bound may vote there (mia)")
    run.do("reassign", "lee", role="manager", people=["mia", "max"])
    assert run.s.assignments["manager"] == ["mia", "max"]
