"""The run engine: start runs and act on them, persisted through the store.

:class:`Engine` is the library face of runs. Each action reads the run from
the :class:`~opsflow.store.Store`, applies it with the pure run core
(:func:`opsflow.run.core.apply`, which moves tokens through the SOP's shared
``transitions`` machine), and writes the new state, its events and the
run's work items in one transaction with an optimistic version check.

* A refused action (:class:`~opsflow.run.errors.RunError`, e.g. an actor
  outside the role the SOP gives the action) is recorded as a ``refused``
  event and raised with the run's number in front of its message.
* An action that meets a concurrent update is applied again to the fresh
  state: the run core re-checks everything, so it is done if it is still
  allowed and refused with its ordinary message if not (issue 21: an action
  valid on the current state never reaches the caller as a conflict). Only
  after :attr:`Engine.retries` such meetings in a row does the store's
  :class:`~opsflow.store.ConflictError` ("changed by someone else; run the
  command again") reach the caller.
* Reading (status, inbox, list, history, verify) never imports the parser
  or the state machine; only ``start`` reads ``.sop`` files.

This module does not parse arguments or print (see :mod:`opsflow.cli.runs_cmd`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from ..store import (
    ConflictError,
    EventDraft,
    EventRecord,
    EventTimeBehindError,
    NewRun,
    RunRecord,
    SopRecord,
    Store,
    WorkItem,
    WorkItemRecord,
)
from . import invariants
from .clock import Clock, StoreClock
from .compiled import CompiledSop
from .errors import RunError
from .people import person_key
from .sophash import file_state
from .state import RunState
from .status import RunStatus, build_status, work_items

if TYPE_CHECKING:
    from ..lang.model import Sop
    from .checkpoint import Checkpoint
    from .core import Action, Change
    from .events import Event

__all__ = ["RETRIED", "ActResult", "Engine", "InboxItem", "VerifyReport"]

#: the mark a database gets once an engine with an untrusted clock wrote to it
MOVABLE_CLOCK = "movable-clock"
#: actions retried automatically after a concurrent update (see the module docstring)
RETRIED = frozenset({"tick", "untick", "vote", "handoff", "fire", "set", "reassign", "cancel",
                     "advance"})
#: how many runs an engine remembers as it last wrote them
_CACHED_RUNS = 1024


class RunSpec(NamedTuple):
    """A run to start: its title, who holds which role, and field values."""

    title: str
    assignments: Mapping[str, Sequence[str]]
    fields: Mapping[str, str] = MappingProxyType({})


class ActResult(NamedTuple):
    """What one action did: the run as stored now and the events recorded."""

    run: RunRecord
    changes: list[Change]


class InboxItem(NamedTuple):
    """One thing waiting on a person, with whether it is overdue."""

    item: WorkItemRecord
    overdue: bool


class VerifyReport(NamedTuple):
    """What ``verify`` found: the event chain and the replayed state; ``notes``: what
    limits the evidence without being a problem of the run (a movable clock wrote to
    the database)."""

    run_id: int
    events: int
    problems: list[str]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class Engine:
    """Runs of SOPs, persisted in ``store``; time comes from ``clock``."""

    def __init__(self, store: Store, clock: Clock | None = None, *, retries: int = 5) -> None:
        self.store = store
        self.clock: Clock = clock or StoreClock(store)
        #: whether the database knows that this engine's clock is one tests move
        self._marked = bool(getattr(self.clock, "trusted", False))
        self.retries = retries
        #: how many times an action was retried after a concurrent update
        self.retried = 0
        self._sops: dict[str, SopRecord] = {}
        self._compiled: dict[str, CompiledSop] = {}
        self._runs: dict[int, RunRecord] = {}

    @classmethod
    def open(cls, url: str | None = None, *, workspace: str | os.PathLike[str] | None = None,
             clock: Clock | None = None) -> Engine:
        """An engine on the database at ``url`` (or the workspace default)."""
        return cls(Store.open(url, workspace=workspace), clock)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- SOP versions ---------------------------------------------------------------
    def sop(self, sop_hash: str) -> SopRecord:
        """A stored SOP version (cached: a hash never changes meaning)."""
        record = self._sops.get(sop_hash)
        if record is None:
            record = self._sops[sop_hash] = self.store.get_sop(sop_hash)
        return record

    def compiled(self, sop_hash: str) -> CompiledSop:
        """The compiled form of a stored SOP version (read once per engine)."""
        compiled = self._compiled.get(sop_hash)
        if compiled is None:
            compiled = self._compiled[sop_hash] = CompiledSop.from_json(
                self.sop(sop_hash).compiled)
        return compiled

    def _pin(self, sop: Sop | str | os.PathLike[str], files: Mapping[str, str] | None = None
             ) -> tuple[SopRecord, CompiledSop]:
        from dataclasses import replace

        from ..api import load_with_files
        from ..lang.model import Sop
        from .compiler import compile_sop

        if not isinstance(sop, Sop):
            sop, files = load_with_files(Path(sop).resolve())
        compiled = compile_sop(sop, files)
        path = sop.path
        if Path(path).is_file():
            path = str(Path(path).resolve())
            compiled = replace(compiled, sop=replace(compiled.sop, path=path))
        record = SopRecord(compiled.hash, sop.id, sop.version, path, sop.source,
                           compiled.to_json())
        self.store.put_sop(record)
        self._sops[record.hash] = record
        self._compiled[record.hash] = compiled
        return record, compiled

    # ---- writing ----------------------------------------------------------------------
    @staticmethod
    def _drafts(actor: str, now: dt.datetime, changes: list[Change]) -> list[EventDraft]:
        return [EventDraft(actor, c.action, now, c.from_phase, c.to_phase, c.payload)
                for c in changes]

    def _index(self, compiled: CompiledSop, state: RunState, now: dt.datetime
               ) -> dict[str, Any]:
        work = [WorkItem(w.person, w.kind, w.phase, w.title, w.due_at)
                for w in work_items(compiled, state, now)]
        pairs = [(role, person) for role, people in state.assignments.items()
                 for person in people]
        return {"status": state.status, "phases": state.phases, "state": state.to_dict(),
                "due_at": state.due_at(), "assignments": pairs, "work": work}

    def start(self, sop: Sop | str | os.PathLike[str], title: str,
              assignments: Mapping[str, Sequence[str]], fields: Mapping[str, str] | None = None,
              *, actor: str, files: Mapping[str, str] | None = None) -> int:
        """Start a run of ``sop`` (a checked model or a ``.sop`` path); its id.

        ``files``: with a model, the texts of the files it included (from
        :func:`opsflow.api.load_with_files`), pinned with the run.
        """
        return self.start_many(sop, [RunSpec(title, assignments, fields or {})], actor=actor,
                               files=files)[0]

    def start_many(self, sop: Sop | str | os.PathLike[str], runs: Sequence[RunSpec], *,
                   actor: str, files: Mapping[str, str] | None = None) -> list[int]:
        """Start several runs of one SOP in one transaction (imports, bulk loading)."""
        from .core import Action, apply

        record, compiled = self._pin(sop, files)
        now = self.clock.now()
        new = []
        for spec in runs:
            action = Action("start", _start_args(spec))
            state, changes = apply(compiled, None, action, actor, now)
            new.append(NewRun(sop_hash=record.hash, sop_id=record.sop_id,
                              title=action.args["title"], now=now,
                              events=self._drafts(person_key(actor), now, changes),
                              **self._index(compiled, state, now)))
        self._mark_clock()
        return self.store.create_runs(new)

    def act(self, run_id: int, action: Action, actor: str) -> ActResult:
        """Apply ``action`` by ``actor`` to run ``run_id`` and store the result.

        The run as this engine last wrote it is reused instead of read again
        (a long-lived engine saves a query per action); should anybody else
        have changed it since, the write conflicts or the action is refused,
        and the engine reads the run afresh and tries again before saying
        anything — so the outcome is always decided on the current run.
        """
        from .core import apply

        actor = person_key(actor, "the person acting")
        attempt = 0
        floor: dt.datetime | None = None  # the run's last event time, if newer than our clock
        while True:
            cached = self._runs.pop(run_id, None)
            if cached is None:
                attempt += 1
            run = cached or self.store.get_run(run_id)
            compiled = self.compiled(run.sop_hash)
            now = _not_before(self.clock.now(), run.updated_at, floor)
            try:
                state, changes = apply(compiled, self._current(run, compiled), action, actor,
                                       now)
            except RunError as exc:
                if cached is not None:
                    continue  # decide refusals on the current run only
                self._refused(run, action, actor, now, exc)
                raise exc.prefixed(f"run {run_id}: ") from None
            try:
                self._mark_clock()
                stored = self.store.update_run(
                    run_id, expected_version=run.version, now=now,
                    events=self._drafts(actor, now, changes),
                    **self._index(compiled, state, now))
            except EventTimeBehindError as exc:
                # someone recorded an event after our clock reading: nothing about the
                # run's rules changed, so act again at a time no earlier than theirs
                if attempt > self.retries:
                    raise
                floor = exc.last_at
                continue
            except ConflictError:
                if cached is None and (action.kind not in RETRIED or attempt > self.retries):
                    raise
                self.retried += cached is None
                action = _as_decided(action, changes)
                continue
            self._remember(stored)
            return ActResult(stored, changes)

    def _current(self, run: RunRecord, compiled: CompiledSop) -> RunState:
        """The run's state; one stored by an older opsflow (no ``granted``: before the
        run stage v2, or with the ``decided`` of 2026-12-06) is rebuilt from its events
        once, so today's rules see who held which role and which approvals granted."""
        if "granted" in run.state:
            return RunState.from_dict(run.state)
        from .core import replay

        state, problems = replay(compiled, _log(self.store.events(run.id)))
        if state is None or problems:
            return RunState.from_dict(run.state)  # verify reports why; act on what is stored
        return state

    def _mark_clock(self) -> None:
        """Before this engine's first write: record in the database that its clock is
        one tests move (once; a trusted clock records nothing)."""
        if not self._marked:
            self.store.mark(MOVABLE_CLOCK, type(self.clock).__name__)
            self._marked = True

    def _remember(self, run: RunRecord) -> None:
        if len(self._runs) >= _CACHED_RUNS:
            self._runs.pop(next(iter(self._runs)))
        self._runs[run.id] = run

    def _refused(self, run: RunRecord, action: Action, actor: str, now: dt.datetime,
                 exc: RunError) -> None:
        """Record a refused attempt as a bounded summary (:func:`opsflow.run.text.summary`),
        unless the same person's refusal of the same kind of action is already recorded
        since the run last changed, or it comes from somebody who never held a role in a
        run that is over (nothing they do there matters, and it must not fill the log)."""
        from .text import KEPT, shown, summary

        state = RunState.from_dict(run.state)
        if run.status != "active" and actor not in state.ever_held(state.held):
            return
        reason = shown(str(exc))
        payload = {"attempt": {**summary(action.args), "kind": action.kind},
                   "reason": reason if len(reason) <= 5 * KEPT else reason[:5 * KEPT] + "…",
                   "error": type(exc).__name__}
        named = action.args.get("phase")
        phase = (shown(named)[:KEPT] if isinstance(named, str) and named else
                 ",".join(run.phases)) or None
        self._mark_clock()
        self.store.append_event(run.id, EventDraft(actor, "refused", now, phase, None, payload),
                                collapse=_attempted)

    def roles_to_bind_later(self, run_id: int) -> dict[str, str]:
        """Role -> why: the roles nobody holds in run ``run_id`` that a phase of its SOP
        cannot go on without; the run waits for them when it gets there."""
        from . import policy

        run = self.store.get_run(run_id)
        compiled = self.compiled(run.sop_hash)
        return policy.unbound_roles(compiled.phases.values(), RunState.from_dict(run.state))

    def _do(self, run_id: int, kind: str, actor: str, **args: Any) -> ActResult:
        from .core import Action

        return self.act(run_id, Action(kind, {k: v for k, v in args.items() if v is not None}),
                        actor)

    def tick(self, run_id: int, criterion: int | str, *, actor: str,
             phase: str | None = None) -> ActResult:
        """Tick a done-criterion (by number, or a unique start of its text)."""
        return self._do(run_id, "tick", actor, criterion=criterion, phase=phase)

    def untick(self, run_id: int, criterion: int | str, *, actor: str,
               phase: str | None = None) -> ActResult:
        return self._do(run_id, "untick", actor, criterion=criterion, phase=phase)

    def vote(self, run_id: int, decision: str, *, actor: str, comment: str = "",
             phase: str | None = None) -> ActResult:
        """Approve, reject (with a reason) or abstain; moves on once decided."""
        return self._do(run_id, "vote", actor, decision=decision, comment=comment, phase=phase)

    def handoff(self, run_id: int, *, actor: str, phase: str | None = None) -> ActResult:
        return self._do(run_id, "handoff", actor, phase=phase)

    def fire(self, run_id: int, event: str, *, actor: str, phase: str | None = None,
             comment: str = "") -> ActResult:
        """Fire a declared event (optionally saying why)."""
        return self._do(run_id, "fire", actor, event=event, phase=phase, comment=comment or None)

    def set_field(self, run_id: int, name: str, value: str, *, actor: str) -> ActResult:
        return self._do(run_id, "set", actor, field=name, value=value)

    def reassign(self, run_id: int, role: str, people: Sequence[str], *,
                 actor: str) -> ActResult:
        return self._do(run_id, "reassign", actor, role=role,
                        people=list(people) if isinstance(people, list | tuple) else people)

    def cancel(self, run_id: int, *, actor: str, reason: str = "") -> ActResult:
        return self._do(run_id, "cancel", actor, reason=reason)

    def advance(self, run_id: int, *, actor: str, phase: str | None = None) -> ActResult:
        """Move on an approval the votes decided (e.g. once its window has passed)."""
        return self._do(run_id, "advance", actor, phase=phase)

    # ---- reading ------------------------------------------------------------------------
    def status(self, run_id: int) -> RunStatus:
        run = self.store.get_run(run_id)
        sop = self.sop(run.sop_hash)
        compiled = self.compiled(run.sop_hash)
        includes = [i.path for i in compiled.sop.includes]
        return build_status(compiled, RunState.from_dict(run.state), run_id=run.id,
                            title=run.title, now=self.clock.now(), sop_path=sop.path,
                            sop_file=file_state(sop.hash, sop.path, includes))

    def inbox(self, person: str) -> list[InboxItem]:
        """Everything waiting on ``person`` across runs, overdue (earliest due) first."""
        now = self.clock.now()
        return [InboxItem(item, item.due_at is not None and item.due_at < now)
                for item in self.store.inbox(person_key(person))]

    def list_runs(self, *, sop_id: str | None = None, status: str | None = None,
                  person: str | None = None, overdue: bool = False,
                  limit: int | None = None) -> list[RunRecord]:
        return self.store.list_runs(sop_id=sop_id, status=status,
                                    person=None if person is None else person_key(person),
                                    overdue_at=self.clock.now() if overdue else None,
                                    limit=limit)

    def history(self, run_id: int) -> list[EventRecord]:
        return self.store.events(run_id)

    def verify(self, run_id: int, checkpoints: Mapping[int, Checkpoint] | None = None
               ) -> VerifyReport:
        """Check the run's event chain and that replaying it gives the stored state; with
        ``checkpoints`` (from :func:`opsflow.run.checkpoint.read`), also that the log
        still holds the event its latest signed checkpoint names."""
        from . import audit, checkpoint
        from .core import replay
        from .events import Started, Unreadable, decode

        run = self.store.get_run(run_id)
        events = self.store.events(run_id)
        problems = list(self.store.verify_chain(run_id))
        problems += [f"event {b.seq} is dated before event {a.seq}: the log's times go "
                     "backwards" for a, b in itertools.pairwise(events) if b.at < a.at]
        if checkpoints is not None:
            problems += checkpoint.problems(checkpoints.get(run_id), events)
        typed = [decode(e) for e in events]
        problems += [f"event {e.seq} ({e.action}) cannot be read: {t.reason}"
                     for e, t in zip(events, typed, strict=True) if isinstance(t, Unreadable)]
        log = _log(e for e, t in zip(events, typed, strict=True) if not isinstance(t, Unreadable))
        compiled = self.compiled(run.sop_hash)
        problems += audit.pin_problems(self.sop(run.sop_hash), compiled)
        state, replay_problems = replay(compiled, log)
        problems += replay_problems
        if state is None:
            problems.append("no start event: the run cannot be rebuilt")
        else:
            problems += _state_differences(state, run)
            problems += invariants.problems(compiled, state)
            first = next((t for t in typed if isinstance(t, Started)), None)
            title = None if first is None else first.title
            pairs, work = self.store.projections(run_id)
            problems += audit.row_problems(run, state, title, compiled, pairs, work,
                                           None if first is None else first.at)
        notes = []
        moved = self.store.marks().get(MOVABLE_CLOCK)
        if moved is not None:
            notes.append(f"a clock that tests move ({moved}) wrote to this database: its "
                         "event times are not evidence")
        return VerifyReport(run_id, len(events), problems, tuple(notes))

    def timeline(self, run_id: int) -> list[Event]:
        """The run's events, oldest first, as typed events (see :mod:`opsflow.run.events`)."""
        from .events import decode

        return [decode(record) for record in self.store.events(run_id)]


