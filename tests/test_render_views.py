"""The view-model: plain words, reading order, RACI matrix and lint, run state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from render_support import SOPS, sample_run

import opsflow
from opsflow.lang.loader import parse_source
from opsflow.lang.model import Sop
from opsflow.render import PhaseRun, RunView, Vote, build_view, render_playbook
from opsflow.render.flow import layout
from opsflow.render.runview import format_time

SKELETON = """\
sop t "T"
  owner boss
role boss "Boss"
role fin "Finance controller"
role req "Requester"
field amount "Amount" number
field risk "Risk" one of low, medium, high
field due "Due date" date
field note "Note" text
{phases}
"""


def load_phases(text: str, tmp_path: Path) -> Sop:
    path = tmp_path / "t.sop"
    path.write_text(SKELETON.format(phases=text), encoding="utf-8")
    return opsflow.load(path)


def parse_unchecked(text: str) -> Sop:
    """The model of an SOP the checker would refuse (the renderers still cope)."""
    sop, diagnostics = parse_source(SKELETON.format(phases=text), "t.sop")
    assert sop is not None and not diagnostics
    return sop


VOTE = """\
phase vote "Vote"
  owner boss
  approval by fin, boss
{policy}
  on approve go to ok
  on reject go to ok
phase ok "OK"
  owner boss
  end
"""


@pytest.mark.parametrize(("policy", "words"), [
    ("", "needs 1 approval from Finance controller or Boss"),
    ("    quorum 2\n    not by req\n    open at least 72 hours",
     "needs 2 approvals from Finance controller or Boss; a Requester in this run may not "
     "approve; open at least 72 hours"),
    ("    quorum all\n    veto", "needs every Finance controller and Boss to approve; "
     "a single rejection is a veto"),
    ("    quorum majority", "needs more approvals than rejections among the votes of Finance "
     "controller or Boss (a majority of the votes cast; abstentions are not counted)"),
    ("    quorum 2/3", "needs at least 2/3 of the votes cast by Finance controller or Boss to "
     "be approvals (abstentions are not counted)"),
])
def test_approval_policy_in_plain_words(policy: str, words: str, tmp_path: Path) -> None:
    sop = load_phases(VOTE.format(policy=policy), tmp_path)
    assert build_view(sop).phases[0].approval == words


ROUTES = """\
phase a "A"
  owner boss
  handoff to b if amount >= 100 and (risk is one of high, medium or not note = "x")
  handoff to c if risk is not one of low and due < 2027-01-31
  handoff to c
phase b "B"
  owner boss
  end
phase c "C"
  owner boss
  end
