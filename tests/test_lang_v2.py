"""Run stage v2 in the language: field statements, policy lines, track membership.

The checker's texts are in ``tests/check_cases/`` (fields, approval-policy,
parallel-exit); these tests pin what the model holds, which the compiler reads.
"""

from __future__ import annotations

from opsflow.lang import model as m
from opsflow.lang.parser import parse_text
from opsflow.render import words

SOP = """\
sop s "S"
  owner boss
role boss "Boss"
role clerk "Clerk"
field amount "Amount" number
  > The total.
  required
  required before b, prep
  set by clerk, boss
field note "Note" text
phase a "A"
  owner boss
  approval by boss
    quorum 2
    reopen on change
    quorum 3
  on approve go to prep if amount > 3
  on approve go to b
  on reject go to b
  on no-quorum go to b
parallel prep "Prep"
  track left
  track right
  then go to b
phase left "Left"
  owner clerk
  handoff to left-2
phase left-2 "Left 2"
  owner clerk
  handoff to join
  handoff to left
  on reject go to cancelled
phase right "Right"
  owner boss
  handoff to join
phase b "B"
  owner boss
  handoff to prep
phase cancelled "Cancelled"
  owner boss
  end
"""


def test_field_statements_are_parsed_into_the_field() -> None:
    sop = parse_text(SOP, "s.sop")
    amount, note = sop.fields
    assert amount == m.Field(
        "amount", "Amount", m.FieldType("number"), "The total.", True,
        (m.Ref("b"), m.Ref("prep")), (m.Ref("clerk"), m.Ref("boss")),
    )
    assert (note.required, note.required_before, note.set_by) == (False, (), ())


def test_a_second_quorum_line_does_not_replace_the_first() -> None:
    approval = parse_text(SOP, "s.sop").phases[0].approval
    assert approval is not None
    assert approval.quorum == m.Quorum("count", 2)
    assert approval.reopen_on_change is True
    assert [(k, s.line) for k, s in approval.repeated] == [("quorum", 16)]


def test_no_quorum_is_a_builtin_route_event() -> None:
    phase = parse_text(SOP, "s.sop").phases[0]
    assert "no-quorum" in m.BUILTIN_EVENTS
    assert [r.target.name for r in phase.routes_on("no-quorum")] == ["b"]


def test_track_membership_stops_at_join_end_and_block_ids() -> None:
    sop = parse_text(SOP, "s.sop")
    assert sop.track_members() == {("prep", 0): ("left", "left-2"), ("prep", 1): ("right",)}
    assert sop.track_of() == {"left": "prep", "left-2": "prep", "right": "prep"}


def test_playbook_words_for_the_new_lines() -> None:
    sop = parse_text(SOP, "s.sop")
    namer = words.Namer(sop)
    approval = sop.phases[0].approval
    assert approval is not None
    assert words.approval_text(approval, namer, ("amount",)) == (
        "needs 2 approvals from Boss; goes back to this approval if Amount changes after the vote"
    )
    assert words.field_rules_text(sop.fields[0], namer, lambda p: f"<{p}>") == (
        "Required at start; required before <b> or <prep>; set by Clerk or Boss"
    )
    assert words.event_text("no-quorum", namer, "Boss") == "When the vote cannot reach its quorum"
