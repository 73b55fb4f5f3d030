"""A stored run → the renderers' :class:`~opsflow.render.runview.RunView`.

The adapter between the run engine and the playbook: it reads one run, the
SOP version the run pinned (its source text is in the database, so a later
edit of the ``.sop`` file does not change what the run's playbook shows) and
the run's events, projected into phase visits (:mod:`opsflow.run.projection`:
when each phase was last entered and left, its ticks and votes). It decides
nothing itself: overdue is the engine's rule (still open after its due time).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..lang.model import Sop
from .runview import PhaseRun, RunView, Vote

if TYPE_CHECKING:
    from ..store import EventRecord

__all__ = ["load_run_view", "run_view_of"]


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def run_view_of(run_id: int, title: str, state: dict[str, object],
                events: Iterable[EventRecord], now: dt.datetime, *,
                parallels: Mapping[str, Sequence[str]] | None = None) -> RunView:
    """Build the view from a run's state dict and its stored events.

    Each phase shows its latest visit (:mod:`opsflow.run.projection`);
    ``parallels`` (block id → first phase of each track) lets the visits of
    phases entered by a fork be found.
    """
    from ..run.events import decode
    from ..run.projection import phase_visits
    from ..run.state import RunState

    run = RunState.from_dict(dict(state))
    latest = {visit.phase: visit
              for visit in phase_visits([decode(e) for e in events], parallels or {})}
    active = {token.phase: token for token in run.tokens}
    phases: dict[str, PhaseRun] = {}
    for name in sorted(set(latest) | set(active)):
        token = active.get(name)
        visit = latest.get(name)
        due = _time(token.due_at) if token is not None else None
        phases[name] = PhaseRun(
            entered_at=_time(token.entered_at) if token is not None else (
                visit.entered_at if visit is not None else None),
            due_at=due,
            left_at=None if token is not None or visit is None else visit.left_at,
            overdue=token is not None and due is not None and due < now,
            ticked=visit.ticked if visit is not None else frozenset(),
            votes=tuple(Vote(v.person, v.decision, v.at, v.comment)
                        for v in (visit.votes if visit is not None else ())),
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
    with Engine.open(db_url, workspace=workspace, create=False) as engine:
        record = engine.store.get_run(run_id)
        pinned = engine.sop(record.sop_hash)
        compiled = engine.compiled(record.sop_hash)
        events = engine.store.events(run_id)
        now = engine.clock.now()
    # the pinned texts of the included files, never the files on disk (format 1 SOPs kept
    # only their paths: those are read as they are now, and status says when they changed)
    stored = {i.path: i.text for i in compiled.sop.includes if i.text is not None}
    sop = loads(pinned.source, pinned.path, files=stored if stored or
                not compiled.sop.includes else None)
    from ..run.projection import track_starts

    return sop, run_view_of(run_id, record.title, record.state, events, now,
                            parallels=track_starts(compiled))
