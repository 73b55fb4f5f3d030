"""Stage 2: named checks over the model (placeholder, being written)."""

from __future__ import annotations

from .errors import Diagnostic
from .model import Sop


def run_checks(sop: Sop) -> list[Diagnostic]:
    return []
