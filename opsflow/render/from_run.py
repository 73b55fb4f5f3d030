"""A stored run → the renderers' :class:`~opsflow.render.runview.RunView`.

The adapter between the run engine and the playbook: it reads one run, the
SOP version the run pinned (its source text is in the database, so a later
edit of the ``.sop`` file does not change what the run's playbook shows) and
the run's events (for when each phase was entered and left). It decides
nothing itself: overdue is the engine's rule (still open after its due time).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from typing import Any

from ..lang.model import Sop
from .runview import PhaseRun, RunView, Vote

__all__ = ["load_run_view", "run_view_of"]


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def run_view_of(run_id: int, title: str, state: dict[str, object], events: Iterable[object],
                now: dt.datetime) -> RunView:
    """Build the view from a run's state dict and its events (``EventRecord``s)."""
    from ..run.state import RunState

    run = RunState.from_dict(dict(state))
    # the run's state keeps only the phases it is in; the events tell the latest
    # visit of every phase: when it was entered and left, its ticks and votes
    entered: dict[str, dt.datetime] = {}
    left: dict[str, dt.datetime] = {}
    ticked: dict[str, set[int]] = {}
    votes: dict[str, dict[str, Vote]] = {}
    for event in events:
        at: dt.datetime = event.at  # type: ignore[attr-defined]
        action: str = event.action  # type: ignore[attr-defined]
        source, target = event.from_phase, event.to_phase  # type: ignore[attr-defined]
        payload: dict[str, Any] = event.payload  # type: ignore[attr-defined]
        asked = payload.get("action", {}) if isinstance(payload.get("action"), dict) else {}
        if action in ("tick", "untick") and source:
            marks = ticked.setdefault(source, set())
            number = int(asked.get("criterion", 0))
            marks.add(number) if action == "tick" else marks.discard(number)
        elif action == "vote" and source:
            person: str = event.actor  # type: ignore[attr-defined]
            votes.setdefault(source, {})[person] = Vote(
                person, str(payload.get("decision", "")), at, str(payload.get("comment") or "")
            )
        if source and target and source != target:
            left[source] = at
        if target and target != source:
            entered[target] = at
            left.pop(target, None)
            ticked[target] = set()
            votes[target] = {}
    active = {token.phase: token for token in run.tokens}
    phases: dict[str, PhaseRun] = {}
    for name in sorted(set(entered) | set(active)):
        token = active.get(name)
        due = _time(token.due_at) if token is not None else None
        phases[name] = PhaseRun(
            entered_at=_time(token.entered_at) if token is not None else entered.get(name),
            due_at=due,
            left_at=None if token is not None else left.get(name),
            overdue=token is not None and due is not None and due < now,
            ticked=frozenset(ticked.get(name, ())),
            votes=tuple(v for _, v in sorted(votes.get(name, {}).items())),
        )
    return RunView(
        id=str(run_id),
        title=title,
        status=run.status,
        outcome=run.outcome or "",
        started_at=_time(run.started_at),
        as_of=now,
        people={role: tuple(people) for role, people in run.assignments.items()},
        current=tuple(token.phase for token in run.tokens),
        phases=phases,
        fields=dict(run.fields),
        milestones={k: t for k, v in run.milestones.items() if (t := _time(v)) is not None},
    )


def load_run_view(run: str | int, *, db_url: str | None = None,
                  workspace: str | os.PathLike[str] | None = None) -> tuple[Sop, RunView]:
    """The SOP version run ``run`` pinned, and the run's view, read from the database."""
    from ..api import loads
    from ..errors import OpsflowError
    from ..run.engine import Engine

    try:
        run_id = int(str(run).lstrip("#"))
    except ValueError:
        raise OpsflowError(f"`{run}` is not a run number; list runs with `opsflow list`") from None
    with Engine.open(db_url, workspace=workspace) as engine:
        record = engine.store.get_run(run_id)
        pinned = engine.sop(record.sop_hash)
        events = engine.store.events(run_id)
        now = engine.clock.now()
    sop = loads(pinned.source, pinned.path)
    return sop, run_view_of(run_id, record.title, record.state, events, now)
