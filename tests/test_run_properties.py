"""Properties of the run core over generated SOPs (hypothesis, stateful).

A strategy writes valid ``.sop`` text (checked: no errors) with approvals
(quorum N, all, majority, a fraction; ``veto``, ``not by``, ``open at
least``, ``reopen on change``), parallel blocks with joins, loops back to
earlier phases, conditional routes on a number and a choice field,
``required`` and ``required before`` fields, declared events with ``by``
and two end phases, and binds a small pool of people to its roles at
random (some people hold several roles).

:class:`RunMachine` then does every action kind, by a random person, at a
clock that moves forward by random amounts, through the pure core
(:func:`opsflow.run.core.apply`) and checks after every step:

* a refused action changed nothing;
* :func:`opsflow.run.invariants.problems` finds nothing;
* replaying the event log gives the same state, without problems;
* a decided vote never changes: no vote is accepted while the policy says
  decided, no vote event belongs to a visit already left by a decision,
  and a visit whose outcome was decided keeps that outcome while it lasts;
* separation of duties: no accepted vote by anybody who has ever held a
  ``not by`` role of that approval;
* a reassign never removes a person who voted in an open approval from its
  approving roles;
* a field read by the routes of an approval granted (and not entered
  since), or of an open vote with votes cast, does not change unless every
  such approval says ``reopen on change``; then the run is back in the
  earliest of them (the first decision the change touches), none of them
  keeps a vote, and every decision on that field is released
  (``tests/test_run_reopen.py`` has the three counterexamples this found).

A smaller run drives the same kind of sequences through the real
:class:`~opsflow.run.engine.Engine` on SQLite and PostgreSQL and checks that
the stored state equals the pure core's and that ``verify`` is clean.

This module tests; it does not change the run core.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import opsflow
from opsflow.run import invariants
from opsflow.run.clock import FixedClock
from opsflow.run.compiled import CompiledSop
from opsflow.run.compiler import compile_sop
from opsflow.run.context import RunContext
from opsflow.run.core import Action, Change, RunError, apply, replay
from opsflow.run.engine import Engine
from opsflow.run.state import RunState
from opsflow.store import Store

#: a Friday morning
T0 = dt.datetime(2025, 1, 3, 9, 0, tzinfo=dt.UTC)
PEOPLE = ("ann", "bob", "cat", "dan", "eve")
ACTORS = (*PEOPLE, "zed")  # zed is bound to nothing
ROLES = ("lead", "ra", "rb", "rc", "rd")
WORKERS = ROLES[1:]
CHOICES = ("x", "y", "z")


@dataclass(frozen=True)
class Case:
    """A generated SOP and how a run of it starts."""

    text: str
    assignments: dict[str, list[str]]
    fields: dict[str, str]
    #: a role first left unbound at start (it may be bound later, by a reassign)
    later: str | None = None


# ---- the SOP strategy -------------------------------------------------------------------


def _condition(draw: st.DrawFn) -> str:
    value = draw(st.integers(0, 10))
    return draw(st.sampled_from([
        f"n > {value}", f"n <= {value}", "k is x", "k is one of x, y", "not (k is z)",
        f"k is y or n >= {value}",
    ]))


def _people(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True))


@st.composite
def sop_cases(draw: st.DrawFn) -> Case:
    """A valid SOP text, its role bindings and its start fields."""
    assignments = {role: _people(draw) for role in ROLES}
    stages = draw(st.lists(st.sampled_from(["work", "vote", "par"]), min_size=2, max_size=5))
    if "vote" not in stages:
        stages[draw(st.integers(0, len(stages) - 1))] = "vote"
    entries = [f"s{i}" for i in range(len(stages))]
    targets = [*entries[1:], "done"]
    out: list[str] = []

    def later(i: int) -> str:
        """A route target after stage ``i``: a later stage or an end."""
        return draw(st.sampled_from([*targets[i:], "done", "dropped"]))

    def loop(i: int) -> str:
        """A route target for going back: an earlier stage (or an end)."""
        return draw(st.sampled_from([*entries[:i], "dropped"])) if i else "dropped"

    def checklist(indent: str = "  ") -> None:
        items = draw(st.integers(0, 2))
        if items:
            out.append(f"{indent}done when")
            out.extend(f"{indent}  - Item {n} is done" for n in range(1, items + 1))

    def extras(i: int) -> None:
        if i == 0 or draw(st.booleans()):  # the first stage reaches dropped
            out.append("  on stop go to dropped")
        if i and draw(st.integers(0, 3)) == 0:
            out.append(f"  on redo go to {loop(i)}")

    phases: list[str] = []
    for i, kind in enumerate(stages):
        pid = entries[i]
        if kind == "par":
            out += [f'parallel {pid} "Stage {i}"', f"  track {pid}t0", f"  track {pid}t1",
                    f"  then go to {targets[i]}"]
            for t in (0, 1):
                out += [f'phase {pid}t{t} "Track {i}.{t}"',
                        f"  owner {draw(st.sampled_from(WORKERS))}"]
                checklist()
                out.append("  handoff to join")
                if i == 0 or draw(st.booleans()):
                    out.append("  on stop go to dropped")
            phases += [f"{pid}t0", f"{pid}t1"]
            continue
        phases.append(pid)
        owner = draw(st.sampled_from(ROLES))
        out += [f'phase {pid} "Stage {i}"', f"  owner {owner}"]
        if draw(st.integers(0, 2)) == 0:
            out.append(f"  accountable {draw(st.sampled_from([r for r in ROLES if r != owner]))}")
        if kind == "work":
            checklist()
            fallback = True
            if draw(st.booleans()):
                target = later(i)
                out.append(f"  handoff to {target} if {_condition(draw)}")
                # now and then no fallback: the handoff waits for the fields
                fallback = target != targets[i] or bool(draw(st.integers(0, 3)))
            if fallback:
                out.append(f"  handoff to {targets[i]}")
            extras(i)
            continue
        checklist()
        by = draw(st.lists(st.sampled_from(WORKERS), min_size=1, max_size=2, unique=True))
        others = [r for r in WORKERS if r not in by]
        not_by = draw(st.lists(st.sampled_from(others), max_size=1)) if others else []
        holders = {p for r in by for p in assignments[r]}
        excluded = {p for r in not_by for p in assignments[r]}
        if not holders - excluded:
            not_by = []
            excluded = set()
        eligible = len(holders - excluded)
        quorum = draw(st.sampled_from(["", "count", "all", "majority", "2/3", "1/2"]))
        out.append(f"  approval by {', '.join(by)}")
        if quorum == "count":
            out.append(f"    quorum {draw(st.integers(1, eligible))}")
        elif quorum:
            out.append(f"    quorum {quorum}")
        if draw(st.booleans()):
            out.append("    veto")
        if not_by:
            out.append(f"    not by {not_by[0]}")
        if draw(st.integers(0, 3)) == 0:
            out.append(f"    open at least {draw(st.sampled_from([1, 24]))} hours")
        reopen = draw(st.booleans())
        if reopen:
            out.append("    reopen on change")
        if reopen or draw(st.booleans()):
            out.append(f"  on approve go to {later(i)} if {_condition(draw)}")
        out.append(f"  on approve go to {targets[i]}")
        out.append(f"  on reject go to {loop(i) if draw(st.integers(0, 3)) else 'dropped'}")
        if draw(st.booleans()):
            out.append(f"  on no-quorum go to {loop(i)}")
        extras(i)

    done = ['phase done "Done"', "  owner lead"]
    if draw(st.booleans()):
        done += ["  done when", "    - Everything is filed"]
    out += [*done, "  end", 'phase dropped "Dropped"', "  owner lead", "  end"]

    head = ['sop gen "Generated"', "  owner lead",
            *(f'role {r} "Role {r}"' for r in ROLES)]
    fields: dict[str, str] = {}
    head.append('field n "A number" number')
    n_rule = draw(st.sampled_from(["", "required", "before", "setby"]))
    if n_rule == "required":
        head.append("  required")
    elif n_rule == "before":
        head.append(f"  required before {draw(st.sampled_from([*entries[1:], 'done']))}")
    elif n_rule == "setby":
        head.append(f"  set by {draw(st.sampled_from(ROLES))}")
    if n_rule == "required" or draw(st.booleans()):
        fields["n"] = str(draw(st.integers(0, 10)))
    head.append('field k "A choice" one of x, y, z')
    if draw(st.booleans()):
        head.append(f"  required before {draw(st.sampled_from(phases))}")
    if draw(st.booleans()):
        fields["k"] = draw(st.sampled_from(CHOICES))
    stop_by = draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True))
    head.append('event stop "Stop"' + (f" by {', '.join(stop_by)}" if stop_by else ""))
    head.append('event redo "Start over"')
    text = "\n".join([*head, *out]) + "\n"
    return Case(text, assignments, fields, draw(st.sampled_from([None, None, *WORKERS])))


def compile_text(text: str) -> CompiledSop:
    """The compiled SOP, as it comes back from its stored JSON."""
    sop = opsflow.loads(text, "gen.sop")
    assert [d for d in opsflow.check_text(text, "gen.sop") if d.is_error] == []
    data = json.loads(json.dumps(compile_sop(sop).to_json()))
    return CompiledSop.from_json(data)


# ---- actions ------------------------------------------------------------------------------

MINUTES = st.sampled_from([0, 0, 1, 30, 61, 60 * 25, 60 * 24 * 4])
PICK = st.one_of(st.none(), st.integers(0, 3))


def with_phase(state: RunState | None, pick: int | None, **args: Any) -> dict[str, Any]:
    """Name a phase now and then (always when several are active and ``pick`` says so)."""
    if state is not None and state.phases and (pick is not None or len(state.phases) > 1):
        args["phase"] = state.phases[(pick or 0) % len(state.phases)]
    return args


@st.composite
def args_for(draw: st.DrawFn, kind: str, state: RunState | None) -> dict[str, Any]:
    """Arguments for one action of ``kind`` (some of them wrong, on purpose)."""
    pick = draw(PICK)
    if kind in ("tick", "untick"):
        args = with_phase(state, pick, criterion=draw(st.sampled_from([1, 1, 2, 3])))
        return args
    if kind == "vote":
        return with_phase(state, pick, decision=draw(st.sampled_from(
            ["approve", "approve", "reject", "abstain"])),
            comment=draw(st.sampled_from(["", "Looked at it", "Looked at it"])))
    if kind in ("handoff", "advance"):
        return with_phase(state, pick)
    if kind == "fire":
        event = draw(st.sampled_from(["stop", "redo", "redo", "redo"]))
        return with_phase(state, pick, event=event)
    if kind == "set":
        name = draw(st.sampled_from(["n", "k"]))
        value = str(draw(st.integers(0, 10))) if name == "n" else draw(st.sampled_from(CHOICES))
        return {"field": name, "value": value}
    if kind == "reassign":
        return {"role": draw(st.sampled_from(ROLES)),
                "people": draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3,
                                        unique=True))}
    return {"reason": "Not needed any more"}


@st.composite
def actor_for(draw: st.DrawFn, compiled_sop: CompiledSop, state: RunState, kind: str) -> str:
    """Mostly somebody the action concerns (an owner, a voter, the SOP owner); now and
    then anybody, the unbound ``zed`` included."""
    roles = ["lead"]
    for pid in state.phases:
        phase = compiled_sop.phases[pid]
        roles.append(phase.owner)
        roles += phase.accountable
        if phase.approval is not None and kind == "vote":
            roles = list(phase.approval.by)
    concerned = state.holders(roles)
    if concerned and draw(st.integers(0, 3)):
        return draw(st.sampled_from(concerned))
    return draw(st.sampled_from(ACTORS))


#: action kinds with their weights (cancel ends a run, so it is rare)
KIND_WEIGHTS = [("tick", 8), ("untick", 1), ("vote", 10), ("handoff", 6), ("fire", 2),
                ("set", 2), ("reassign", 2), ("advance", 1), ("cancel", 1)]
KIND = st.sampled_from([k for k, w in KIND_WEIGHTS for _ in range(w)])


# ---- the property checker -----------------------------------------------------------------


class Checker:
    """Follows one run through its changes and checks every property after each step."""

    def __init__(self, compiled_sop: CompiledSop) -> None:
        self.c = compiled_sop
        self.state: RunState | None = None
        self.log: list[tuple[str, dt.datetime, Change]] = []
        #: phase -> number of its current visit
        self.visit: dict[str, int] = {}
        #: visits left by a decision
        self.left: set[tuple[str, int]] = set()
        #: visit -> the outcome once it was decided
        self.outcome: dict[tuple[str, int], str] = {}
        #: approval phase -> the visit that granted it (until entered again, or released
        #: by a reopen on a field it read), in the order of the grants
        self.granted: dict[str, int] = {}
        self.reassigned = False

    def step(self, action: Action, actor: str, now: dt.datetime) -> bool:
        """Apply one action and check everything; whether it was accepted."""
        pre = self.state
        before = None if pre is None else pre.to_dict()
        try:
            state, changes = apply(self.c, pre, action, actor, now)
        except RunError:
            assert (None if pre is None else pre.to_dict()) == before, "a refusal changed state"
            return False
        self.reassigned = action.kind == "reassign"
        if pre is not None:
            self.check_action(pre, state, action, actor, now, changes)
        self.follow(changes, pre, actor, now)
        self.state = state
        self.log += [(actor, now, change) for change in changes]
        self.check_state(now)
        return True

    def s_copy(self) -> RunState:
        assert self.state is not None
        return self.state.copy()

    def entered(self, dest: str | None) -> list[str]:
        if dest is None or dest == "join":
            return []
        if dest in self.c.parallels:
            return [p for t in self.c.parallels[dest].tracks for p in self.entered(t)]
        return [dest] if dest in self.c.phases else []

    def follow(self, changes: list[Change], pre: RunState | None, actor: str,
               now: dt.datetime) -> None:
        for change in changes:
            if change.action == "vote":
                pid = change.from_phase
                assert pid is not None
                visit = (pid, self.visit.get(pid, 0))
                assert visit not in self.left, f"a vote on {pid} after its visit was decided"
                assert pre is not None
                result = RunContext(self.c, pre.copy(), actor, now).policy(pid)
                assert result.outcome == "pending", \
                    f"a vote on {pid} was accepted while the policy said {result.needs}"
                approval = self.c.phases[pid].approval
                assert approval is not None
                assert actor not in pre.ever_held(approval.not_by), \
                    f"{actor} voted on {pid} but has held a not-by role"
            if change.action in ("approve", "reject", "no-quorum") and change.from_phase:
                pid = change.from_phase
                self.left.add((pid, self.visit.get(pid, 0)))
                if change.action == "approve":
                    self.granted[pid] = self.visit.get(pid, 0)
            if change.action == "reopen":  # every decision on the field is released
                name = change.payload["field"]
                self.granted = {p: v for p, v in self.granted.items()
                                if name not in self.c.phases[p].route_fields()}
            for pid in self.entered(change.to_phase):
                self.visit[pid] = self.visit.get(pid, 0) + 1
                self.granted.pop(pid, None)

    def check_action(self, pre: RunState, post: RunState, action: Action, actor: str,
                     now: dt.datetime, changes: list[Change]) -> None:
        if action.kind == "reassign":
            for pid in pre.phases:
                approval = self.c.phases[pid].approval
                if approval is None:
                    continue
                for voter in pre.votes.get(pid, {}):
                    assert voter in post.holders(approval.by), \
                        f"reassign removed {voter}, who voted on {pid}, from its roles"
        if action.kind == "set":
            name = action.args["field"]
            previous = pre.fields.get(name)
            if previous is None or previous == post.fields.get(name):
                return
            frozen = [pid for pid in self.granted if name in self.c.phases[pid].route_fields()]
            for pid in frozen:
                approval = self.c.phases[pid].approval
                assert approval is not None and approval.reopen_on_change, \
                    f"field {name} changed although granted approval {pid} read it"
            for pid in pre.phases:
                phase = self.c.phases[pid]
                if phase.approval is None or not pre.votes.get(pid) or \
                        name not in phase.route_fields() or pid in frozen:
                    continue
                assert phase.approval.reopen_on_change, \
                    f"field {name} changed under the open vote of {pid}"
                frozen.append(pid)
            if frozen:
                assert post.phases == [frozen[0]], \
                    f"field {name} changed but the run is not back in {frozen[0]} only"
                assert not any(post.votes.get(pid) for pid in frozen), \
                    f"field {name} changed but a vote on it is still counted"

    def check_state(self, now: dt.datetime) -> None:
        state = self.state
        assert state is not None
        assert invariants.problems(self.c, state) == []
        replayed, problems = replay(self.c, self.log)
        assert problems == []
        assert replayed is not None and replayed.to_dict() == state.to_dict()
        for pid in state.phases:
            if self.c.phases[pid].approval is None:
                continue
            visit = (pid, self.visit.get(pid, 0))
            outcome = RunContext(self.c, state.copy(), "zed", now).policy(pid).outcome
            if visit in self.outcome:  # a decided vote stays decided, reassigns included
                assert outcome == self.outcome[visit], \
                    f"the decided vote on {pid} ({self.outcome[visit]}) became {outcome}"
            elif outcome != "pending":
                self.outcome[visit] = outcome


class RunMachine(RuleBasedStateMachine):
    """Random actions by random people on one run of a generated SOP."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.checker: Checker | None = None

    @initialize(case=sop_cases(), actor=st.sampled_from(PEOPLE))
    def start(self, case: Case, actor: str) -> None:
        self.checker = Checker(compile_text(case.text))
        accepted = False
        if case.later is not None:  # the run may not need that role yet
            accepted = self.checker.step(Action("start", {
                "title": "A run", "assignments": {
                    r: p for r, p in case.assignments.items() if r != case.later},
                "fields": {**case.fields, "n": "1", "k": "x"}}), actor, self.now)
        if not accepted:
            accepted = self.checker.step(Action("start", {
                "title": "A run", "assignments": case.assignments, "fields": case.fields}),
                actor, self.now)
        if not accepted:  # a field required at start is missing: nothing else to check
            self.checker.step(Action("start", {
                "title": "A run", "assignments": case.assignments,
                "fields": {**case.fields, "n": "1", "k": "x"}}), actor, self.now)

    def active(self) -> bool:
        return self.checker is not None and self.checker.state is not None and \
            self.checker.state.status == "active"

    @rule(minutes=MINUTES)
    def wait(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)

    @precondition(active)
    @rule(data=st.data(), kind=KIND, minutes=MINUTES)
    def act(self, data: st.DataObject, kind: str, minutes: int) -> None:
        assert self.checker is not None
        state = self.checker.state
        if state is None:
            return
        self.now += dt.timedelta(minutes=minutes)
        args = data.draw(args_for(kind, state))
        actor = data.draw(actor_for(self.checker.c, state, kind))
        self.checker.step(Action(kind, args), actor, self.now)

    @invariant()
    def started(self) -> None:
        assert self.checker is None or self.checker.state is not None