def _as_decided(action: Action, changes: Sequence[Change]) -> Action:
    """``action`` with every choice resolved as it was on the state it was decided on
    (the phase, the criterion's number), so that trying it again on a changed run acts
    on that phase or is refused — never on a phase the run has moved to since."""
    from .core import Action

    for change in changes:
        decided = change.payload.get("action")
        if isinstance(decided, Mapping) and decided.get("kind") == action.kind:
            return Action.from_dict(decided)
    return action


def _start_args(spec: RunSpec) -> dict[str, Any]:
    """The arguments of a ``start`` action from a :class:`RunSpec`, as given: the run
    core refuses what is of the wrong type (a title that is not text, assignments or
    fields that are not mappings) with one clear error, and never coerces it."""
    assignments: Any = spec.assignments
    if isinstance(assignments, Mapping):
        assignments = {r: list(p) if isinstance(p, list | tuple) else p
                       for r, p in assignments.items()}
    fields: Any = dict(spec.fields) if isinstance(spec.fields, Mapping) else spec.fields
    title = spec.title.strip() if isinstance(spec.title, str) else spec.title
    return {"title": title, "assignments": assignments, "fields": fields}


def _attempted(payload: Mapping[str, Any]) -> object:
    """What a refused attempt tried (its action's kind): a person's repeated refusals of
    one kind are kept once per state of the run."""
    attempt = payload.get("attempt")
    return attempt.get("kind") if isinstance(attempt, Mapping) else None


