"""The README's examples work: its .sop example checks clean and its set-up commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import opsflow

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def test_sop_examples_check_clean() -> None:
    blocks = re.findall(r"```sop\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        assert opsflow.check_text(block, "README.sop") == []


def test_ci_runs_the_readme_test_command() -> None:
    assert "./dev.sh test" in README
    assert "./dev.sh demo" in README
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "./dev.sh test" in ci
    dev = (ROOT / "dev.sh").read_text("utf-8")
    assert "python -m pytest -n 2" in README and "python -m pytest -n 2" in dev
