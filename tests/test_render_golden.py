"""Golden files for every example SOP: playbook, RACI (md, csv, html), Mermaid, DOT.

Regenerate after reviewing a change with ``OPSFLOW_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from render_support import (
    GOLDEN,
    SOPS,
    UPDATE,
    assert_tables_well_formed,
    check_golden,
    example_paths,
    sample_run,
)

import opsflow
from opsflow.render import render_diagram, render_playbook, render_raci

EXAMPLES = example_paths()
OUTPUTS = {
    "playbook.md": lambda sop: render_playbook(sop),
    "raci.md": lambda sop: render_raci(sop, "md"),
    "raci.csv": lambda sop: render_raci(sop, "csv"),
    "raci.html": lambda sop: render_raci(sop, "html"),
    "diagram.mmd": lambda sop: render_diagram(sop, "mermaid"),
    "diagram.dot": lambda sop: render_diagram(sop, "dot"),
}


def test_every_example_has_goldens() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"content-publishing", "employee-onboarding"} <= names
    if UPDATE:
        return
    on_disk = {p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name != "runs"}
    assert on_disk == names, "golden folders and sops/ examples differ; regenerate the goldens"


@pytest.mark.parametrize("name", sorted(OUTPUTS))
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden(path: Path, name: str) -> None:
    sop = opsflow.load(path)
    check_golden(GOLDEN / path.stem / name, OUTPUTS[name](sop))


def test_run_playbook_golden() -> None:
    sop = opsflow.load(SOPS / "content-publishing.sop")
    text = render_playbook(sop, sample_run())
    check_golden(GOLDEN / "runs" / "content-publishing-42.md", text)
    assert_tables_well_formed(text)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_output_is_deterministic(path: Path) -> None:
    first = [fn(opsflow.load(path)) for fn in OUTPUTS.values()]
    second = [fn(opsflow.load(path)) for fn in OUTPUTS.values()]
    assert first == second
