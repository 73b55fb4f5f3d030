"""No example SOP can get stuck: in every reachable active state somebody may act.

For every SOP in ``sops/`` this explores the reachable run states breadth
first through the pure core (:func:`opsflow.run.core.apply`), bounded in
depth and in the number of states: every tick and handoff by the phase
owners, every vote outcome (approve, reject, abstain) of every eligible
voter, every declared event by whoever may fire it, every field value that
matters to a route condition (each constant, and one either side of it),
``advance``, and waiting past every voting window. A field is set only
while it is unset or read by an active phase's routes (elsewhere its value
changes nothing). In every reachable
active state some action by a bound person is accepted, and the SOP owner
can always reassign a role and cancel the run.

It also checks that ``start`` refuses a run that leaves a needed role
unbound (the SOP owner, a phase owner, an approving role) and a run whose
bound people cannot reach a quorum, with their messages in full.

This module tests; it does not change the run core.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_support import SOPS, T0, compiled

from opsflow.run import conditions, policy
from opsflow.run.authority import roles_text
from opsflow.run.compiled import CompiledSop
from opsflow.run.core import Action, RunError, apply
from opsflow.run.invariants import problems
from opsflow.run.state import RunState

NAMES = sorted(p.stem for p in SOPS.glob("*.sop"))
#: the bounds of the exploration, per SOP
MAX_STATES = 3000
MAX_DEPTH = 40
#: far enough to pass every voting window
WAIT = dt.timedelta(days=10)


def people_for(c: CompiledSop) -> dict[str, list[str]]:
    """One person per role (``ROLE-1``), more for an approving role a quorum needs."""
    counts = {role: 1 for role in c.roles}
    for phase in c.phases.values():
        if phase.approval is not None:
            first = phase.approval.by[0]
            counts[first] = max(counts[first], policy.needed(phase.approval.quorum))
    return {role: [f"{role}-{i}" for i in range(1, n + 1)] for role, n in counts.items()}


def _literals(data: Any) -> Iterator[tuple[str, str]]:
    """``(field, literal text)`` for every literal in a condition's JSON."""
    if isinstance(data, dict):
        if "compare" in data:
            yield data["compare"], data["value"]["value"]
        if "member" in data:
            yield from ((data["member"], v["value"]) for v in data["values"])
        for value in data.values():
            yield from _literals(value)
    elif isinstance(data, list):
        for item in data:
            yield from _literals(item)


def values_for(c: CompiledSop) -> dict[str, list[str]]:
    """The values of each field that matter to the routes (one filler if none do)."""
    found: dict[str, set[str]] = {f: set() for f in c.fields}
    for phase in c.phases.values():
        for route in phase.routes:
            if route.condition is not None:
                for name, text in _literals(conditions.to_json(route.condition)):
                    found[name].add(text)
    result = {}
    for name, spec in c.fields.items():
        consts = sorted(found[name])
        if spec.type == "choice":
            values = list(spec.choices)
        elif spec.type == "number":
            values = sorted({str(Decimal(v) + d) for v in consts for d in (-1, 0, 1)})
        elif spec.type == "date":
            values = sorted({(dt.date.fromisoformat(v) + dt.timedelta(days=d)).isoformat()
                             for v in consts for d in (-1, 0, 1)})
        else:
            values = [*consts, "something else"]
        filler = {"number": "1", "date": "2027-06-01", "text": "something"}.get(spec.type, "")
        result[name] = values or [filler or spec.choices[0]]
    return result


def start_state(c: CompiledSop, people: dict[str, list[str]]) -> RunState:
    values = values_for(c)
    fields = {f.id: values[f.id][0] for f in c.fields.values() if f.required}
    owner = people[c.sop.owner][0] if c.sop.owner else "someone"
    state, _ = apply(c, None, Action("start", {"title": "A run", "assignments": people,
                                               "fields": fields}), owner, T0)
    return state


