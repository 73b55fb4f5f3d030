"""The pure run core: every action, every refusal text in full, replay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from engine_support import (
    CONTENT_PEOPLE,
    ONBOARDING_PEOPLE,
    T0,
    Runner,
    assert_replays,
    compiled,
    compiled_text,
    refused,
)

from opsflow.run.core import Action, Change, NotAllowed, RunError, apply, replay
from opsflow.run.state import RunState


@pytest.fixture
def content() -> Runner:
    run = Runner(compiled("content-publishing"))
    run.start(CONTENT_PEOPLE, budget="20000")
    return run


def to_review(run: Runner) -> None:
    run.tick_all("wendy")
    run.do("handoff", "wendy")
    run.tick_all("wendy")
    run.do("handoff", "wendy")
    assert run.s.phases == ["internal-review"]


def vote_sop(tmp: Path, policy: str = "", checklist: str = "", sop_owner: str = "r") -> Runner:
    """A one-vote SOP: phase a (owner r, approval by board) goes to end b or end c."""
    roles = 'role r "R"\nrole board "Board"\n' + ('role boss "Boss"\n' if sop_owner == "boss"
                                                   else "")
    done = f"  done when\n    - {checklist}\n" if checklist else ""
    return Runner(compiled_text(
        f'sop t "T"\n  owner {sop_owner}\n{roles}'
        f'phase a "A"\n  owner r\n{done}  approval by board\n{policy}'
        "  on approve go to b\n  on reject go to c\n"
        'phase b "B"\n  owner r\n  end\nphase c "C"\n  owner r\n  end\n', tmp))


# ---- a whole run -------------------------------------------------------------------


def test_full_content_publishing_run(content: Runner) -> None:
    run = content
    assert run.s.phases == ["brief"]
    assert run.s.tokens[0].due_at == "2025-01-07T09:00:00+00:00"  # 2 business days from Friday
    to_review(run)
    changes = run.do("vote", "ed", decision="reject", comment="Too long")
    assert [(c.action, c.from_phase, c.to_phase) for c in changes] == [
        ("vote", "internal-review", None), ("reject", "internal-review", "draft")]
    assert changes[1].payload["auto"] is True
    assert run.s.phases == ["draft"] and run.s.ticked == {}  # re-entered fresh
    run.tick_all("wendy")
    run.do("handoff", "wendy")
    run.do("vote", "ed", decision="approve", comment="")
    assert run.s.phases == ["client-review"]
    run.do("vote", "cli", decision="approve")
    assert run.s.phases == ["finance-sign-off"]  # budget > 10000
    run.do("vote", "fin", decision="approve")
    assert run.s.phases == ["publish"]
    run.do("tick", "ed", criterion="piece is live")
    changes = run.do("handoff", "ed")
    assert [(c.action, c.from_phase, c.to_phase) for c in changes] == [
        ("handoff", "publish", None), ("milestone", "publish", None),
        ("finish", "publish", None)]
    assert run.s.status == "done" and run.s.outcome == "publish" and run.s.tokens == []
    assert run.s.milestones == {"campaign-live": T0.isoformat()}
    assert_replays(run)
    assert refused(run, "tick", "ed", criterion=1) == (
        "the run is finished in phase publish; it cannot change any more; start a new run")


def test_small_budget_skips_finance() -> None:
    run = Runner(compiled("content-publishing"))
    run.start(CONTENT_PEOPLE, budget="500")
    to_review(run)
    run.do("vote", "ed", decision="approve")
    run.do("vote", "cli", decision="approve")
    assert run.s.phases == ["publish"]


def test_an_unset_field_never_lets_a_decision_skip_the_approval_it_guards() -> None:
    """Issue 7: a run without `budget` took the "otherwise" route past finance."""
    run = Runner(compiled("content-publishing"))
    run.start(CONTENT_PEOPLE)
    to_review(run)
    run.do("vote", "ed", decision="approve")
    run.do("vote", "cli", decision="approve")
    # decided, but `approve → finance-sign-off if budget > 10000` cannot be decided: it waits
    assert run.s.phases == ["client-review"]
    assert refused(run, "advance", "ann") == (
        "phase client-review cannot choose its route: `budget > 10000` reads field budget, "
        "which is not set; set budget first")
    run.do("set", "ann", field="budget", value="20000")
    assert run.s.phases == ["finance-sign-off"]
    assert_replays(run)


# ---- refusals, in full -----------------------------------------------------------------


def test_handoff_by_someone_else_names_the_owner(content: Runner) -> None:
    assert refused(content, "handoff", "ed") == (
        "ed may not hand off phase brief; only role writer (wendy) may")


def test_handoff_with_open_items_lists_them(content: Runner) -> None:
    content.do("tick", "wendy", criterion=2)
    assert refused(content, "handoff", "wendy") == (
        "phase brief has 1 open checklist item (1. Audience, goal and call to action are "
        "written down); tick it first")


def test_tick_by_someone_else(content: Runner) -> None:
    assert refused(content, "tick", "sam", criterion=1) == (
        "sam may not tick the checklist of phase brief; only role writer (wendy) may")


def test_unknown_criterion_shows_the_checklist(content: Runner) -> None:
    listed = ("1. Audience, goal and call to action are written down; "
              "2. Target keywords are agreed with SEO")
    assert refused(content, "tick", "wendy", criterion=3) == (
        f"phase brief has no criterion 3; its checklist: {listed}")
    assert refused(content, "tick", "wendy", criterion="budget") == (
        f"no criterion of phase brief starts with 'budget'; its checklist: {listed}")


def test_ambiguous_criterion_prefix(tmp_path: Path) -> None:
    run = Runner(compiled_text(
        'sop t "T"\n  owner r\nrole r "R"\nphase a "A"\n  owner r\n  done when\n'
        "    - Check the logs\n    - Check the alerts\n  handoff to b\n"
        'phase b "B"\n  owner r\n  end\n', tmp_path))
    run.start({"r": ["x"]}, actor="x")
    assert refused(run, "tick", "x", criterion="check") == (
        "'check' starts criteria 1, 2 of phase a; give more of the text, or the number")
    run.do("tick", "x", criterion="check the a")
    assert run.s.ticked == {"a": [2]}


def test_tick_twice_and_untick_unticked(content: Runner) -> None:
    content.do("tick", "wendy", criterion=1)
    assert refused(content, "tick", "wendy", criterion=1) == (
        "criterion 1 of phase brief is already ticked; nothing to do")
    assert refused(content, "untick", "wendy", criterion=2) == (
        "criterion 2 of phase brief is not ticked; nothing to do")
    content.do("untick", "wendy", criterion=1)
    assert content.s.ticked == {"brief": []}
    assert_replays(content)


def test_wrong_phase_actions(content: Runner) -> None:
    assert refused(content, "vote", "cli", decision="approve") == (
        "phase brief has no approval; nobody votes there (active: brief)")
    assert refused(content, "advance", "ann") == (
        "phase brief has no approval to advance; it moves on with: handoff")
    to_review(content)
    assert refused(content, "handoff", "ed") == (
        "phase internal-review has no handoff; it moves on by itself once its approval is "
        "decided (vote approve or reject)")
    assert refused(content, "tick", "ed", criterion=1, phase="brief") == (
        "phase brief is not active in this run (active: internal-review); name an active phase")


def test_vote_by_someone_without_authority(content: Runner) -> None:
    to_review(content)
    assert refused(content, "vote", "cli", decision="approve") == (
        "cli may not vote on phase internal-review; only role editor (ed) may")


def test_separation_of_duties_binds_people(content: Runner) -> None:
    to_review(content)
    content.do("vote", "ed", decision="approve")
    # wendy holds client (approves) and writer (`not by writer`)
    for decision in ("approve", "reject", "abstain"):
        assert refused(content, "vote", "wendy", decision=decision, comment="x") == (
            "wendy may not vote on phase client-review: wendy holds or has held role writer in "
            "this run, which may not approve it (separation of duties); eligible voters: cli")
    # a reassignment that gives her the approving role alone leaves nobody to vote: refused
    assert refused(content, "reassign", "ann", role="client", people=["wendy"]) == (
        "phase client-review needs 1 approval but only 0 of the people bound may vote there "
        "(nobody); bind more people to role client")
    content.do("reassign", "ann", role="client", people=["wendy", "cleo"])
    assert refused(content, "vote", "wendy", decision="approve") == (
        "wendy may not vote on phase client-review: wendy holds or has held role writer in "
        "this run, which may not approve it (separation of duties); eligible voters: cleo")
    assert_replays(content)


def test_rejection_needs_a_reason(content: Runner) -> None:
    to_review(content)
    assert refused(content, "vote", "ed", decision="reject", comment="  ") == (
        'a rejection needs a reason; say why in a comment')
    assert refused(content, "vote", "ed", decision="maybe") == (
        "a vote is approve, reject or abstain, not 'maybe'")


def test_unknown_things_at_start() -> None:
    run = Runner(compiled("content-publishing"))
    with pytest.raises(RunError) as info:
        run.start({"author": ["x"]})
    assert str(info.value) == ("unknown role author; roles of this SOP: writer, editor, "
                               "account, client, seo, finance")
    with pytest.raises(RunError) as info:
        run.start(CONTENT_PEOPLE, cost="1")
    assert str(info.value) == "unknown field cost; fields of this SOP: budget"
    with pytest.raises(RunError) as info:
        run.start(CONTENT_PEOPLE, budget="a lot")
    assert str(info.value) == ("field budget is a number; 'a lot' is not one "
                               "(write digits like 12000 or 12.5)")
    with pytest.raises(RunError) as info:
        run.start({"writer": [" "]})
    assert str(info.value) == "role writer needs at least one person; name who holds it"
    with pytest.raises(RunError) as info:
        run.do("start", "ann", title=" ")
    assert str(info.value) == 'a run needs a title; give one, like "ACME spring campaign"'
    with pytest.raises(RunError) as info:
        run.start(CONTENT_PEOPLE, actor=" ")
    assert str(info.value) == "the person acting is empty; give a name"


def test_unknown_action_and_restart(content: Runner) -> None:
    assert refused(content, "dance", "ann") == (
        "unknown action 'dance'; actions: start, tick, untick, vote, handoff, fire, set, "
        "reassign, cancel, advance")
    assert refused(content, "start", "ann", title="again") == (
        "the run has already started; act on it instead")


# ---- votes -----------------------------------------------------------------------


def test_changed_vote_replaces_the_earlier_one_and_both_are_events(tmp_path: Path) -> None:
    run = vote_sop(tmp_path, "    quorum 2\n")
    run.start({"r": ["owner"], "board": ["x", "y", "z"]}, actor="owner")
    run.do("vote", "x", decision="reject", comment="no")
    first = run.do("vote", "x", decision="approve", comment="convinced")
    assert first[0].payload["replaces"] == "reject"
    assert run.s.votes["a"]["x"]["decision"] == "approve"
    assert [c.payload.get("decision") for _, _, c in run.log if c.action == "vote"] == [
        "reject", "approve"]
    run.do("vote", "y", decision="approve")
    assert run.s.status == "done" and run.s.outcome == "b"
    assert_replays(run)


def test_voting_window_and_advance(tmp_path: Path) -> None:
    run = vote_sop(tmp_path, "    quorum 1\n    open at least 24 hours\n", sop_owner="boss")
    run.start({"r": ["olga"], "boss": ["bo"], "board": ["x"]}, actor="olga")
    run.do("vote", "x", decision="approve")
    assert run.s.phases == ["a"]  # the window holds the decision back
    assert refused(run, "advance", "olga") == (
        "the approval of phase a is not decided: approved (1 approve, 0 reject, 0 abstain); "
        "voting stays open until 2025-01-04 09:00 UTC; wait for the votes")
    run.later(hours=24)
    assert refused(run, "advance", "x") == (
        "x may not advance phase a; only roles r or boss (olga, bo) may")
    changes = run.do("advance", "bo")
    assert [(c.action, c.to_phase) for c in changes] == [("approve", "b"), ("finish", None)]
    assert "auto" not in changes[0].payload
    assert run.s.outcome == "b"
    assert_replays(run)


def test_approve_waits_for_the_checklist_then_moves_on_the_last_tick(tmp_path: Path) -> None:
    run = vote_sop(tmp_path, checklist="Minutes are filed")
    run.start({"r": ["olga"], "board": ["x"]}, actor="olga")
    run.do("vote", "x", decision="approve")
    assert run.s.phases == ["a"]
    assert refused(run, "advance", "olga") == (
        "phase a has 1 open checklist item (1. Minutes are filed); tick it first")
    changes = run.do("tick", "olga", criterion=1)
    assert [c.action for c in changes] == ["tick", "approve", "finish"]
    assert_replays(run)


# ---- events, fields, reassign, cancel -----------------------------------------------------


def test_named_event_by_its_roles_only() -> None:
    run = Runner(compiled("change-management"))
    run.start({"change-owner": ["co"], "change-manager": ["cm"], "service-owner": ["so"],
               "cab": ["c1", "c2"], "security": ["sec"]}, actor="co")
    assert refused(run, "fire", "co", event="emergency") == (
        "co may not fire event emergency in phase request; only roles change-manager or "
        "service-owner (cm, so) may")
    assert refused(run, "fire", "cm", event="failed") == (
        "event failed does not apply in phase request; it applies in: implementation")
    assert refused(run, "fire", "cm", event="meteor") == (
        "unknown event meteor; events of this SOP: emergency, failed")
    changes = run.do("fire", "so", event="emergency")
    assert [(c.action, c.from_phase, c.to_phase) for c in changes] == [
        ("emergency", "request", "emergency-approval")]
    assert run.s.tokens[0].due_at == "2025-01-03T09:30:00+00:00"  # due 30 minutes
    assert_replays(run)


def test_no_route_applies_names_the_unset_fields() -> None:
    run = Runner(compiled("employee-onboarding"))
    run.start(ONBOARDING_PEOPLE, actor="pat")
    run.tick_all("pat")
    run.do("handoff", "pat")
    run.tick_all("ivan", "it-setup")
    # it-setup: `handoff to ship-equipment if work-location != office` then `handoff to join`
    assert refused(run, "handoff", "ivan") == (
        "phase it-setup cannot choose its route: `work-location != office` reads field "
        "work-location, which is not set; set work-location first")
    run.do("set", "ivan", field="work-location", value="office", )
    run.do("handoff", "ivan")
    assert run.s.phases == ["hr-paperwork"]


def test_no_route_applies_message(tmp_path: Path) -> None:
    run = Runner(compiled_text(
        'sop t "T"\n  owner r\nrole r "R"\nfield risk "Risk" one of low, high\n'
        'field budget "Budget" number\n'
        'phase a "A"\n  owner r\n  handoff to b if risk is high\n'
        "  handoff to c if budget > 100 and risk is low\n"
        'phase b "B"\n  owner r\n  end\nphase c "C"\n  owner r\n  end\n', tmp_path))
    run.start({"r": ["x"]}, actor="x")
    assert refused(run, "handoff", "x") == (
        "phase a cannot choose its route: `risk = high` reads field risk, which is not set; "
        "set risk first")
    run.do("set", "x", field="risk", value="low")
    run.do("set", "x", field="budget", value="5")
    assert refused(run, "handoff", "x") == (
        "no handoff route of phase a applies (`risk = high` is false; "
        "`budget > 100 and risk = low` is false); "
        "change the fields its routes read, or take another route")
    run.do("set", "x", field="risk", value="high")
    run.do("handoff", "x")
    assert run.s.outcome == "b"
    assert_replays(run)


def test_set_field_typed_and_by_whom(content: Runner) -> None:
    assert refused(content, "set", "cli", field="budget", value="5") == (
        "cli may not set field budget; only roles account or writer (ann, wendy) may")
    assert refused(content, "set", "ann", field="budget", value="five") == (
        "field budget is a number; 'five' is not one (write digits like 12000 or 12.5)")
    changes = content.do("set", "ann", field="budget", value="5000")
    assert changes[0].payload == {"action": {"kind": "set", "field": "budget", "value": "5000"},
                                  "field": "budget", "value": "5000", "previous": "20000"}
    assert content.s.fields == {"budget": "5000"}


def test_reassign_only_by_accountable_or_sop_owner(content: Runner) -> None:
    assert refused(content, "reassign", "wendy", role="writer", people=["walt"]) == (
        "wendy may not reassign role writer; only role account (ann) may")
    content.do("reassign", "ann", role="writer", people=["walt", "walt", " wes "])
    assert content.s.assignments["writer"] == ["walt", "wes"]
    assert refused(content, "tick", "wendy", criterion=1) == (
        "wendy may not tick the checklist of phase brief; only role writer (walt, wes) may")
    content.do("tick", "wes", criterion=1)
    assert refused(content, "reassign", "ann", role="ghost", people=["x"]) == (
        "unknown role ghost; roles of this SOP: writer, editor, account, client, seo, finance")
    assert_replays(content)


def test_reassign_can_decide_a_pending_vote(tmp_path: Path) -> None:
    run = vote_sop(tmp_path, "    quorum all\n", sop_owner="boss")
    run.start({"boss": ["bo"], "r": ["olga"], "board": ["x", "y"]}, actor="bo")
    run.do("vote", "x", decision="approve")
    assert run.s.phases == ["a"]
    changes = run.do("reassign", "bo", role="board", people=["x"])
    assert [c.action for c in changes] == ["reassign", "approve", "finish"]
    assert_replays(run)


def test_cancel_only_by_the_sop_owner(content: Runner) -> None:
    assert refused(content, "cancel", "wendy") == (
        "wendy may not cancel the run; only role account (ann) may")
    changes = content.do("cancel", "ann", reason="client left")
    assert (changes[0].action, changes[0].from_phase, changes[0].payload["reason"]) == (
        "cancel", "brief", "client left")
    assert (content.s.status, content.s.outcome, content.s.tokens) == ("cancelled",
                                                                        "cancelled", [])
    assert refused(content, "tick", "wendy", criterion=1) == (
        "the run is cancelled; it cannot change any more; start a new run")
    assert_replays(content)


def test_nobody_bound_to_the_owner_role() -> None:
    """Only what the first phase needs is refused at start (the SOP owner binds the
    roles of later phases when the run gets there: tests/test_run_binding.py)."""
    run = Runner(compiled("content-publishing"))
    with pytest.raises(RunError) as info:
        run.start({"account": ["ann"]})
    assert str(info.value) == (
        "nobody holds role writer (the owner of phase brief), so the run could not finish; "
        "bind somebody to each of them")
    with pytest.raises(RunError) as info:
        run.start({"writer": ["wendy"]})
    assert str(info.value) == (
        "nobody holds role account (the SOP owner), so the run could not finish; bind "
        "somebody to each of them")


# ---- parallel tracks ------------------------------------------------------------------------


def test_onboarding_parallel_tracks_fork_and_join() -> None:
    run = Runner(compiled("employee-onboarding"))
    run.start(ONBOARDING_PEOPLE, actor="pat", **{"work-location": "remote"})
    run.tick_all("pat")
    changes = run.do("handoff", "pat")
    assert (changes[0].to_phase, run.s.phases) == ("preparation", ["it-setup", "hr-paperwork"])
    assert [t.tracks for t in run.s.tokens] == [[["preparation", 0]], [["preparation", 1]]]
    # a number matches both checklists: the phase the actor owns is meant
    run.do("tick", "pat", criterion=1)
    assert run.s.ticked == {"hr-paperwork": [1]}
    for n in (2, 3, 4):
        run.do("tick", "pat", criterion=n)
    changes = run.do("handoff", "pat")
    assert [(c.action, c.to_phase) for c in changes] == [("handoff", "join")]
    assert run.s.phases == ["it-setup"] and run.s.joined == {"preparation": [1]}
    run.tick_all("ivan", "it-setup")
    run.do("handoff", "ivan")
    assert run.s.phases == ["ship-equipment"]  # remote hire
    run.tick_all("ivan", "ship-equipment")
    changes = run.do("handoff", "ivan")
    assert [(c.action, c.from_phase, c.to_phase) for c in changes] == [
        ("handoff", "ship-equipment", "join"), ("join", "preparation", "day-one")]
    assert run.s.phases == ["day-one"] and run.s.joined == {}
    assert run.s.tokens[0].tracks == []
    assert run.s.tokens[0].due_at == "2025-01-03T17:00:00+00:00"  # due 8 hours
    assert_replays(run)


def test_several_active_phases_need_a_phase_name() -> None:
    run = Runner(compiled("employee-onboarding"))
    run.start({**ONBOARDING_PEOPLE, "it": ["pat"]}, actor="pat")
    run.tick_all("pat")
    run.do("handoff", "pat")
    assert refused(run, "tick", "pat", criterion=1) == (
        "the run has 2 active phases (it-setup, hr-paperwork); name the one to tick")
    run.do("tick", "pat", criterion=1, phase="it-setup")
    assert run.s.ticked == {"it-setup": [1]}


def test_event_ends_the_run_in_an_end_phase() -> None:
    run = Runner(compiled("employee-onboarding"))
    run.start(ONBOARDING_PEOPLE, actor="pat")
    run.do("fire", "max", event="offer-withdrawn")
    assert run.s.phases == ["cancelled"] and run.s.status == "active"  # it has a checklist
    run.tick_all("pat")
    run.do("handoff", "pat")
    assert (run.s.status, run.s.outcome) == ("done", "cancelled")
    assert_replays(run)


# ---- replay -----------------------------------------------------------------------------


def test_replay_detects_a_changed_event(content: Runner) -> None:
    to_review(content)
    actor, at, change = content.log[2]
    assert change.action == "tick"
    forged = Change(change.action, change.from_phase, change.to_phase,
                    {**change.payload, "text": "something else"})
    log = [*content.log[:2], (actor, at, forged), *content.log[3:]]
    _state, problems = replay(content.c, log)
    assert problems == ["event 3 differs from what tick produces on replay"]
    content.do("vote", "ed", decision="approve")  # a vote and the approve it caused
    actor, at, auto = content.log[-1]
    moved = Change(auto.action, auto.from_phase, "publish", auto.payload)
    _state, problems = replay(content.c, [*content.log[:-1], (actor, at, moved)])
    n = len(content.log)
    assert problems == [f"events {n - 1}-{n} differ from what vote produces on replay"]


def test_replay_detects_an_event_that_follows_from_nothing(content: Runner) -> None:
    content.do("tick", "wendy", criterion=1)
    stray = ("x", T0, Change("handoff", "brief", "draft", {}))
    _state, problems = replay(content.c, [*content.log, stray])
    assert problems == ["event 3 (handoff) follows from no action"]
    refusal = ("x", T0, Change("refused", "brief", None, {"reason": "no"}))
    assert replay(content.c, [*content.log, refusal])[1] == []


def test_replay_reports_an_action_that_cannot_be_replayed(content: Runner) -> None:
    bogus = ("sam", T0, Change("tick", "brief", None,
                               {"action": {"kind": "tick", "criterion": 1, "phase": "brief"}}))
    _state, problems = replay(content.c, [*content.log, bogus])
    assert problems == ["event 2 (tick) cannot be replayed: sam may not tick the checklist of "
                        "phase brief; only role writer (wendy) may"]


def test_state_round_trips_through_dicts(content: Runner) -> None:
    to_review(content)
    data = content.s.to_dict()
    assert RunState.from_dict(data).to_dict() == data
    assert content.s.due_at() is None  # internal review has no due
    content.do("vote", "ed", decision="approve")
    assert content.s.due_at() == dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC)


def test_apply_does_not_change_the_state_it_was_given(content: Runner) -> None:
    before = content.s.to_dict()
    state, _ = apply(content.c, content.s, Action("tick", {"criterion": 1}), "wendy", T0)
    assert content.s.to_dict() == before and state.ticked == {"brief": [1]}
    with pytest.raises(NotAllowed):
        apply(content.c, content.s, Action("handoff", {}), "ed", T0)
