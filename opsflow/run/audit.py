"""What ``opsflow verify`` checks besides the hash chain: everything a decision rests on.

The chain (:mod:`opsflow.store.chain`) proves the events were not edited,
reordered or cut in the middle; :func:`opsflow.run.core.replay` rebuilds the
state from them. This module checks what the events do not hold themselves:

* :func:`pin_problems` — the pinned SOP: its source and included texts
  compile again to the stored compiled form and to the run's SOP hash, so
  an edited source, an edited include or a compiled form with a rule taken
  out (say ``not by requester``) is found;
* :func:`row_problems` — the run row and its projections agree with the
  replayed state: title (from the start event), status, phases, due time,
  assignments and work items (what inboxes and ``list --person`` read).

Each problem is one sentence. This module reads no database itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .compiled import CompiledSop
from .state import RunState
from .status import work_items

if TYPE_CHECKING:
    from ..store import RunRecord, SopRecord, WorkItem

__all__ = ["pin_problems", "row_problems"]


def pin_problems(sop: SopRecord, compiled: CompiledSop) -> list[str]:
    """How the pinned SOP version differs from what its stored texts compile to."""
    from ..api import loads
    from ..errors import SopError
    from .compiler import compile_sop

    problems = _row_of_pin(sop, compiled)
    stored = {i.path: i.text for i in compiled.sop.includes if i.text is not None}
    missing = [i.path for i in compiled.sop.includes if i.text is None]
    if missing and sop.compiled.get("format") == 1:
        # pinned before included texts were kept (2026-11-22): nothing to compile them from
        # (docs/security.md names this limit)
        return problems
    if missing:  # fail closed: a text the pin should hold is gone
        return [*problems, f"the pinned SOP lacks the text of included file "
                           f"{', '.join(missing)}, so its compiled form cannot be checked "
                           "against its source"]
    try:
        again = compile_sop(loads(sop.source, sop.path, files=stored), stored)
    except SopError as exc:
        return [*problems, f"the pinned SOP source no longer compiles ({exc})"]
    if again.hash != sop.hash:
        problems.append("the pinned SOP source or its included files were changed after the "
                        "run started (their hash is not the run's SOP hash)")
    parts = ("sop", "start", "states", "roles", "fields", "events", "phases", "parallels",
             "guards")
    changed = [p for p in parts if getattr(again, p) != getattr(compiled, p)]
    if changed or (set(again.transitions) != set(compiled.transitions) and compiled.format > 1):
        which = ", ".join(changed) or "transitions"
        problems.append(f"the stored compiled SOP differs from its source in: {which}")
    return problems


def _row_of_pin(sop: SopRecord, compiled: CompiledSop) -> list[str]:
    """The pinned SOP row's own columns against its compiled form."""
    wrong = [name for name, row, pinned in (
        ("id", sop.sop_id, compiled.sop.id), ("version", sop.version, compiled.sop.version),
        ("path", sop.path, compiled.sop.path)) if row != pinned]
    if sop.workspace_path is not None and not compiled.sop.path.endswith(
            "/" + sop.workspace_path):
        wrong.append("workspace path")
    return [f"the pinned SOP's {', '.join(wrong)} differ from its compiled form"] if wrong \
        else []


def _work_key(items: Sequence[WorkItem]) -> list[tuple[str, str, str, str, str]]:
    return sorted((w.person, w.kind, w.phase, w.title, w.due_at.isoformat() if w.due_at else "")
                  for w in items)


def row_problems(run: RunRecord, replayed: RunState, title: str | None,
                 compiled: CompiledSop, assignments: list[tuple[str, str]],
                 work: list[WorkItem], started: dt.datetime | None = None) -> list[str]:
    """How the run row and its projections differ from the replayed state (``started``:
    the time of the start event)."""
    from ..store import WorkItem

    problems = []
    if started is not None and run.started_at != started:
        problems.append("the run's start time differs from its start event")
    if run.sop_id != compiled.sop.id:
        problems.append("the run's SOP id differs from the SOP it pinned (lists by SOP would "
                        "be wrong)")
    if title is not None and run.title != title.strip():
        problems.append("the run's title differs from the one it was started with")
    due = replayed.due_at()
    if (run.due_at and run.due_at.astimezone(dt.UTC)) != due:
        problems.append("the run's due time differs from the replay of its events")
    pairs = sorted({(role, person) for role, people in replayed.assignments.items()
                    for person in people})
    if assignments != pairs:
        problems.append("the stored assignments differ from the replay of its events "
                        "(inboxes and lists by person would be wrong)")
    expected = [WorkItem(w.person, w.kind, w.phase, w.title, w.due_at)
                for w in work_items(compiled, replayed, run.updated_at)]
    if _work_key(work) != _work_key(expected):
        problems.append("the stored work items differ from the replay of its events "
                        "(inboxes would be wrong)")
    return problems
