"""Plain records the store takes and returns.

These frozen dataclasses are the whole vocabulary between the run engine and
the store: what the engine hands in (:class:`SopRecord`, :class:`EventDraft`,
:class:`WorkItem`, and from an action :class:`StateChange` or
:class:`Refusal`) and what it gets back (:class:`RunRecord`,
:class:`EventRecord`, :class:`WorkItemRecord`). They hold data only; they
know nothing about SQL (see :mod:`opsflow.store.schema` for the tables) and
nothing about SOP semantics (a run's ``state`` and a SOP's ``compiled``
form are opaque JSON dictionaries owned by the engine).

All datetimes are timezone-aware and in UTC when they come out of the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "EventDraft",
    "EventRecord",
    "JsonDict",
    "NewRun",
    "PersonRecord",
    "Refusal",
    "RunRecord",
    "SopRecord",
    "StateChange",
    "WorkItem",
    "WorkItemRecord",
]

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class SopRecord:
    """One exact SOP version as a run pins it: source text and compiled form.

    ``hash`` is the engine's fingerprint of the source (see :mod:`opsflow.run.sophash`);
    the store only uses it as the key. ``version`` is the SOP's ``version`` line as
    written (``"3"``, ``"1.2"``; ``""`` if it has none).
    """

    hash: str
    sop_id: str
    version: str
    path: str
    source: str
    compiled: JsonDict
    #: ``path`` relative to the workspace it was started in (``None``: outside one)
    workspace_path: str | None = None


@dataclass(frozen=True)
class NewRun:
    """A run to create (see :meth:`opsflow.store.Store.create_runs`)."""

    sop_hash: str
    sop_id: str
    title: str
    status: str
    phases: list[str]
    state: JsonDict
    due_at: datetime | None
    assignments: list[tuple[str, str]]
    work: list[WorkItem]
    events: list[EventDraft]
    now: datetime


@dataclass(frozen=True)
class RunRecord:
    """The current state row of one run (``state`` is the engine's own dict)."""

    id: int
    sop_hash: str
    sop_id: str
    title: str
    status: str
    phases: list[str]
    state: JsonDict
    version: int
    due_at: datetime | None
    started_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EventDraft:
    """An event the engine wants recorded; the store numbers and chains it."""

    actor: str
    action: str
    at: datetime
    from_phase: str | None = None
    to_phase: str | None = None
    payload: JsonDict = field(default_factory=dict)


@dataclass(frozen=True)
class EventRecord:
    """A recorded event: numbered per run (``seq`` from 1) and hash-chained."""

    run_id: int
    seq: int
    at: datetime
    actor: str
    action: str
    from_phase: str | None
    to_phase: str | None
    payload: JsonDict
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class WorkItem:
    """Something waiting on one person in a run (``kind``: 'owner', 'vote', ...)."""

    person: str
    kind: str
    phase: str
    title: str
    due_at: datetime | None


@dataclass(frozen=True)
class WorkItemRecord:
    """A work item as a person's inbox lists it, with its run's title and SOP."""

    run_id: int
    run_title: str
    sop_id: str
    person: str
    kind: str
    phase: str
    title: str
    due_at: datetime | None


@dataclass(frozen=True)
class StateChange:
    """What an action decided (see :meth:`opsflow.store.Store.act`): the run's new state
    row, the events that record the change, and its assignments and work items."""

    status: str
    phases: list[str]
    state: JsonDict
    due_at: datetime | None
    assignments: list[tuple[str, str]]
    work: list[WorkItem]
    events: list[EventDraft]


@dataclass(frozen=True)
class Refusal:
    """An event that changes no state (a refused attempt, see
    :meth:`opsflow.store.Store.act`); with ``collapse`` (a key of a payload) it is not
    written when the same actor's event of the same action and key was written since
    the run's last event of another action."""

    event: EventDraft
    collapse: Callable[[JsonDict], object] | None = None


@dataclass(frozen=True)
class PersonRecord:
    """One person of the people directory (see :mod:`opsflow.run.directory`)."""

    key: str
    name: str
    email: str | None = None
    timezone: str | None = None
    teams: tuple[str, ...] = ()
    active: bool = True