def actions(c: CompiledSop, state: RunState, values: dict[str, list[str]]
            ) -> Iterator[tuple[str, Action]]:
    """Every action worth trying in ``state``: ``(actor, action)``."""
    for pid in state.phases:
        phase = c.phases[pid]
        owner = state.holders([phase.owner])[0]
        open_items = [n for n in range(1, len(phase.checklist) + 1)
                      if n not in state.ticked.get(pid, [])]
        if open_items:  # the order of ticks makes no difference: the first open one only
            yield owner, Action("tick", {"criterion": open_items[0], "phase": pid})
        yield owner, Action("handoff", {"phase": pid})
        if phase.approval is not None:
            for voter in policy.eligible(phase.approval, state):
                for decision in ("approve", "reject", "abstain"):
                    yield voter, Action("vote", {"decision": decision, "phase": pid,
                                                 "comment": "Because"})
            yield owner, Action("advance", {"phase": pid})
        for event in phase.events:
            spec = c.events.get(event)
            if spec is None:
                continue
            for person in state.holders(spec.by or [phase.owner])[:1]:
                yield person, Action("fire", {"event": event, "phase": pid})
    read = {f for p in state.phases for f in c.phases[p].route_fields()}
    for name, spec in c.fields.items():
        if name in state.fields and name not in read:
            continue  # only the values the active routes read make a difference
        roles = list(spec.set_by) or [*c.owner_roles(), *(c.phases[p].owner
                                                          for p in state.phases)]
        setter = state.holders(roles)[0]
        for value in values[name]:
            if state.fields.get(name) != value:
                yield setter, Action("set", {"field": name, "value": value})


def key(c: CompiledSop, state: RunState, now: dt.datetime) -> str:
    """The state without its times, plus which voting windows are still open."""
    data = state.to_dict()
    for name in ("started_at", "finished_at"):
        data.pop(name)
    open_windows = []
    for token in data["tokens"]:
        approval = c.phases[token["phase"]].approval
        end = None if approval is None else policy.window_end(
            approval, dt.datetime.fromisoformat(token["entered_at"]))
        open_windows.append(end is not None and now < end)
        token.pop("entered_at")
        token.pop("due_at")
    for votes in data["votes"].values():
        for vote in votes.values():
            vote.pop("at")
    data["milestones"] = sorted(data["milestones"])
    return json.dumps([data, open_windows], sort_keys=True)


def owner_may_reassign_and_cancel(c: CompiledSop, state: RunState, now: dt.datetime) -> None:
    assert c.sop.owner is not None
    owner = state.holders([c.sop.owner])[0]
    apply(c, state, Action("cancel", {"reason": "Stopped"}), owner, now)
    for role in {c.sop.owner, *(c.phases[p].owner for p in state.phases)}:
        people = [*state.assignments[role], "newcomer"]
        try:
            apply(c, state, Action("reassign", {"role": role, "people": people}), owner, now)
        except RunError as exc:
            # the one refusal allowed: the role also votes in a vote that is decided, and
            # another voter would decide it again (cancel, above, is always possible)
            assert exc.code == "electorate", str(exc)


def explore(c: CompiledSop) -> tuple[int, int]:
    """Check every reachable active state; (states seen, finished states)."""
    people = people_for(c)
    values = values_for(c)
    first = start_state(c, people)
    queue: deque[tuple[RunState, dt.datetime, int]] = deque([(first, T0, 0)])
    seen = {key(c, first, T0)}
    finished = 0
    while queue:
        state, now, depth = queue.popleft()
        assert problems(c, state) == []
        if state.status != "active":
            finished += 1
            continue
        owner_may_reassign_and_cancel(c, state, now)
        successors = []
        for actor, action in actions(c, state, values):
            try:
                after, _ = apply(c, state, action, actor, now)
            except RunError:
                continue
            successors.append((after, now))
        assert successors, f"nobody may act in {state.phases} ({state.to_dict()})"
        later = now + WAIT
        successors.append((state, later))
        for after, at in successors:
            k = key(c, after, at)
            if k in seen or depth >= MAX_DEPTH or len(seen) >= MAX_STATES:
                continue
            seen.add(k)
            queue.append((after, at, depth + 1))
    return len(seen), finished


@pytest.mark.parametrize("name", NAMES)
def test_somebody_may_act_in_every_reachable_state(name: str) -> None:
    seen, _finished = explore(compiled(name))
    assert seen > 10  # (the bounds stop change-management and tooling-migration before an end)


