"""Which fields an approval freezes, and what ``reopen on change`` does (issue 19).

The three counterexamples the property tests (``test_run_properties.py``) found
on 2026-12-07, written out with their SOP and steps so that they are tested on
every run, not found again by chance. The rule they decide
(``docs/language.md``, "Decisions that stay decided"):

* a field is *frozen* by every approval whose routes read it and that was
  granted (and not entered since), and by an open vote on it once votes are
  cast;
* changing a frozen field is refused when any approval that froze it lacks
  ``reopen on change`` (the refusal names it); otherwise the run goes back to
  the earliest of them (the first decision the change touches), every
  decision on that field is released, and the votes of the phases the run
  left are gone: each approval is decided again when the run reaches it.
"""

from __future__ import annotations

from pathlib import Path

from engine_support import Runner, assert_replays, compiled_text, refused

TWO_VOTES = """\
sop gen "Two votes on one field"
  owner lead
role lead "Lead"
role ra "Ra"
role rb "Rb"
field k "A choice" one of x, y, z
phase s0 "Stage 0"
  owner lead
  approval by ra, rb
    quorum all
{s0}
  on approve go to dropped if k is z
  on approve go to s1
  on reject go to dropped
phase s1 "Stage 1"
  owner lead
  approval by ra
    open at least 1 hours
{s1}
  on approve go to done if k is z
  on approve go to s2
  on reject go to s0
  on no-quorum go to s0
phase s2 "Stage 2"
  owner lead
  done when
    - Item 1 is done
  handoff to done
phase done "Done"
  owner lead
  done when
    - Everything is filed
  end
phase dropped "Dropped"
  owner lead
  end
"""
PEOPLE = {"lead": ["lee"], "ra": ["ann"], "rb": ["bob"]}
REOPEN = "    reopen on change"


def in_s1(tmp: Path, s0: str, s1: str) -> Runner:
    """A run whose first approval (s0) granted on k = x; now in s1."""
    run = Runner(compiled_text(TWO_VOTES.format(s0=s0, s1=s1), tmp))
    run.start(PEOPLE, actor="lee", k="x")
    run.do("vote", "ann", decision="approve")
    run.do("vote", "bob", decision="approve")
    assert run.s.phases == ["s1"]
    return run


def test_a_later_open_vote_without_reopen_freezes_the_field(tmp_path: Path) -> None:
    """Counterexample 1: s0 says `reopen on change`, s1 does not; with a vote cast in s1,
    `set k` was accepted (the run went back to s0) — a change under s1's open vote."""
    run = in_s1(tmp_path, REOPEN, "")
    run.do("vote", "ann", decision="reject", comment="Not yet")
    assert run.s.phases == ["s1"]  # the window is still open
    assert refused(run, "set", "lee", field="k", value="z") == (
        "field k is read by the routes of the approval of phase s1, which it is being voted "
        "on in; changing it would change a decision already made; reject the approval to "
        "send the run back, or start a new run")
    assert run.s.fields["k"] == "x" and run.s.votes["s1"]["ann"]["decision"] == "reject"


def test_going_back_clears_the_votes_of_the_later_approval(tmp_path: Path) -> None:
    """Counterexample 2: both say `reopen on change`; a change while s1 is being voted on
    goes back to s0 (the first decision the change touches) and s1's votes are gone."""
    run = in_s1(tmp_path, REOPEN, REOPEN)
    run.do("vote", "ann", decision="reject", comment="Not yet")
    changes = run.do("set", "lee", field="k", value="y")
    assert [(c.action, c.from_phase, c.to_phase) for c in changes] == [
        ("set", None, None), ("reopen", "s1", "s0")]
    assert run.s.phases == ["s0"] and run.s.votes == {}
    run.do("vote", "ann", decision="approve")
    run.do("vote", "bob", decision="approve")
    assert run.s.phases == ["s1"] and run.s.votes == {}  # s1 is decided afresh
    assert_replays(run)


def test_a_change_goes_back_to_the_earliest_decision_on_the_field(tmp_path: Path) -> None:
    """Counterexample 3: s0 and s1 both granted on k (both `reopen on change`); a change
    went back to s1 only, leaving s0's decision standing on the old value."""
    run = in_s1(tmp_path, REOPEN, REOPEN)
    run.later(hours=1)
    run.do("vote", "ann", decision="approve")
    assert run.s.phases == ["s2"]
    changes = run.do("set", "lee", field="k", value="y")
    assert [(c.action, c.from_phase, c.to_phase) for c in changes] == [
        ("set", None, None), ("reopen", "s2", "s0")]
    assert run.s.phases == ["s0"]
    # both decisions on k were released: with s0 granted again, a change goes back to s0
    run.do("vote", "ann", decision="approve")
    run.do("vote", "bob", decision="approve")
    assert run.s.phases == ["s1"]
    changes = run.do("set", "lee", field="k", value="x")
    assert [(c.action, c.to_phase) for c in changes] == [("set", None), ("reopen", "s0")]
    assert_replays(run)


def test_an_earlier_grant_without_reopen_still_holds(tmp_path: Path) -> None:
    """s1 says `reopen on change` but s0, granted before it, does not: a change of k
    is refused, naming s0, even once the run is past both."""
    run = in_s1(tmp_path, "", REOPEN)
    run.later(hours=1)
    run.do("vote", "ann", decision="approve")
    assert run.s.phases == ["s2"]
    assert refused(run, "set", "lee", field="k", value="y") == (
        "field k is read by the routes of the approval of phase s0, which it is granted by; "
        "changing it would change a decision already made; reject the approval to send the "
        "run back, or start a new run")


GAP = """\
sop gap "A vote whose routes leave a case out"
  owner lead
role lead "Lead"
role ra "Ra"
field amount "Amount" number
phase s0 "Approval"
  owner lead
  approval by ra
    reopen on change
  on approve go to big if amount > 1000
  on approve go to small if amount < 500
  on reject go to dropped
phase big "Big"
  owner lead
  handoff to small
phase small "Small"
  owner lead
  done when
    - Paid
  end
phase dropped "Dropped"
  owner lead
  end
"""


def test_without_reopen_an_uncovered_vote_outcome_is_refused_by_the_checker() -> None:
    """The stall only `cancel` ended: approved, and no `on approve` route holds."""
    import opsflow

    text = GAP.replace("    reopen on change\n", "")
    codes = [d.code for d in opsflow.check_text(text, "gap.sop") if d.is_error]
    assert codes == ["E245"]


def test_with_reopen_a_field_change_is_the_way_out_of_an_uncovered_case(
        tmp_path: Path) -> None:
    run = Runner(compiled_text(GAP, tmp_path))
    run.start({"lead": ["lee"], "ra": ["ann"]}, actor="lee", amount="700")
    run.do("vote", "ann", decision="approve")
    assert run.s.phases == ["s0"]  # decided, but no route holds for 700
    changes = run.do("set", "lee", field="amount", value="1500")
    assert [(c.action, c.to_phase) for c in changes] == [("set", None), ("reopen", "s0")]
    assert run.s.votes == {}
    run.do("vote", "ann", decision="approve")  # a new vote, on the new amount
    assert run.s.phases == ["big"]
    assert_replays(run)
