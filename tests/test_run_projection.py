"""The projection of a run's events: phase visits, ticks and votes per visit, histories.

On hand-built event sequences and on runs driven through the pure run core,
including a rejection loop (visit 2 with fresh ticks and votes) and parallel
tracks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from engine_support import CONTENT_PEOPLE, T0, Runner, compiled, compiled_text
from test_run_events import onboarding_run, records

from opsflow.run.events import Command, Event, Moved, Started, Ticked, Voted, decode
from opsflow.run.projection import (
    AssignmentChange,
    FieldChange,
    Milestone,
    PhaseVisit,
    VisitVote,
    phase_visits,
    project,
    track_starts,
)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def start(phase: str, minute: int = 0, **fields: str) -> Started:
    return Started(1, 1, at(minute), "ann", phase=phase, title="t", assignments={"r": ("ann",)},
                   fields=fields, sop="h", command=Command("start"))


def tick(phase: str, n: int, minute: int, who: str = "wendy") -> Ticked:
    return Ticked(1, 2, at(minute), who, phase=phase, criterion=n, text="x",
                  command=Command("tick"))


def vote(phase: str, who: str, decision: str, minute: int, comment: str = "") -> Voted:
    return Voted(1, 3, at(minute), who, phase=phase, decision=decision, comment=comment,
                 replaces=None, command=Command("vote"))


def move(trigger: str, source: str, target: str | None, minute: int, who: str = "wendy",
         auto: bool = False) -> Moved:
    return Moved(1, 4, at(minute), who, trigger=trigger, from_phase=source, to_phase=target,
                 command=None if auto else Command("handoff"), auto=auto,
                 tally="t" if auto else None)


def test_a_hand_built_loop_gets_a_second_visit_with_fresh_ticks_and_votes() -> None:
    events: list[Event] = [
        start("draft"), tick("draft", 1, 5), move("handoff", "draft", "review", 10),
        vote("review", "ed", "approve", 20), vote("review", "cy", "approve", 25),
        vote("review", "ed", "reject", 30, "typo"),
        move("reject", "review", "draft", 30, who="ed", auto=True),
        move("handoff", "draft", "review", 40), vote("review", "cy", "approve", 50),
    ]
    assert phase_visits(events) == (
        PhaseVisit("draft", 1, at(0), at(5), at(10), "handoff", "wendy", frozenset({1})),
        PhaseVisit("review", 1, at(10), at(20), at(30), "reject", "ed", votes=(
            VisitVote("cy", "approve", "", at(25)), VisitVote("ed", "reject", "typo", at(30)))),
        PhaseVisit("draft", 2, at(30), at(40), at(40), "handoff", "wendy"),
        PhaseVisit("review", 2, at(40), at(50), votes=(VisitVote("cy", "approve", "", at(50)),)),
    )


def test_first_action_ignores_a_move_the_votes_made_and_open_visits_stay_open() -> None:
    events: list[Event] = [start("review"), move("approve", "review", "done", 7, auto=True)]
    first, done = phase_visits(events)
    assert (first.first_action_at, first.exit, first.left_at) == (None, "approve", at(7))
    assert done.open and done.entered_at == at(7)


def test_a_phase_seen_without_its_entry_gets_a_visit_of_unknown_start() -> None:
    assert phase_visits([tick("it-setup", 2, 3)]) == (
        PhaseVisit("it-setup", 1, None, at(3), ticked=frozenset({2})),)


def test_a_move_to_itself_starts_a_new_visit() -> None:
    events: list[Event] = [start("a"), tick("a", 1, 1), move("retry", "a", "a", 2)]
    assert [(v.visit, v.ticked, v.exit) for v in phase_visits(events)] == [
        (1, frozenset({1}), "retry"), (2, frozenset(), None)]


def content(people: dict[str, list[str]] | None = None) -> Runner:
    r = Runner(compiled("content-publishing"))
    r.start(people or CONTENT_PEOPLE, budget="5000")
    return r


def timeline(r: Runner) -> Any:
    return project([decode(e) for e in records(r)], track_starts(r.c))


def test_a_real_rejection_loop() -> None:
    r = content()
    r.tick_all("wendy")
    r.later(hours=1)
    r.do("handoff", "wendy")
    r.tick_all("wendy")
    r.later(hours=1)
    r.do("handoff", "wendy")
    r.later(hours=1)
    r.do("vote", "ed", decision="reject", comment="Too long")
    r.tick_all("wendy")
    r.do("untick", "wendy", criterion=2)
    r.later(hours=1)
    found = timeline(r)
    drafts = found.visits_of("draft")
    assert [(v.visit, v.entered_at, v.left_at, v.exit) for v in drafts] == [
        (1, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2), "handoff"),
        (2, T0 + dt.timedelta(hours=3), None, None)]
    assert (drafts[0].ticked, drafts[1].ticked) == (frozenset({1, 2}), frozenset({1}))
    review = found.latest("internal-review")
    assert (review.visit, review.exit, review.left_by) == (1, "reject", "ed")
    assert review.votes == (VisitVote("ed", "reject", "Too long", T0 + dt.timedelta(hours=3)),)
    assert review.first_action_at == T0 + dt.timedelta(hours=3)
    r.do("tick", "wendy", criterion=2)
    r.do("handoff", "wendy")
    again = timeline(r).latest("internal-review")
    assert (again.visit, again.votes, again.ticked, again.open) == (2, (), frozenset(), True)


def test_milestones_fields_and_assignments() -> None:
    r = content()
    r.do("set", "ann", field="budget", value="20000")
    r.later(minutes=5)
    r.do("reassign", "ann", role="writer", people=["walt"])
    found = timeline(r)
    assert found.fields == (FieldChange("budget", None, "5000", "ann", T0),
                            FieldChange("budget", "5000", "20000", "ann", T0))
    assert found.assignments[0] == AssignmentChange("writer", (), ("wendy",), "ann", T0)
    assert found.assignments[-1] == AssignmentChange(
        "writer", ("wendy",), ("walt",), "ann", T0 + dt.timedelta(minutes=5))
    assert len(found.assignments) == len(CONTENT_PEOPLE) + 1
    r.do("cancel", "ann", reason="gone")
    brief = timeline(r).latest("brief")
    assert (brief.exit, brief.left_by, brief.open) == ("cancel", "ann", False)


def test_parallel_tracks_are_visited_side_by_side_and_joined() -> None:
    r = onboarding_run()
    found = timeline(r)
    order = [v.phase for v in found.visits]
    assert order == ["offer-accepted", "it-setup", "hr-paperwork", "ship-equipment", "day-one",
                     "first-week", "onboarded"]
    handed = T0
    it, hr = found.latest("it-setup"), found.latest("hr-paperwork")
    assert (it.entered_at, hr.entered_at) == (handed, handed)
    assert (it.exit, it.ticked) == ("handoff", frozenset({1, 2, 3}))
    day_one = found.latest("day-one")
    assert day_one.entered_at == T0 + dt.timedelta(hours=2)  # when the last track joined
    end = found.latest("onboarded")
    assert (end.exit, end.left_by) == ("handoff", "pat")
    assert all(not v.open for v in found.visits)
    assert found.milestones == (Milestone("new-hire-productive", "New hire productive",
                                          "first-week", T0 + dt.timedelta(hours=2)),)


def test_without_the_blocks_a_tracks_first_phase_has_no_known_entry() -> None:
    r = onboarding_run()
    found = project([decode(e) for e in records(r)])
    assert found.latest("it-setup").entered_at is None
    assert found.latest("ship-equipment").entered_at == T0  # entered by a move: known


def test_an_end_phase_without_a_checklist_is_left_by_the_finish(tmp_path: Path) -> None:
    c = compiled_text("""\
sop s "S"
  owner boss
role boss "Boss"
phase work "Work"
  owner boss
  handoff to done
phase done "Done"
  owner boss
  milestone "Shipped" owner boss
  end
""", tmp_path)
    r = Runner(c)
    r.start({"boss": ["bo"]}, actor="bo")
    r.later(minutes=3)
    r.do("handoff", "bo")
    found = timeline(r)
    done = found.latest("done")
    assert (done.entered_at, done.left_at, done.exit, done.left_by) == (
        at(3), at(3), "finish", "bo")
    assert [(m.title, m.phase, m.at) for m in found.milestones] == [("Shipped", "done", at(3))]