"""


def test_conditions_and_fallbacks_in_plain_words(tmp_path: Path) -> None:
    view = build_view(load_phases(ROUTES, tmp_path))
    (route,) = view.phases[0].routes
    assert route.text == (
        "When the work is done: if Amount is at least 100 and (Risk is one of high or medium "
        "or not (Note is “x”)), hand off to 2. B; otherwise if Risk is not one of low and "
        "Due date is less than 2027-01-31, hand off to 3. C; otherwise hand off to 3. C.")
    assert [b.otherwise for b in route.branches] == [False, True, True]


def test_reading_order_puts_the_main_path_first() -> None:
    sop = opsflow.load(SOPS / "content-publishing.sop")
    order = layout(sop).top
    assert order == ("brief", "draft", "internal-review", "client-review", "finance-sign-off",
                     "publish", "revision")
    assert [p.number for p in build_view(sop).phases] == list(range(1, 8))


def test_parallel_tracks_are_grouped_under_their_block() -> None:
    sop = opsflow.load(SOPS / "employee-onboarding.sop")
    view = build_view(sop)
    blocks = [item for item in view.flow if item.kind == "parallel"]
    assert len(blocks) == 1
    block = blocks[0]
    assert [[p.id for p in t.phases] for t in block.tracks] == [
        ["it-setup", "ship-equipment"], ["hr-paperwork"]]
    assert block.then == "5. Day one"
    assert view.phases[1].track == "track 1 of “Preparation before day one”"
    assert "this track is done" in view.phases[2].routes[0].text


def test_unreachable_phases_come_last() -> None:
    text = 'phase a "A"\n  owner boss\n  end\nphase z "Z"\n  owner boss\n  handoff to a\n'
    assert layout(parse_unchecked(text)).top == ("a", "z")


def test_raci_matrix_and_lint() -> None:
    sop = opsflow.load(SOPS / "content-publishing.sop")
    raci = build_view(sop).raci
    assert raci.roles[:3] == ("Content writer", "Managing editor", "Account manager")
    brief = raci.rows[0]
    assert dict(zip(raci.role_ids, brief.cells, strict=True)) == {
        "writer": "R", "editor": "I", "account": "A", "client": "", "seo": "C", "finance": ""}
    lint = {item.problem: item.items for item in raci.lint}
    assert lint["Roles that own no phase (no R anywhere)"] == (
        "Client stakeholder", "SEO specialist", "Finance controller")
    assert "2. Draft" not in lint["Phases with no accountable role"]
    assert "3. Internal review" in lint["Phases with no accountable role"]


def test_raci_combines_letters_and_reports_several_accountable() -> None:
    text = ('phase a "A"\n  owner boss\n  accountable boss, fin\n  informed fin\n'
            '  handoff to b\nphase b "B"\n  owner fin\n  accountable req\n  end\n')
    raci = build_view(parse_unchecked(text)).raci
    assert raci.rows[0].cells == ("R/A", "A/I", "")
    lint = {item.problem: item.items for item in raci.lint}
    assert lint == {"Phases with several accountable roles": ("1. A",),
                    "Roles that own no phase (no R anywhere)": ("Requester",)}


def test_run_view_shows_state() -> None:
    sop = opsflow.load(SOPS / "content-publishing.sop")
    view = build_view(sop, sample_run())
    assert view.run is not None
    assert view.run.current == ("4. Client review",)
    assert view.run.overdue == ("4. Client review (due 2027-03-10 09:30 UTC)",)
    phases = {p.id: p for p in view.phases}
    assert [c.ticked for c in phases["brief"].criteria] == [True, True]
    assert phases["brief"].run and phases["brief"].run.status == "done"
    assert phases["publish"].run and phases["publish"].run.text == "not reached yet"
    review = phases["client-review"].run
    assert review is not None and review.overdue
    assert [v.person for v in review.votes] == ["carl", "cora"]  # in time order
    assert review.votes[1].text == "cora: reject (2027-03-09 11:30 UTC) — “Needs the new logo”"
    roles = {r.id: r.people for r in view.roles}
    assert roles["client"] == ("carl", "cora") and roles["seo"] == ()


def test_done_phase_is_never_overdue_and_milestones_show_when_reached() -> None:
    sop = opsflow.load(SOPS / "content-publishing.sop")
    at = dt.datetime(2027, 3, 20, 8, 0)
    run = RunView(id="7", title="t", status="done", outcome="publish",
                  current=(), phases={"publish": PhaseRun(entered_at=at, left_at=at,
                                                          overdue=True, ticked=frozenset({1}))},
                  milestones={"campaign-live": at})
    view = build_view(sop, run)
    publish = next(p for p in view.phases if p.id == "publish")
    assert publish.run is not None and not publish.run.overdue
    assert publish.milestones[0].reached == "2027-03-20 08:00 UTC"
    text = render_playbook(sop, run)
    assert "reached 2027-03-20 08:00 UTC" in text
    assert "- [x] Piece is live" in text
    assert "**Overdue:** nothing" in text


def test_times_are_shown_in_utc() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    assert format_time(dt.datetime(2027, 1, 1, 10, 0, tzinfo=cet)) == "2027-01-01 09:00 UTC"
    assert format_time(None) == ""
    vote = Vote("a", "approve", dt.datetime(2027, 1, 1, 10, 0))
    assert vote.comment == ""
