"""The checker's full error texts, one fixture file per family of mistakes.

Each ``tests/check_cases/NAME.sop`` is checked and the formatted output is
compared with ``NAME.expected`` in full (message, caret, hint). Regenerate
with ``OPSFLOW_UPDATE_GOLDEN=1 pytest tests/test_checks.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import opsflow
from opsflow.lang.checks import CODES, RULES
from opsflow.lang.diagnostics import format_text

CASES = Path(__file__).parent / "check_cases"
UPDATE = os.environ.get("OPSFLOW_UPDATE_GOLDEN") == "1"


def _render(case: Path) -> str:
    text = case.read_text("utf-8")
    name = f"check_cases/{case.name}"
    sources = {name: text}
    cwd = os.getcwd()
    os.chdir(case.parent.parent)  # includes resolve relative to the file as named
    try:
        diagnostics = opsflow.check_text(text, name)
    finally:
        os.chdir(cwd)
    return format_text(diagnostics, sources)


@pytest.mark.parametrize("case", sorted(CASES.glob("*.sop")), ids=lambda p: p.stem)
def test_error_texts_in_full(case: Path) -> None:
    expected_file = case.with_suffix(".expected")
    actual = _render(case)
    if UPDATE:
        expected_file.write_text(actual, "utf-8")
    assert expected_file.exists(), f"missing {expected_file.name}: run with OPSFLOW_UPDATE_GOLDEN=1"
    assert actual == expected_file.read_text("utf-8")


def test_every_rule_code_is_exercised_by_a_case() -> None:
    seen = "".join(p.read_text("utf-8") for p in CASES.glob("*.expected"))
    missing = [r.code for r in RULES if f"[{r.code}]" not in seen]
    assert missing == []


def test_codes_are_unique_and_documented() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(CODES[c] for c in codes)


def test_all_errors_of_a_file_are_reported_together() -> None:
    text = (CASES / "references.sop").read_text("utf-8")
    with pytest.raises(opsflow.SopError) as info:
        opsflow.loads(text, "references.sop")
    codes = [d.code for d in info.value.diagnostics]
    assert codes.count("E210") == 2 and "E211" in codes and "E212" in codes and "E213" in codes
    assert "and 4 more errors" in str(info.value)


def test_clean_sop_has_no_diagnostics() -> None:
    text = (Path(__file__).parent.parent / "sops" / "content-publishing.sop").read_text("utf-8")
    assert opsflow.check_text(text, "content-publishing.sop") == []


def test_every_code_is_documented_in_the_language_reference() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "language.md").read_text("utf-8")
    checks = doc.split("## Checks", 1)[1]
    missing = [code for code in CODES if f"| `{code}` |" not in checks]
    assert missing == []