@pytest.mark.parametrize("name", NAMES)
def test_start_refuses_the_roles_needed_at_once_and_defers_the_others(name: str) -> None:
    """Each needed role left out: refused when the run needs it at once (the SOP owner,
    what the first phases need); otherwise the run starts, and reaching the phase that
    needs the role waits for somebody to bind it (tests/test_run_binding.py)."""
    c = compiled(name)
    people = people_for(c)
    fields = {f.id: values_for(c)[f.id][0] for f in c.fields.values() if f.required}
    needed = c.needed_roles()
    assert needed and c.owner_roles()
    deferred = 0
    for role in needed:
        without = {r: p for r, p in people.items() if r != role}
        bound = RunState(assignments=without, held=without)
        first = [pid for pid in c.entry_phases(c.start)
                 if role in policy.roles_to_bind(c.phases[pid], bound)]
        action = Action("start", {"title": "A run", "assignments": without, "fields": fields})
        if role in c.owner_roles() or first:
            why = "the SOP owner" if role in c.owner_roles() else (
                f"the owner of phase {first[0]}" if c.phases[first[0]].owner == role
                else f"an approver of phase {first[0]}")
            with pytest.raises(RunError) as info:
                apply(c, None, action, "someone", T0)
            assert str(info.value) == (f"nobody holds role {role} ({why}), so the run could "
                                       "not finish; bind somebody to each of them")
        else:
            state, _ = apply(c, None, action, "someone", T0)
            assert state.status == "active" and role not in state.assignments
            deferred += 1
    assert deferred > 0


def test_the_needed_roles_are_named_for_what_they_do() -> None:
    assert compiled("purchase-request").needed_roles() == {
        "finance": "the SOP owner", "requester": "the owner of phase request",
        "manager": "the owner of phase manager-approval",
        "it": "the owner of phase it-review", "cfo": "an approver of phase finance-approval",
        "procurement": "the owner of phase ordering",
    }


QUORUM_PHASES = [(name, pid) for name in NAMES for pid, phase in compiled(name).phases.items()
                 if phase.approval is not None and policy.needed(phase.approval.quorum) > 1]


def test_some_example_needs_a_quorum_of_several() -> None:
    assert QUORUM_PHASES == [("purchase-request", "finance-approval")]


@pytest.mark.parametrize(("name", "pid"), QUORUM_PHASES)
def test_start_refuses_a_quorum_the_people_cannot_reach(name: str, pid: str) -> None:
    c = compiled(name)
    approval = c.phases[pid].approval
    assert approval is not None
    people = {**people_for(c), **{role: ["solo"] for role in approval.by}}
    fields = {f.id: values_for(c)[f.id][0] for f in c.fields.values() if f.required}
    with pytest.raises(RunError) as info:
        apply(c, None, Action("start", {"title": "A run", "assignments": people,
                                        "fields": fields}), "someone", T0)
    assert str(info.value) == (
        f"phase {pid} needs {policy.describe_quorum(approval.quorum)} but only 1 of the "
        f"people bound may vote there (solo); bind more people to {roles_text(approval.by)}")


def test_the_purchase_quorum_message_in_full() -> None:
    c = compiled("purchase-request")
    people = {**people_for(c), "finance": ["solo"], "cfo": ["solo"]}
    with pytest.raises(RunError) as info:
        apply(c, None, Action("start", {"title": "A run", "assignments": people, "fields": {
            "amount": "100", "category": "travel"}}), "someone", T0)
    assert str(info.value) == (
        "phase finance-approval needs 2 approvals but only 1 of the people bound may vote "
        "there (solo); bind more people to roles finance or cfo")


def test_a_vote_outcome_that_leaves_a_case_out_still_lets_somebody_act(
        tmp_path: Path) -> None:
    """With `reopen on change`, routes that leave a case out (E245 refuses them without
    it) never leave only `cancel`: the exploration sets the amount to every value that
    matters, 500 (no route) included, and somebody may always act."""
    from engine_support import compiled_text
    from test_run_reopen import GAP

    c = compiled_text(GAP, tmp_path)
    assert "500" in values_for(c)["amount"]
    seen, finished = explore(c)
    assert seen > 10 and finished > 0
