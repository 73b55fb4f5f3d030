"""The example procedures in ``sops/``: they are clean and, together, use the whole language.

Every ``sops/**/*.sop`` must check without errors or warnings. Then the
models of all examples are walked and the constructs found are compared
with what the model can express: every node class of :mod:`opsflow.lang.model`,
every kind named by its ``Literal`` types (field types, quorum kinds,
duration units, comparison operators, value kinds) and every optional
attribute set to something other than its default. A construct added to
the model without an example makes this test fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

import opsflow
from opsflow.lang import model as m

SOPS = Path(__file__).resolve().parent.parent / "sops"
PROCEDURES = sorted(p for p in SOPS.glob("*.sop"))
LIBRARIES = sorted(SOPS.glob("shared/*.sop"))

#: attributes that only record mistakes for the checker (clean files leave them empty)
ERROR_ONLY = {("Sop", "extra_headers"), ("Phase", "repeated"), ("Sop", "source"),
              ("Field", "repeated"), ("Approval", "repeated")}


def _load_all() -> list[m.Sop]:
    return [opsflow.load(p) for p in PROCEDURES]


def _nodes(value: object) -> Iterator[object]:
    """Every dataclass instance reachable from ``value`` (depth first)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for f in dataclasses.fields(value):
            yield from _nodes(getattr(value, f.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes(item)


def _source_of(sop: m.Sop, span: m.Span) -> str:
    """The text a node was written as, up to the end of its first line."""
    line = sop.source.splitlines()[span.line - 1]
    end = span.end_column - 1 if span.end_line == span.line else len(line)
    return line[span.column - 1 : end]


def _literal_args(alias: object) -> set[str]:
    return set(typing.get_args(alias))


@pytest.fixture(scope="module")
def sops() -> list[m.Sop]:
    return _load_all()


@pytest.fixture(scope="module")
def nodes(sops: list[m.Sop]) -> list[object]:
    return [n for sop in sops for n in _nodes(sop)]


def _of(nodes: list[object], cls: type) -> list[typing.Any]:
    return [n for n in nodes if isinstance(n, cls)]


# ---- the files are clean ------------------------------------------------------


def test_the_six_procedures_of_the_issue_exist() -> None:
    names = {p.stem for p in PROCEDURES}
    wanted = {
        "content-publishing",
        "employee-onboarding",
        "purchase-request",
        "change-management",
        "incident-response",
        "tooling-migration",
    }
    assert wanted <= names


@pytest.mark.parametrize("path", PROCEDURES, ids=lambda p: p.stem)
def test_each_procedure_loads(path: Path) -> None:
    sop = opsflow.load(path)
    assert sop.id == path.stem
    assert sop.phases and sop.start


@pytest.mark.parametrize("path", LIBRARIES, ids=lambda p: p.stem)
def test_shared_files_are_libraries(path: Path) -> None:
    shared = opsflow.load(path)
    assert shared.is_library
    assert shared.roles and not shared.phases


def test_check_of_the_folder_has_no_errors_and_no_warnings() -> None:
    report = opsflow.check_paths([str(SOPS)])
    assert len(report.files) == len(PROCEDURES) + len(LIBRARIES)
    assert [f"{d.span}: {d.code} {d.message}" for d in report.diagnostics] == []


# ---- together they use every construct ------------------------------------------


def test_every_model_node_class_is_used(nodes: list[object]) -> None:
    classes = {
        obj
        for name in m.__all__
        if dataclasses.is_dataclass(obj := getattr(m, name)) and isinstance(obj, type)
    }
    used = {type(n) for n in nodes}
    assert sorted(c.__name__ for c in classes - used) == []


def test_every_optional_attribute_is_set_somewhere(nodes: list[object]) -> None:
    """For each attribute with a default, some node has another value."""
    unset: list[str] = []
    classes: set[type[typing.Any]] = {type(n) for n in nodes}
    for cls in classes:
        of_cls = _of(nodes, cls)
        for f in dataclasses.fields(cls):
            if f.name == "span" or (cls.__name__, f.name) in ERROR_ONLY:
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                continue
            if not any(getattr(n, f.name) != default for n in of_cls):
                unset.append(f"{cls.__name__}.{f.name}")
    assert sorted(unset) == []


def test_every_field_type_is_used(nodes: list[object]) -> None:
    kinds = {f.type.kind for f in _of(nodes, m.Field)}
    assert kinds == _literal_args(m.FieldKind)


def test_every_quorum_kind_is_used(nodes: list[object]) -> None:
    approvals = _of(nodes, m.Approval)
    assert {a.quorum.kind for a in approvals} == _literal_args(m.QuorumKind)
    assert any(a.quorum.kind == "count" and a.quorum.count > 1 for a in approvals)


def test_every_approval_policy_line_is_used(nodes: list[object]) -> None:
    approvals = _of(nodes, m.Approval)
    assert any(a.veto for a in approvals)
    assert any(a.not_by for a in approvals)
    assert any(a.window is not None for a in approvals)
    assert any(a.reopen_on_change for a in approvals)
    assert any(len(a.by) > 1 for a in approvals)


def test_every_duration_unit_is_used(nodes: list[object]) -> None:
    units = {d.unit for d in _of(nodes, m.Duration)}
    assert units == _literal_args(m.DurationUnit)


def test_every_comparison_operator_and_value_kind_is_used(nodes: list[object]) -> None:
    compares = _of(nodes, m.Compare)
    assert {c.op for c in compares} == _literal_args(m.CompareOp)
    assert {v.kind for v in _of(nodes, m.Value)} == _literal_args(m.ValueKind)
    members = _of(nodes, m.Member)
    assert {mb.negated for mb in members} == {True, False}


def test_every_written_form_of_a_condition_is_used(sops: list[m.Sop]) -> None:
    """``is``/``is not`` become ``=``/``!=`` in the model; the source shows which was written."""
    written: set[str] = set()
    for sop in sops:
        for node in _nodes(sop):
            if isinstance(node, m.Compare):
                rest = _source_of(sop, node.span)[len(node.field.name) :].split()
                written.add(" ".join(rest[:2]) if rest[:2] == ["is", "not"] else rest[0])
            elif isinstance(node, m.Route) and "(" in _source_of(sop, node.span):
                written.add("( )")
    assert {"is", "is not", "=", "!=", "<", "<=", ">", ">=", "( )"} <= written


def test_conditions_combine_with_and_or_not(nodes: list[object]) -> None:
    conditions = [r.condition for r in _of(nodes, m.Route) if r.condition is not None]
    inside = {type(n) for c in conditions for n in _nodes(c)}
    assert {m.Compare, m.Member, m.And, m.Or, m.Not} <= inside


def test_routes_on_every_kind_of_event(sops: list[m.Sop]) -> None:
    declared = {e.id for sop in sops for e in sop.events}
    used = {r.event.name for sop in sops for p in sop.phases for r in p.routes}
    assert set(m.BUILTIN_EVENTS) <= used
    assert used & declared, "no phase routes on a declared event"
    assert any(e.by for sop in sops for e in sop.events)
    assert any(not e.by for sop in sops for e in sop.events)


def test_milestones_with_a_date_a_duration_and_no_due(nodes: list[object]) -> None:
    dues = [ms.due for ms in _of(nodes, m.Milestone)]
    assert any(isinstance(d, dt.date) for d in dues)
    assert any(isinstance(d, m.Duration) for d in dues)
    assert any(d is None for d in dues)


def test_parallel_tracks_join(sops: list[m.Sop]) -> None:
    blocks = [(sop, b) for sop in sops for b in sop.parallels]
    assert blocks
    for sop, block in blocks:
        assert len(block.tracks) >= 2 and block.then is not None
        inside = [sop.find_phase(pid) for pid, owner in sop.track_of().items() if owner == block.id]
        assert any(r.target.name == m.JOIN for p in inside if p for r in p.routes)


def test_includes_resolve_to_a_shared_file(sops: list[m.Sop]) -> None:
    includes = [inc for sop in sops for inc in sop.includes]
    assert includes and all(Path(inc.resolved).is_file() for inc in includes)
    assert {Path(inc.resolved).resolve() for inc in includes} <= {p.resolve() for p in LIBRARIES}


def test_several_end_phases_and_loops(sops: list[m.Sop]) -> None:
    assert any(sum(p.end for p in sop.phases) >= 2 for sop in sops)
    assert any(_has_cycle(sop) for sop in sops)


def test_descriptions_on_sop_and_phases_hold_markdown(sops: list[m.Sop]) -> None:
    assert all(sop.description for sop in sops if sop.id != "content-publishing")
    assert any("**" in sop.description for sop in sops)
    assert any(p.description for sop in sops for p in sop.phases)


def test_checklists_are_numbered_from_one(sops: list[m.Sop]) -> None:
    for sop in sops:
        for phase in sop.phases:
            assert [c.number for c in phase.checklist] == list(range(1, len(phase.checklist) + 1))
            assert all(c.text and not c.text.startswith("-") for c in phase.checklist)


def _has_cycle(sop: m.Sop) -> bool:
    graph = {p.id: [r.target.name for r in p.routes] for p in sop.phases}
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in graph)
