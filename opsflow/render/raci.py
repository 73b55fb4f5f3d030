"""The RACI matrix of an SOP: phases by roles, with a legend and a lint summary.

R is the phase owner, A the ``accountable`` roles, C ``consulted``, I
``informed``; a role with several letters in one phase gets them all
(``R/A``). Columns are the roles declared in the file itself plus any
included role that has a letter somewhere. The lint names phases with no
or several accountable roles and roles that are responsible for nothing.

Plain data only; the templates in ``renderers/`` turn it into Markdown,
CSV or HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..lang import model as m
from .words import Namer

__all__ = ["LEGEND", "LintItem", "RaciRow", "RaciView", "build_raci"]

#: (letter, name, meaning)
LEGEND: tuple[tuple[str, str, str], ...] = (
    ("R", "Responsible", "owns the phase and does the work (the phase owner)"),
    ("A", "Accountable", "answers for the result and signs it off"),
    ("C", "Consulted", "is asked for input before or during the work"),
    ("I", "Informed", "is told about progress and when the phase is done"),
)


@dataclass(frozen=True)
class RaciRow:
    phase_id: str
    phase: str  # "2. Draft"
    cells: tuple[str, ...]  # one per column role: "", "R", "R/A", …


@dataclass(frozen=True)
class LintItem:
    problem: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class RaciView:
    role_ids: tuple[str, ...]
    roles: tuple[str, ...]  # column titles
    rows: tuple[RaciRow, ...]
    lint: tuple[LintItem, ...]
    legend: tuple[tuple[str, str, str], ...] = LEGEND


def _letters(phase: m.Phase) -> dict[str, str]:
    letters: dict[str, list[str]] = {}
    groups = (("R", (phase.owner,) if phase.owner else ()), ("A", phase.accountable),
              ("C", phase.consulted), ("I", phase.informed))
    for letter, refs in groups:
        for ref in refs:
            have = letters.setdefault(ref.name, [])
            if letter not in have:
                have.append(letter)
    return {role: "/".join(found) for role, found in letters.items()}


def build_raci(sop: m.Sop, phases: Sequence[tuple[str, m.Phase]], namer: Namer) -> RaciView:
    """``phases``: (label, phase) pairs in reading order."""
    cells = {phase.id: _letters(phase) for _, phase in phases}
    used = {role for letters in cells.values() for role in letters}
    columns = [r.id for r in sop.roles if r.span.file == sop.span.file or r.id in used]
    rows = tuple(RaciRow(phase.id, label, tuple(cells[phase.id].get(c, "") for c in columns))
                 for label, phase in phases)
    owners = {phase.owner.name for _, phase in phases if phase.owner}
    lint = [
        LintItem("Phases with no accountable role",
                 tuple(label for label, phase in phases if not phase.accountable)),
        LintItem("Phases with several accountable roles",
                 tuple(label for label, phase in phases if len(phase.accountable) > 1)),
        LintItem("Roles that own no phase (no R anywhere)",
                 tuple(namer.role(c) for c in columns if c not in owners)),
    ]
    return RaciView(role_ids=tuple(columns), roles=tuple(namer.role(c) for c in columns),
                    rows=rows, lint=tuple(item for item in lint if item.items))
