"""What a playbook needs to know about one run: the renderers' input for runs.

These small frozen dataclasses are the contract between the run engine and
the renderers. The engine (or an adapter over the store) fills a
:class:`RunView`; :func:`opsflow.render.render_playbook` shows it. Nothing
here reads the database or decides anything: ``overdue`` and the people
bound to roles arrive already worked out. Times should be timezone-aware
(naive times are taken as UTC); they are shown in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["PhaseRun", "RunView", "Vote", "as_utc", "format_time"]


@dataclass(frozen=True)
class Vote:
    """One person's current vote in an approval phase."""

    person: str
    decision: str  # "approve" | "reject" | "abstain"
    at: dt.datetime
    comment: str = ""


@dataclass(frozen=True)
class PhaseRun:
    """What happened in one phase of a run (its latest visit).

    ``ticked`` holds the numbers (from 1) of the done-criteria ticked;
    ``overdue`` is true when the phase is still open after ``due_at``.
    """

    entered_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    left_at: dt.datetime | None = None
    overdue: bool = False
    ticked: frozenset[int] = frozenset()
    votes: tuple[Vote, ...] = ()


@dataclass(frozen=True)
class RunView:
    """The state of one run, for rendering its playbook.

    ``people``: role id → the people bound to it; ``current``: the phase ids
    the run is in now (several inside parallel tracks); ``phases``: phase id
    → :class:`PhaseRun` for every phase the run has entered; ``fields``:
    field id → value as text; ``milestones``: milestone id → when reached;
    ``as_of``: the moment this view was taken (overdue is judged then).
    """

    id: str
    title: str
    status: str  # "active" | "done" | "cancelled"
    outcome: str = ""
    started_at: dt.datetime | None = None
    as_of: dt.datetime | None = None
    people: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    current: tuple[str, ...] = ()
    phases: Mapping[str, PhaseRun] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    milestones: Mapping[str, dt.datetime] = field(default_factory=dict)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC (a naive time is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def format_time(moment: dt.datetime | None) -> str:
    """``2027-03-01 09:30 UTC``; ``""`` for None."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""
