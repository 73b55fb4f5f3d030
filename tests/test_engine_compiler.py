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
from opsflow.run import conditions as cond
from opsflow.run.compiled import (
    END,
    ApprovalSpec,
    CompiledFormatError,
    CompiledSop,
    DurationSpec,
    MilestoneSpec,
    ParallelSpec,
    QuorumSpec,
    TransitionSpec,
    join_state,
)
from opsflow.run.compiler import compile_sop, sop_hash
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
    compiled = _portable(compile_sop(opsflow.load(path)).to_json())
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
    compiled = json.loads(json.dumps(compile_sop(opsflow.load(path)).to_json()))  # as stored
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
    review = c.phases["client-review"]
    assert review.owner == "account"
    assert review.approval == ApprovalSpec(by=("client",), quorum=QuorumSpec("count", 1, 0, 1),
                                           veto=False, not_by=("writer",), window=None)
    assert review.due == DurationSpec(5, "business_days")
    assert [r.target for r in review.routes] == ["finance-sign-off", "publish", "revision"]
    moves = [t for t in c.transitions if t.source == "client-review"]
    assert moves[0] == TransitionSpec(
        "approve", "client-review", "finance-sign-off",
        ("guard:decider", "guard:checklist", "guard:approved", "guard:if:client-review:0",
         "guard:entry"))
    # a vote that cannot reach its quorum goes where a rejection goes, recorded as no-quorum
    assert [t.dest for t in moves if t.trigger == "no-quorum"] == ["revision"]
    assert c.guards["guard:if:client-review:0"] == cond.Compare(
        "budget", ">", cond.Literal("number", "10000"))
    # publish is an end phase with a checklist: it finishes on handoff
    assert TransitionSpec("handoff", "publish", END,
                          ("guard:owner", "guard:checklist", "guard:entry")) in c.transitions
    assert c.phases["publish"].milestones == (
        MilestoneSpec("campaign-live", "Campaign live", "account", None),)


def test_parallel_blocks_compile_to_fork_and_join_states() -> None:
    c = compile_sop(opsflow.load(ROOT / "sops" / "employee-onboarding.sop"))
    assert c.parallels["preparation"] == ParallelSpec(
        "preparation", "Preparation before day one", ("it-setup", "hr-paperwork"), "day-one")
    assert "preparation" in c.states and join_state("preparation") in c.states
    assert TransitionSpec("join", "preparation:join", "day-one",
                          ("guard:joined",)) in c.transitions
    assert c.phases["ship-equipment"].track == "preparation"
    assert c.phases["day-one"].track is None
    handoffs = [t.dest for t in c.transitions if t.source == "hr-paperwork"]
    assert handoffs == ["preparation:join"]


@pytest.mark.parametrize("path", SOPS, ids=lambda p: p.stem)
def test_the_stored_form_reads_back_equal(path: Path) -> None:
    c = compile_sop(opsflow.load(path))
    assert CompiledSop.from_json(json.loads(json.dumps(c.to_json()))) == c


def test_an_included_file_is_pinned_with_its_text() -> None:
    c = compile_sop(opsflow.load(ROOT / "sops" / "purchase-request.sop"))
    [shared] = c.sop.includes
    assert shared.text == (ROOT / "sops" / "shared" / "company-roles.sop").read_text("utf-8")


def test_format_1_as_main_stored_it_is_read_and_completed() -> None:
    """A compiled SOP stored by opsflow before the typed format reads like a fresh compile."""
    import sqlite3

    db = sqlite3.connect(Path(__file__).parent / "data" / "main-2026-11-22.db")
    rows = db.execute("SELECT compiled FROM sops").fetchall()
    db.close()
    assert len(rows) == 4
    for (text,) in rows:
        old = json.loads(text)
        assert old["format"] == 1
        c = CompiledSop.from_json(old)
        fresh = compile_sop(opsflow.load(ROOT / "sops" / f"{c.sop.id}.sop"))
        assert c.start == fresh.start and c.states == fresh.states
        assert set(c.phases) == set(fresh.phases)
        for pid, phase in c.phases.items():
            assert phase.routes == fresh.phases[pid].routes
            assert phase.approval is None or phase.approval.by == fresh.phases[pid].approval.by
        assert {(t.trigger, t.source, t.dest) for t in c.transitions} <= {
            (t.trigger, t.source, t.dest) for t in fresh.transitions} | {
            (t.trigger, t.source, t.dest) for t in c.transitions if t.trigger == "no-quorum"}
        assert all(t.conditions[-1] == "guard:entry" for t in c.transitions
                   if t.trigger != "join")


@pytest.mark.parametrize(("data", "message"), [
    ({"hash": "x"}, "the stored compiled SOP has no format number; it was not written by "
                    "opsflow (restore the database from a backup)"),
    ({"format": 99}, "the stored compiled SOP has format 99, newer than this opsflow reads "
                     "(format 2); upgrade opsflow"),
    ({"format": 2, "hash": "x"}, "the stored compiled SOP (format 2) is damaged (KeyError: "
                                 "'sop'); restore the database from a backup"),
])
def test_an_unreadable_compiled_form_names_the_fix(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CompiledFormatError) as info:
        CompiledSop.from_json(data)
    assert str(info.value) == message


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
    assert compile_sop(opsflow.load(path)).hash == expected
