"""The typed event vocabulary: decoding stored records, giving their payloads back.

Real event logs come from runs driven through the pure run core
(``engine_support.Runner``); the kinds the run core does not write yet
(``no-quorum``, ``reopen``, advisory votes, fired events with a comment) and
broken payloads are hand-built records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from engine_support import CONTENT_PEOPLE, ONBOARDING_PEOPLE, T0, Runner, compiled

from opsflow.run.events import (
    Cancelled,
    Command,
    FieldSet,
    Finished,
    Joined,
    MilestoneReached,
    Moved,
    Reassigned,
    Refused,
    Reopened,
    Started,
    Ticked,
    Unreadable,
    Unticked,
    Voted,
    decode,
    to_json,
)
from opsflow.store import EventRecord


def records(runner: Runner) -> list[EventRecord]:
    return [EventRecord(7, seq, at, actor, change.action, change.from_phase, change.to_phase,
                        change.payload, "", "")
            for seq, (actor, at, change) in enumerate(runner.log, 1)]


def record(action: str, payload: Any, from_phase: str | None = "review",
           to_phase: str | None = None, seq: int = 3) -> EventRecord:
    return EventRecord(7, seq, T0, "ann", action, from_phase, to_phase, payload, "", "")


def content_run() -> Runner:
    """content-publishing with a rejection loop, a set, a reassign, a cancel."""
    r = Runner(compiled("content-publishing"))
    r.start(CONTENT_PEOPLE, budget="5000")
    r.tick_all("wendy")
    r.do("untick", "wendy", criterion=2)
    r.do("tick", "wendy", criterion=2)
    r.do("handoff", "wendy")
    r.tick_all("wendy")
    r.do("handoff", "wendy")
    r.do("vote", "ed", decision="reject", comment="Too long")
    r.tick_all("wendy")
    r.do("handoff", "wendy")
    r.do("vote", "ed", decision="approve", comment="")
    r.do("set", "ann", field="budget", value="20000")
    r.do("reassign", "ann", role="writer", people=["walt", "wes"])
    r.do("vote", "cli", decision="approve", comment="Good")
    r.do("cancel", "ann", reason="client left")
    return r


def onboarding_run() -> Runner:
    """employee-onboarding through its parallel tracks into day one, and on to the end."""
    r = Runner(compiled("employee-onboarding"))
    r.start(ONBOARDING_PEOPLE, actor="pat", **{"start-date": "2025-02-03",
                                               "work-location": "remote",
                                               "laptop": "standard", "job-title": "Cook"})
    r.tick_all("pat")
    r.do("handoff", "pat")
    r.tick_all("ivan", "it-setup")
    r.do("handoff", "ivan", phase="it-setup")
    r.tick_all("pat", "hr-paperwork")
    r.do("handoff", "pat", phase="hr-paperwork")
    r.later(hours=2)
    r.tick_all("ivan", "ship-equipment")
    r.do("handoff", "ivan", phase="ship-equipment")
    for phase, person in (("day-one", "max"), ("first-week", "bud"), ("onboarded", "pat")):
        r.tick_all(person, phase)
        r.do("handoff", person, phase=phase)
    return r


@pytest.mark.parametrize("make", [content_run, onboarding_run], ids=["content", "onboarding"])
def test_every_event_of_a_real_run_decodes_and_gives_its_payload_back(make: Any) -> None:
    for stored in records(make()):
        event = decode(stored)
        assert not isinstance(event, Unreadable), event
        assert event.payload() == stored.payload
        assert (event.run_id, event.seq, event.at, event.actor) == (
            stored.run_id, stored.seq, stored.at, stored.actor)
        assert event.extra == {}


def test_the_kinds_of_a_real_run() -> None:
    events = [decode(r) for r in records(content_run())]
    kinds = [type(e).__name__ for e in events]
    assert kinds[:6] == ["Started", "Ticked", "Ticked", "Unticked", "Ticked", "Moved"]
    assert {"Voted", "FieldSet", "Reassigned", "Cancelled"} <= set(kinds)
    start = events[0]
    assert isinstance(start, Started)
    assert (start.phase, start.title, start.fields) == ("brief", "A run", {"budget": "5000"})
    assert start.assignments["client"] == ("cli", "wendy")
    untick = events[3]
    assert isinstance(untick, Unticked)
    assert (untick.phase, untick.criterion, untick.text) == (
        "brief", 2, "Target keywords are agreed with SEO")
    reject = next(e for e in events if isinstance(e, Moved) and e.trigger == "reject")
    assert (reject.from_phase, reject.to_phase, reject.auto, reject.command) == (
        "internal-review", "draft", True, None)
    assert reject.tally == ("rejected: 1 approval can no longer be reached (0 approve, "
                            "1 reject, 0 abstain)")
    handoff = events[5]
    assert isinstance(handoff, Moved) and handoff.by_person
    assert handoff.command == Command("handoff", {"phase": "brief"})
    change = next(e for e in events if isinstance(e, FieldSet))
    assert (change.field, change.previous, change.value) == ("budget", "5000", "20000")
    people = next(e for e in events if isinstance(e, Reassigned))
    assert (people.role, people.previous, people.people) == ("writer", ("wendy",),
                                                             ("walt", "wes"))
    cancel = events[-1]
    assert isinstance(cancel, Cancelled)
    assert (cancel.phases, cancel.reason) == (("finance-sign-off",), "client left")


def test_parallel_tracks_joins_milestones_and_the_finish() -> None:
    events = [decode(r) for r in records(onboarding_run())]
    to_join = [e for e in events if isinstance(e, Moved) and e.to_phase == "join"]
    assert [e.from_phase for e in to_join] == ["hr-paperwork", "ship-equipment"]
    joined = next(e for e in events if isinstance(e, Joined))
    assert (joined.block, joined.then) == ("preparation", "day-one")
    milestone = next(e for e in events if isinstance(e, MilestoneReached))
    assert milestone.payload() == {"milestone": milestone.milestone, "title": milestone.title}
    last, finish = events[-2], events[-1]
    assert isinstance(last, Moved) and (last.from_phase, last.to_phase) == ("onboarded", None)
    assert isinstance(finish, Finished) and finish.outcome == "onboarded"


def test_a_refused_attempt() -> None:
    payload = {"attempt": {"kind": "handoff", "phase": "draft"}, "error": "NotAllowed",
               "reason": "ed may not hand off phase draft; only role writer (wendy) may"}
    event = decode(record("refused", payload, "draft"))
    assert event == Refused(7, 3, T0, "ann", phase="draft",
                            attempt=Command("handoff", {"phase": "draft"}),
                            reason=payload["reason"], error="NotAllowed")
    assert event.payload() == payload


def test_the_events_the_lead_adds() -> None:
    quorum = {"auto": True, "tally": "no quorum: 2 of 3 approvals can no longer be reached"}
    event = decode(record("no-quorum", quorum, "review", "request"))
    assert isinstance(event, Moved)
    assert (event.trigger, event.auto, event.tally) == ("no-quorum", True, quorum["tally"])
    assert event.payload() == quorum

    fired = {"action": {"kind": "fire", "event": "escalate", "phase": "review",
                        "comment": "stuck for a week"}, "comment": "stuck for a week"}
    event = decode(record("escalate", fired, "review", "board"))
    assert isinstance(event, Moved) and event.by_person
    assert (event.trigger, event.comment, event.command and event.command.kind) == (
        "escalate", "stuck for a week", "fire")
    assert event.payload() == fired

    advisory = {"action": {"kind": "vote", "decision": "approve", "comment": "",
                           "phase": "review"},
                "decision": "approve", "comment": "", "replaces": None, "counted": False}
    event = decode(record("vote", advisory))
    assert isinstance(event, Voted) and not event.counted
    assert event.payload() == advisory

    reopen = {"field": "amount", "approval": "approval"}
    event = decode(record("reopen", reopen, "order", "approval"))
    assert event == Reopened(7, 3, T0, "ann", from_phase="order", approval="approval",
                             field="amount")
    assert event.payload() == reopen


def test_unknown_actions_with_phases_are_moves_and_unknown_keys_are_kept() -> None:
    event = decode(record("escalate", {"why": "late"}, "review", "board"))
    assert isinstance(event, Moved)
    assert (event.trigger, event.command, event.extra) == ("escalate", None, {"why": "late"})
    assert event.payload() == {"why": "late"}
    tick = decode(record("tick", {"action": {"kind": "tick", "criterion": 1, "phase": "a"},
                                  "text": "Done", "by_bot": True}, "a"))
    assert isinstance(tick, Ticked) and tick.extra == {"by_bot": True}
    assert tick.payload()["by_bot"] is True


BROKEN = [
    ("a list", "tick", ["x"], "a", None, "tick event 3: the payload is list, not a dict"),
    ("no action", "tick", {"text": "Done"}, "a", None, "tick event 3: the payload has no action"),
    ("action not a dict", "set", {"action": "set", "field": "f", "value": "1", "previous": None},
     None, None, "set event 3: action is str, not an action dict"),
    ("action without kind", "cancel", {"action": {"reason": "x"}}, "a", None,
     "cancel event 3: the action dict has no kind"),
    ("criterion as text", "tick", {"action": {"kind": "tick", "criterion": "1"}, "text": "t"},
     "a", None, "tick event 3: the action's criterion is str, not a number"),
    ("criterion as bool", "untick", {"action": {"kind": "untick", "criterion": True},
                                     "text": "t"},
     "a", None, "untick event 3: the action's criterion is bool, not a number"),
    ("tick without phase", "tick", {"action": {"kind": "tick", "criterion": 1}, "text": "t"},
     None, None, "tick event 3: the event has no from phase"),
    ("bad decision", "vote", {"action": {"kind": "vote"}, "decision": "maybe"}, "a", None,
     "vote event 3: 'maybe' is not a decision (approve, reject or abstain)"),
    ("counted as text", "vote", {"action": {"kind": "vote"}, "decision": "approve",
                                 "counted": "no"},
     "a", None, "vote event 3: counted is str, not true or false"),
    ("people not a list", "reassign", {"action": {"kind": "reassign"}, "role": "r",
                                       "people": "ann", "previous": []},
     None, None, "reassign event 3: people is str, not a list of names"),
    ("milestone without title", "milestone", {"milestone": "m"}, "a", None,
     "milestone event 3: the payload has no title"),
    ("join without then", "join", {}, "block", None, "join event 3: the event has no to phase"),
    ("move from nowhere", "handoff", {"action": {"kind": "handoff"}}, None, "b",
     "handoff event 3: the event has no from phase"),
    ("move to nowhere by nobody", "approve", {}, "a", None,
     "approve event 3: a approve event needs an action, auto or a to phase"),
    ("reopen elsewhere", "reopen", {"field": "f", "approval": "review"}, "a", "order",
     "reopen event 3: the event goes to order but reopens review"),
    ("start fields nested", "start", {"action": {"kind": "start", "title": "t",
                                                 "fields": {"f": [1]}}, "sop": "h"},
     None, "a", "start event 3: a field value is list, not text"),
    ("start without title", "start", {"action": {"kind": "start"}, "sop": "h"}, None, "a",
     "start event 3: the action has no title"),
]


@pytest.mark.parametrize(("action", "payload", "source", "target", "reason"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_payload_that_does_not_fit_is_unreadable_not_an_error(
        action: str, payload: Any, source: str | None, target: str | None, reason: str) -> None:
    event = decode(record(action, payload, source, target))
    assert isinstance(event, Unreadable)
    assert event.reason == reason
    assert (event.action, event.from_phase, event.to_phase) == (action, source, target)
    assert event.payload() == payload


def test_json_names_every_field() -> None:
    stored = record("set", {"action": {"kind": "set", "field": "budget", "value": "9"},
                            "field": "budget", "value": "9", "previous": None}, None)
    assert to_json(decode(stored)) == {
        "kind": "set", "run_id": 7, "seq": 3, "at": "2025-01-03T09:00:00+00:00",
        "actor": "ann", "field": "budget", "value": "9", "previous": None,
        "command": {"kind": "set", "field": "budget", "value": "9"}, "extra": {}}
    moved = decode(record("no-quorum", {"auto": True, "tally": "t"}, "review", "request"))
    assert to_json(moved) == {
        "kind": "move", "run_id": 7, "seq": 3, "at": "2025-01-03T09:00:00+00:00",
        "actor": "ann", "trigger": "no-quorum", "from_phase": "review", "to_phase": "request",
        "command": None, "auto": True, "tally": "t", "comment": "", "extra": {}}


def test_decoded_events_do_not_share_the_record_payload() -> None:
    payload = {"action": {"kind": "reassign", "role": "r", "people": ["a"]}, "role": "r",
               "people": ["a"], "previous": []}
    event = decode(record("reassign", payload, None))
    payload["action"]["people"].append("b")  # type: ignore[index]
    assert isinstance(event, Reassigned)
    assert event.command.to_dict()["people"] == ["a"]
    assert event.at == dt.datetime(2025, 1, 3, 9, 0, tzinfo=dt.UTC)


def test_a_fired_event_is_a_move_whatever_its_name() -> None:
    """`event reopen` passed the checker before E207; firing it stored a move under the
    engine's own name, and reading it back as a reopen crashed the CLI (KeyError)."""
    for name in ("reopen", "cancel", "set", "finish"):
        record = EventRecord(1, 2, T0, "ann", name, "a", "b",
                             {"action": {"kind": "fire", "event": name, "phase": "a"}}, "", "")
        event = decode(record)
        assert isinstance(event, Moved), event
        assert (event.trigger, event.from_phase, event.to_phase) == (name, "a", "b")