#: the ``explore`` profile (tests/conftest.py) asks for more examples than these
_EXAMPLES = settings.default.max_examples if settings.default.derandomize is False else 0
FAST = settings(max_examples=max(250, _EXAMPLES), stateful_step_count=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LONG = settings(max_examples=max(600, _EXAMPLES), stateful_step_count=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_run_core_properties() -> None:
    run_state_machine_as_test(RunMachine, settings=FAST)


@pytest.mark.slow
def test_run_core_properties_long() -> None:
    run_state_machine_as_test(RunMachine, settings=LONG)


# ---- the real engine, on SQLite and PostgreSQL ------------------------------------------------


@st.composite
def engine_sequences(draw: st.DrawFn) -> tuple[Case, list[tuple[str, str, dict[str, Any], int]]]:
    """A generated SOP and a sequence of (kind, actor, args, minutes before it)."""
    case = draw(sop_cases())
    steps = []
    for _ in range(draw(st.integers(5, 25))):
        kind = draw(KIND)
        steps.append((kind, draw(st.sampled_from(ACTORS)), draw(args_for(kind, None)),
                      draw(MINUTES)))
    return case, steps


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=engine_sequences())
def test_engine_matches_the_core_and_verifies(
        store_url: str, sequence: tuple[Case, list[tuple[str, str, dict[str, Any], int]]]
) -> None:
    case, steps = sequence
    clock = FixedClock(T0)
    checker = Checker(compile_text(case.text))
    start = {"title": "A run", "assignments": case.assignments,
             "fields": {"n": "1", "k": "x", **case.fields}}
    assert checker.step(Action("start", start), "ann", T0)
    with tempfile.TemporaryDirectory() as folder, Engine(Store.open(store_url), clock) as engine:
        path = Path(folder) / "gen.sop"
        path.write_text(case.text, "utf-8")
        run_id = engine.start(path, "A run", case.assignments, start["fields"], actor="ann")
        for kind, actor, args, minutes in steps:
            now = clock.advance(minutes=minutes)
            accepted = checker.step(Action(kind, args), actor, now)
            try:
                engine.act(run_id, Action(kind, args), actor)
            except RunError:
                assert not accepted
            else:
                assert accepted
            assert checker.state is not None
            assert engine.store.get_run(run_id).state == checker.state.to_dict()
        report = engine.verify(run_id)
        assert checker.state is not None
        assert report.problems == []


# ---- bugs found (the lead fixes the core; each test passes once it is fixed) ------------------

VETO_SOP = """\
sop t "T"
  owner lead
role lead "Lead"
role ra "Ra"
role rb "Rb"
phase a "A"
  owner lead
  done when
    - Item 1 is done
  approval by ra, rb
    veto
  on approve go to b
  on reject go to c
phase b "B"
  owner lead
  end
phase c "C"
  owner lead
  end
"""

TRACK_SOP = """\
sop t "T"
  owner lead
role lead "Lead"
event stop "Stop"
parallel p "P"
  track x
  track y
  then go to b
phase x "X"
  owner lead
  done when
    - One
  handoff to join
phase y "Y"
  owner lead
  handoff to join
  on stop go to c
phase b "B"
  owner lead
  end
phase c "C"
  owner lead
  end
"""


def _runner(text: str, people: dict[str, list[str]], actor: str) -> Checker:
    checker = Checker(compile_text(text))
    assert checker.step(Action("start", {"title": "A run", "assignments": people}), actor, T0)
    return checker


def _do(checker: Checker, kind: str, actor: str, **args: Any) -> RunState:
    state, changes = apply(checker.c, checker.state, Action(kind, args), actor, T0)
    checker.state = state
    checker.log += [(actor, T0, change) for change in changes]
    return state


# ---- bugs the properties found (each failed before its fix) --------------------------------


def test_cancel_leaves_no_ticks_behind() -> None:
    run = _runner(VETO_SOP, {"lead": ["ann"], "ra": ["ann"], "rb": ["bob"]}, "ann")
    _do(run, "tick", "ann", criterion=1)
    _do(run, "vote", "ann", decision="approve")
    state = _do(run, "cancel", "ann")
    assert invariants.problems(run.c, state) == []


def test_finishing_from_a_track_leaves_no_ticks_behind() -> None:
    run = _runner(TRACK_SOP, {"lead": ["ann"]}, "ann")
    _do(run, "tick", "ann", criterion=1, phase="x")
    state = _do(run, "fire", "ann", event="stop", phase="y")
    assert state.status == "done"
    assert invariants.problems(run.c, state) == []


def test_a_reassign_does_not_re_decide_a_decided_vote() -> None:
    run = _runner(VETO_SOP, {"lead": ["lee"], "ra": ["ann"], "rb": ["ann"]}, "lee")
    _do(run, "vote", "ann", decision="approve")
    assert RunContext(run.c, run.s_copy(), "lee", T0).policy("a").outcome == "approved"
    with pytest.raises(RunError):  # the vote is decided: it takes no more votes
        _do(run, "vote", "ann", decision="reject", comment="No")
    with pytest.raises(RunError) as info:  # nor a new voter who could veto it
        _do(run, "reassign", "lee", role="ra", people=["bob"])
    assert str(info.value) == ("the vote on phase a is decided (approved); this change of role "
                               "ra would decide it again; reassign the role once the run has "
                               "moved on")
    assert RunContext(run.c, run.s_copy(), "lee", T0).policy("a").outcome == "approved"


SOD_SOP = """\
sop t "T"
  owner lead
role lead "Lead"
role board "Board"
role author "Author"
phase a "A"
  owner lead
  approval by board
    not by author
    open at least 1 hours
  on approve go to b
  on reject go to b
phase b "B"
  owner lead
  end
"""


def test_a_voter_cannot_be_moved_into_a_not_by_role() -> None:
    run = _runner(SOD_SOP, {"lead": ["ann"], "board": ["dan"], "author": ["bob"]}, "ann")
    _do(run, "vote", "dan", decision="approve")
    with pytest.raises(RunError):
        _do(run, "reassign", "ann", role="author", people=["bob", "dan"])
    assert invariants.problems(run.c, run.s_copy()) == []
