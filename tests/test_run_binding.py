"""Roles bound when the run needs them, not before (issue 19, item 5).

A role that acts only later in a process (a delegate chosen during the run, a
post-incident owner, an incoming commander) may stay unbound at ``start``
while the SOP has an owner, who binds it with ``reassign``. A run that reaches
a phase needing a role nobody holds waits on "bind someone to role R", in the
inbox of whoever may reassign it. ``start`` still refuses what the run needs
at once (the SOP owner, the first phases' owners and the voters a first
approval needs), and, without an SOP owner, every role (nobody could bind
one later). An approving role is needed only when the others cannot reach the
quorum.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import Runner, assert_replays, compiled_text, refused

from opsflow.run.core import RunError
from opsflow.run.status import work_items

COUNCIL = """\
sop motion "A motion"
  owner chair
role chair "Chair"
role proposer "Proposer"
role delegate "Delegate"
role council "Council"
role scribe "Scribe"
phase draft "Draft"
  owner proposer
  handoff to vote
phase vote "Vote"
  owner chair
  approval by delegate, council
    not by proposer
  on approve go to minutes
  on reject go to draft
phase minutes "Minutes"
  owner scribe
  done when
    - Minutes are filed
  end
"""


def run_of(tmp: Path, text: str = COUNCIL, **people: list[str]) -> Runner:
    run = Runner(compiled_text(text, tmp))
    run.start(people, actor="cho")
    return run


def test_one_approving_role_is_enough_when_it_reaches_the_quorum(tmp_path: Path) -> None:
    """`approval by delegate, council` with only council bound was refused ("could not
    finish"): council alone reaches the quorum."""
    run = run_of(tmp_path, chair=["cho"], proposer=["pia"], council=["cal"], scribe=["sid"])
    run.do("handoff", "pia")
    run.do("vote", "cal", decision="approve")
    assert run.s.phases == ["minutes"]
    assert_replays(run)


def test_a_role_that_acts_later_is_bound_when_the_run_reaches_it(tmp_path: Path) -> None:
    run = run_of(tmp_path, chair=["cho"], proposer=["pia"], council=["cal"])
    run.do("handoff", "pia")
    run.do("vote", "cal", decision="approve")
    assert run.s.phases == ["minutes"]  # entered: it waits for a scribe
    needs = [(w.person, w.kind, w.title) for w in work_items(run.c, run.s, run.now)]
    assert needs == [("cho", "bind", "Minutes: bind someone to role scribe (nobody holds it)")]
    assert refused(run, "tick", "sid", criterion=1) == (
        "sid may not tick the checklist of phase minutes; only role scribe (nobody holds "
        "it) may; ask the SOP owner to bind someone to the role")
    run.do("reassign", "cho", role="scribe", people=["sid"])
    assert [(w.person, w.kind) for w in work_items(run.c, run.s, run.now)] == [("sid", "owner")]
    run.do("tick", "sid", criterion=1)
    run.do("handoff", "sid")
    assert run.s.status == "done"
    assert_replays(run)


def test_a_vote_short_of_voters_waits_for_a_binding(tmp_path: Path) -> None:
    text = COUNCIL.replace("  approval by delegate, council\n",
                           "  approval by delegate, council\n    quorum 2\n")
    run = run_of(tmp_path, text, chair=["cho"], proposer=["pia"], council=["cal"],
                 scribe=["sid"])
    run.do("handoff", "pia")
    needs = [(w.person, w.kind, w.title) for w in work_items(run.c, run.s, run.now)]
    assert ("cho", "bind", "Vote: bind someone to role delegate (nobody holds it)") in needs
    run.do("reassign", "cho", role="delegate", people=["dee"])
    run.do("vote", "cal", decision="approve")
    run.do("vote", "dee", decision="approve")
    assert run.s.phases == ["minutes"]


@pytest.mark.parametrize(("people", "message"), [
    ({"proposer": ["pia"], "council": ["cal"], "scribe": ["sid"]},
     "nobody holds role chair (the SOP owner), so the run could not finish"),
    ({"chair": ["cho"], "council": ["cal"], "scribe": ["sid"]},
     "nobody holds role proposer (the owner of phase draft), so the run could not finish"),
])
def test_start_refuses_what_the_run_needs_at_once(tmp_path: Path, people: dict[str, list[str]],
                                                 message: str) -> None:
    with pytest.raises(RunError) as info:
        run_of(tmp_path, **people)
    assert str(info.value) == f"{message}; bind somebody to each of them"


def test_without_an_sop_owner_every_role_is_needed_at_start(tmp_path: Path) -> None:
    text = COUNCIL.replace("  owner chair\nrole chair", "role chair")
    with pytest.raises(RunError) as info:
        run_of(tmp_path, text, chair=["cho"], proposer=["pia"], council=["cal"])
    assert str(info.value) == ("nobody holds role scribe (the owner of phase minutes), so "
                               "the run could not finish; bind somebody to each of them")


def test_the_cli_says_which_roles_are_left_for_later(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from opsflow.cli import cli

    sop = tmp_path / "motion.sop"
    sop.write_text(COUNCIL, "utf-8")
    url = f"sqlite:///{tmp_path / 'opsflow.db'}"
    result = CliRunner().invoke(cli, [
        "start", str(sop), "--title", "Motion 7", "--role", "chair=cho", "--role",
        "proposer=pia", "--role", "council=cal", "--as", "cho", "--db", url])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "started run 1: Motion 7 (motion), now in draft",
        "note: nobody holds role scribe yet (the owner of phase minutes); the run will wait "
        "for it there: bind someone with `opsflow reassign 1 scribe PERSON`",
    ]