def _not_before(now: dt.datetime, *floors: dt.datetime | None) -> dt.datetime:
    """``now``, or the latest of ``floors`` if that is later: a run's events are
    recorded in time order even when this machine's clock is behind the one that
    recorded the run's last event."""
    if now.tzinfo is None:
        return now
    return max([now, *(f for f in floors if f is not None and f.tzinfo is not None)])


def _log(records: Iterable[EventRecord]) -> list[tuple[str, dt.datetime, Change]]:
    """Stored events as the run core's replay takes them."""
    from .core import Change

    return [(e.actor, e.at, Change(e.action, e.from_phase, e.to_phase, e.payload))
            for e in records]


#: state keys an opsflow older than the run stage v2 did not store (and cannot be checked)
#: keys a state stored by an older opsflow may lack (``granted`` replaced ``decided``,
#: which kept only the latest approval that granted on each field, on 2026-12-07)
_NEWER_KEYS = frozenset({"held", "granted"})


def _state_differences(replayed: RunState, run: RunRecord) -> list[str]:
    stored = RunState.from_dict(dict(run.state)).to_dict()  # older states: defaults filled in
    fresh = replayed.to_dict()
    unchecked = _NEWER_KEYS - set(run.state)
    before_v2 = not {"decided", "granted"} & set(run.state)
    if before_v2 and run.status != "active":  # before v2 a run that ended kept these
        unchecked |= {"ticked", "votes", "joined"}
    keys = sorted(k for k in set(stored) | set(fresh)
                  if stored.get(k) != fresh.get(k) and k not in unchecked)
    problems = []
    if keys:
        problems.append(f"the stored state differs from the replay of its events in: "
                        f"{', '.join(keys)}")
    if run.status != replayed.status or run.phases != replayed.phases:
        problems.append(f"the run row says {run.status} in {','.join(run.phases) or '-'} but "
                        f"the events say {replayed.status} in "
                        f"{','.join(replayed.phases) or '-'}")
    return problems
