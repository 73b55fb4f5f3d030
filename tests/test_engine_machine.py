"""The shared state machine: one per SOP version, tokens bound only while acting."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from engine_support import compiled, compiled_text

from opsflow.run.machine import Token, clear_cache, fire, flow_for


class Allow:
    """A guard context that lets everything through except chosen guards."""

    def __init__(self, **answers: bool) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def _answer(self, name: str) -> bool:
        self.asked.append(name)
        return self.answers.get(name, True)

    def owner_acts(self, phase: str) -> bool:
        return self._answer("owner")

    def checklist_complete(self, phase: str) -> bool:
        return self._answer("checklist")

    def decider_acts(self, phase: str) -> bool:
        return self._answer("decider")

    def approved(self, phase: str) -> bool:
        return self._answer("approved")

    def rejected(self, phase: str) -> bool:
        return self._answer("rejected")

    def no_quorum(self, phase: str) -> bool:
        return self._answer("no-quorum")

    def may_enter(self, dest: str) -> bool:
        return self._answer(f"enter:{dest}")

    def event_allowed(self, phase: str, event: str) -> bool:
        return self._answer(f"event:{event}")

    def all_joined(self, block: str) -> bool:
        return self._answer(f"joined:{block}")

    def condition_holds(self, phase: str, condition: Any) -> bool:
        return self._answer(f"if:{getattr(condition, 'field', '?')}")


def test_same_hash_gives_the_same_machine_object() -> None:
    clear_cache()
    first = flow_for(compiled("content-publishing"))
    again = flow_for(compiled("content-publishing"))  # a different dict, same hash
    assert first is again
    assert first.machine is again.machine
    other = flow_for(compiled("employee-onboarding"))
    assert other is not first


def test_a_new_sop_version_gets_its_own_machine(tmp_path: Path) -> None:
    text = 'sop v "V"\n  owner r\nrole r "R"\nphase a "A"\n  owner r\n  handoff to b\n' \
           'phase b "B"\n  owner r\n  end\n'
    one = flow_for(compiled_text(text, tmp_path))
    two = flow_for(compiled_text(text.replace('"V"', '"V2"'), tmp_path))
    assert one is not two
    assert one.machine.auto_transitions is False


def test_fire_binds_a_token_only_while_acting() -> None:
    flow = flow_for(compiled("content-publishing"))
    context = Allow()
    assert fire(flow, "brief", "handoff", context) == "draft"
    assert flow.machine.models == []
    assert context.asked == ["owner", "checklist", "enter:draft"]


def test_guards_choose_the_first_route_whose_condition_holds() -> None:
    flow = flow_for(compiled("content-publishing"))
    assert fire(flow, "client-review", "approve", Allow()) == "finance-sign-off"
    assert fire(flow, "client-review", "approve", Allow(**{"if:budget": False})) == "publish"
    assert fire(flow, "client-review", "approve", Allow(approved=False)) is None
    assert fire(flow, "client-review", "reject", Allow()) == "revision"


def test_a_guard_may_refuse_with_an_error() -> None:
    class Refuse(Allow):
        def owner_acts(self, phase: str) -> bool:
            raise PermissionError(f"not the owner of {phase}")

    flow = flow_for(compiled("content-publishing"))
    with pytest.raises(PermissionError, match="not the owner of brief"):
        fire(flow, "brief", "handoff", Refuse())
    assert flow.machine.models == []  # unbound even after an error


def test_an_unknown_trigger_is_a_programming_error() -> None:
    flow = flow_for(compiled("content-publishing"))
    with pytest.raises(ValueError, match="internal-review has no transition on handoff"):
        fire(flow, "internal-review", "handoff", Allow())


def test_parallel_join_waits_for_all_tracks() -> None:
    flow = flow_for(compiled("employee-onboarding"))
    assert fire(flow, "hr-paperwork", "handoff", Allow()) == "preparation:join"
    assert fire(flow, "preparation:join", "join", Allow(**{"joined:preparation": False})) is None
    assert fire(flow, "preparation:join", "join", Allow()) == "day-one"
    assert fire(flow, "it-setup", "handoff", Allow(**{"if:work-location": False})) == \
        "preparation:join"


def test_tokens_are_plain_models_with_the_guards_the_data_names() -> None:
    c = compiled("content-publishing")
    flow = flow_for(c)
    assert issubclass(flow.token_class, Token)
    for t in c.transitions:
        for name in t.conditions:
            assert callable(getattr(flow.token_class, name))


def test_many_threads_fire_on_one_shared_machine() -> None:
    flow = flow_for(compiled("content-publishing"))
    results: list[str | None] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(200):
                hold = n % 2 == 0
                results.append(fire(flow, "client-review", "approve",
                                    Allow(**{"if:budget": hold})))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results.count("finance-sign-off") == results.count("publish") == 800
    assert flow.machine.models == []
