"""The compiler's output: golden files of every example SOP, and Machine-ready data.

Regenerate the goldens with ``OPSFLOW_UPDATE_GOLDEN=1 pytest tests/test_engine_compiler.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from transitions import Machine

import opsflow
from opsflow.run.compiler import END, compile_sop, join_state, sop_hash
from opsflow.run.sophash import file_state, hash_texts

ROOT = Path(__file__).resolve().parent.parent
SOPS = sorted((ROOT / "sops").glob("*.sop"))
GOLDEN = Path(__file__).parent / "golden" / "compiled"
UPDATE = os.environ.get("OPSFLOW_UPDATE_GOLDEN") == "1"


def _portable(value: Any) -> Any:
    """The compiled dict with this checkout's absolute paths replaced by ``<repo>``."""
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    if isinstance(value, str) and value.startswith(str(ROOT)):
        return "<repo>" + value[len(str(ROOT)):]
    return value


@pytest.mark.parametrize("path", SOPS, ids=lambda p: p.stem)
def test_compiled_output_matches_golden(path: Path) -> None:
    compiled = _portable(compile_sop(opsflow.load(path)))
    text = json.dumps(compiled, indent=2, sort_keys=True) + "\n"
    golden = GOLDEN / f"{path.stem}.json"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, "utf-8")
    assert golden.exists(), f"no golden for {path.name}; run with OPSFLOW_UPDATE_GOLDEN=1"
    assert text == golden.read_text("utf-8")


def test_every_example_has_a_golden_and_no_golden_is_stale() -> None:
    assert {p.stem for p in SOPS} == {p.stem for p in GOLDEN.glob("*.json")}


@pytest.mark.parametrize("path", SOPS, ids=lambda p: p.stem)
def test_states_and_transitions_are_what_transitions_machine_takes(path: Path) -> None:
    compiled = json.loads(json.dumps(compile_sop(opsflow.load(path))))  # plain JSON round trip
    machine = Machine(model=None, states=compiled["states"], transitions=compiled["transitions"],
                      initial=compiled["start"], auto_transitions=False)
    assert set(machine.states) == set(compiled["states"])
    assert len(list(machine.get_transitions())) == len(compiled["transitions"])
    for t in compiled["transitions"]:
        for name in t["conditions"]:
            assert name.startswith("guard:")
            if name.startswith("guard:if:"):
                assert name in compiled["guards"]


def test_content_publishing_compiles_what_the_runtime_needs() -> None:
    c = compile_sop(opsflow.load(ROOT / "sops" / "content-publishing.sop"))
    review = c["phases"]["client-review"]
    assert review["owner"] == "account"
    assert review["approval"] == {
        "by": ["client"], "quorum": {"kind": "count", "count": 1, "numerator": 0,
                                     "denominator": 1},
        "veto": False, "not_by": ["writer"], "window": None}
    assert review["due"] == {"amount": 5, "unit": "business_days"}
    assert [r["target"] for r in review["routes"]] == ["finance-sign-off", "publish", "revision"]
    approve = [t for t in c["transitions"] if t["source"] == "client-review"]
    assert approve[0] == {
        "trigger": "approve", "source": "client-review", "dest": "finance-sign-off",
        "conditions": ["guard:decider", "guard:checklist", "guard:approved",
                       "guard:if:client-review:0"]}
    assert c["guards"]["guard:if:client-review:0"] == {
        "compare": "budget", "op": ">", "value": {"kind": "number", "value": "10000"}}
    # publish is an end phase with a checklist: it finishes on handoff
    assert {"trigger": "handoff", "source": "publish", "dest": END,
            "conditions": ["guard:owner", "guard:checklist"]} in c["transitions"]
    assert c["phases"]["publish"]["milestones"] == [
        {"id": "campaign-live", "title": "Campaign live", "owner": "account", "due": None}]


def test_parallel_blocks_compile_to_fork_and_join_states() -> None:
    c = compile_sop(opsflow.load(ROOT / "sops" / "employee-onboarding.sop"))
    assert c["parallels"]["preparation"] == {
        "title": "Preparation before day one", "tracks": ["it-setup", "hr-paperwork"],
        "then": "day-one"}
    assert "preparation" in c["states"] and join_state("preparation") in c["states"]
    assert {"trigger": "join", "source": "preparation:join", "dest": "day-one",
            "conditions": ["guard:joined"]} in c["transitions"]
    assert c["phases"]["ship-equipment"]["track"] == "preparation"
    assert c["phases"]["day-one"]["track"] is None
    handoffs = [t["dest"] for t in c["transitions"] if t["source"] == "hr-paperwork"]
    assert handoffs == ["preparation:join"]


def test_hash_covers_source_and_includes(tmp_path: Path) -> None:
    shared = tmp_path / "roles.sop"
    shared.write_text('role r "R"\n', "utf-8")
    main = tmp_path / "main.sop"
    main.write_text('include "roles.sop"\nsop m "M"\n  owner r\nphase a "A"\n  owner r\n'
                    "  end\n", "utf-8")
    sop = opsflow.load(main)
    pinned = sop_hash(sop)
    assert pinned == hash_texts(main.read_text("utf-8"), [shared.read_text("utf-8")])
    includes = [i.resolved for i in sop.includes]
    assert file_state(pinned, str(main), includes) == "same"
    shared.write_text('role r "Renamed"\n', "utf-8")
    assert file_state(pinned, str(main), includes) == "changed"
    main.unlink()
    assert file_state(pinned, str(main), includes) == "missing"
    assert file_state(pinned, "<text>") == "unknown"


def test_hash_of_a_file_without_includes_is_sha256_of_its_text() -> None:
    import hashlib

    path = ROOT / "sops" / "content-publishing.sop"
    expected = hashlib.sha256(path.read_text("utf-8").encode()).hexdigest()
    assert compile_sop(opsflow.load(path))["hash"] == expected
