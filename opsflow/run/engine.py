"""The run engine: start runs and act on them, persisted through the store.

:class:`Engine` is the library face of runs. Each action is decided and
written under its run's lock (:meth:`opsflow.store.Store.act`): the store
locks the run, reads it and the time, the pure run core
(:func:`opsflow.run.core.apply`, which moves tokens through the SOP's shared
``transitions`` machine) applies the action, and the new state, its events
and the run's work items are written and committed before the lock is
released. Several people acting on one run at once are served one after
the other, each on the run as the one before left it.

* A refused action (:class:`~opsflow.run.errors.RunError`, e.g. an actor
  outside the role the SOP gives the action) is recorded as a ``refused``
  event in the same transaction and raised with the run's number in front
  of its message.
* A run another action holds for longer than the store's lock wait is a
  :class:`~opsflow.store.RunBusyError` ("run N is busy; try again"), with
  nothing written.
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
    EventDraft,
    EventRecord,
    NewRun,
    Refusal,
    RunRecord,
    SopRecord,
    StateChange,
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
    from .board import Board
    from .checkpoint import Checkpoint
    from .core import Action, Change
    from .events import Event

__all__ = ["ActResult", "Engine", "InboxItem", "VerifyReport"]

#: the mark a database gets once an engine with an untrusted clock wrote to it
MOVABLE_CLOCK = "movable-clock"


class RunSpec(NamedTuple):
    """A run to start: its title, who holds which role, and field values."""

    title: str
    assignments: Mapping[str, Sequence[str]]
    fields: Mapping[str, str] = MappingProxyType({})


class ActResult(NamedTuple):
    """What one action did: the run as stored now and the events recorded."""

    run: RunRecord
    changes: list[Change]


class Choices(NamedTuple):
    """What one person may do in a run besides ticking, voting and handing off."""

    #: (phase, event id, event title): the declared events they may fire now
    events: list[tuple[str, str, str]]
    #: the fields they may set now
    fields: list[str]


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

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or StoreClock(store)
        #: whether the database knows that this engine's clock is one tests move
        self._marked = bool(getattr(self.clock, "trusted", False))
        #: the clock an action reads under its run's lock; ``None``: the store's own,
        #: read in the locking statement (see :meth:`opsflow.store.Store.act`)
        self._clock_now = (None if isinstance(self.clock, StoreClock)
                           and self.clock.store is store else self.clock.now)
        self._sops: dict[str, SopRecord] = {}
        self._compiled: dict[str, CompiledSop] = {}

    @classmethod
    def open(cls, url: str | None = None, *, workspace: str | os.PathLike[str] | None = None,
             clock: Clock | None = None, create: bool = True) -> Engine:
        """An engine on the database at ``url`` (or the workspace's, see
        :mod:`opsflow.workspace`); ``create=False``: never create a database."""
        return cls(Store.open(url, workspace=workspace, create=create), clock)

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
                           compiled.to_json(), self._workspace_path(path))
        self.store.put_sop(record)
        self._sops[record.hash] = record
        self._compiled[record.hash] = compiled
        return record, compiled

    def _workspace_path(self, path: str) -> str | None:
        """``path`` relative to the store's workspace (posix), if it lies inside it."""
        found = self.store.workspace
        if found is None or not Path(path).is_absolute():
            return None
        try:
            return Path(path).relative_to(found.root).as_posix()
        except ValueError:
            return None

    def _located(self, sop: SopRecord, compiled: CompiledSop) -> tuple[str, list[str]]:
        """The pinned SOP's file and its includes where they are now: moved with the
        workspace when the SOP was started inside one and the workspace has moved."""
        includes = [i.path for i in compiled.sop.includes]
        found, inside = self.store.workspace, sop.workspace_path
        if found is None or inside is None or not sop.path.endswith("/" + inside):
            return sop.path, includes
        old_root = sop.path[:-len(inside)].rstrip("/")
        new_root = found.root.as_posix()

        def moved(path: str) -> str:
            return new_root + path[len(old_root):] if path.startswith(old_root + "/") else path

        return moved(sop.path), [moved(p) for p in includes]

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
        from .directory import check_bindable, names_in

        check_bindable(self.store, [n for spec in runs for n in names_in(spec.assignments)])
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

        The action is decided and written under the run's lock
        (:meth:`opsflow.store.Store.act`): it is judged on the run as it is, done
        if allowed and refused with the engine's ordinary message if not — never
        "changed by someone else". A refusal is recorded in the same transaction
        and raised with the run's number in front of its message.
        """
        from .core import apply
        from .directory import check_bindable

        actor = person_key(actor, "the person acting")
        if action.kind == "reassign" and isinstance(action.args.get("people"), list | tuple):
            # every way to reassign (this method, `reassign`, the CLI, the web) binds only
            # people of the directory
            check_bindable(self.store, action.args["people"])
        outcome: list[Any] = []

        def decide(run: RunRecord, now: dt.datetime) -> StateChange | Refusal | None:
            compiled = self.compiled(run.sop_hash)
            try:
                state, changes = apply(compiled, self._current(run, compiled), action, actor,
                                       now)
            except RunError as exc:
                outcome.append(exc)
                return self._refusal(run, action, actor, now, exc)
            outcome.append(changes)
            return StateChange(events=self._drafts(actor, now, changes),
                               **self._index(compiled, state, now))

        self._mark_clock()
        stored = self.store.act(run_id, decide, clock=self._clock_now)
        [result] = outcome
        if isinstance(result, RunError):
            raise result.prefixed(f"run {run_id}: ") from None
        return ActResult(stored, result)

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

    def _refusal(self, run: RunRecord, action: Action, actor: str, now: dt.datetime,
                 exc: RunError) -> Refusal | None:
        """A refused attempt as a bounded summary (:func:`opsflow.run.text.summary`), kept
        once per person and kind of action while the run stays as it is; nothing for
        somebody who never held a role in a run that is over (nothing they do there
        matters, and it must not fill the log)."""
        from .text import KEPT, shown, summary

        state = RunState.from_dict(run.state)
        if run.status != "active" and actor not in state.ever_held(state.held):
            return None
        reason = shown(str(exc))
        payload = {"attempt": {**summary(action.args), "kind": action.kind},
                   "reason": reason if len(reason) <= 5 * KEPT else reason[:5 * KEPT] + "…",
                   "error": type(exc).__name__}
        named = action.args.get("phase")
        phase = (shown(named)[:KEPT] if isinstance(named, str) and named else
                 ",".join(run.phases)) or None
        return Refusal(EventDraft(actor, "refused", now, phase, None, payload),
                       collapse=_attempted)

    def choices(self, run_id: int, person: str) -> Choices:
        """The events ``person`` may fire and the fields they may set in run ``run_id`` now,
        judged by the engine's own rules on the run as stored (each event is tried on a
        copy of the state; nothing is written). A front end offers these; the action
        itself is judged again when it is done."""
        from ..errors import OpsflowError
        from .actions import field_setters
        from .core import Action, apply

        key = person_key(person)
        run = self.store.get_run(run_id)
        if run.status != "active":
            return Choices([], [])
        compiled = self.compiled(run.sop_hash)
        state = self._current(run, compiled)
        now = self.clock.now()
        events = []
        for pid in state.phases:
            for event in compiled.phase(pid).events:
                if event not in compiled.events:
                    continue  # handoff, approve, reject: the page has their own buttons
                try:
                    apply(compiled, state, Action("fire", {"event": event, "phase": pid}), key,
                          now)
                except OpsflowError:
                    continue
                events.append((pid, event, compiled.events[event].title))
        fields = [name for name in compiled.fields
                  if key in state.holders(field_setters(compiled, state, name))]
        return Choices(events, fields)

    def viewed_sops(self, person: str) -> tuple[str, ...] | None:
        """The SOP ids whose runs ``person`` may see all of as a viewer (the workspace's
        ``viewers``); ``None``: every SOP's."""
        viewers = self.store.workspace.viewers if self.store.workspace is not None else {}
        key = person_key(person)
        if key in viewers.get("*", ()):
            return None
        return tuple(sop for sop, people in viewers.items() if sop != "*" and key in people)

    def may_see(self, run_id: int, person: str) -> bool:
        """Whether ``person`` may see run ``run_id``: they hold, or held, a role in it, or
        are a viewer of its SOP (the web app answers 404 for the others, as if the run did
        not exist)."""
        from ..store import UnknownRunError

        key = person_key(person)
        try:
            run = self.store.get_run(run_id)
        except UnknownRunError:
            return False
        viewed = self.viewed_sops(key)
        if viewed is None or run.sop_id in viewed:
            return True
        state = RunState.from_dict(run.state)
        return key in state.ever_held([*state.assignments, *state.held])

    def visible_runs(self, person: str, *, sop_id: str | None = None,
                     status: str | None = None, overdue: bool = False) -> list[RunRecord]:
        """The runs ``person`` may see (:meth:`may_see`) that match the filters, as
        :meth:`list_runs` orders them."""
        viewed = self.viewed_sops(person)
        if viewed is None or (sop_id is not None and sop_id in viewed):
            return self.list_runs(sop_id=sop_id, status=status, overdue=overdue)
        found = {r.id: r for r in self.list_runs(sop_id=sop_id, status=status,
                                                  person=person, overdue=overdue)}
        for sop in viewed if sop_id is None else ():
            found.update((r.id, r) for r in self.list_runs(sop_id=sop, status=status,
                                                           overdue=overdue))
        if overdue:  # as list_runs: most overdue first
            far = dt.datetime.max.replace(tzinfo=dt.UTC)
            return sorted(found.values(), key=lambda r: (r.due_at or far, r.id))
        return sorted(found.values(), key=lambda r: r.id)

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
        """Bind ``role`` to ``people`` (who must be active people of the directory, if it
        has people: :mod:`opsflow.run.directory`)."""
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
        path, includes = self._located(sop, compiled)
        return build_status(compiled, RunState.from_dict(run.state), run_id=run.id,
                            title=run.title, now=self.clock.now(), sop_path=path,
                            sop_file=file_state(sop.hash, path, includes))

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

    def board(self, sop_id: str, *, person: str | None = None,
              current: Sop | None = None, files: Mapping[str, str] | None = None
              ) -> Board:
        """The board of SOP ``sop_id`` (:mod:`opsflow.run.board`): its active runs (those
        ``person`` may see, when given). ``current``: the SOP as its file is now,
        whose phases lead the columns (a board of an SOP without runs needs it), with the
        texts of the files it includes."""
        from .board import board
        from .compiler import compile_sop

        runs = self.list_runs(sop_id=sop_id, status="active") if person is None \
            else self.visible_runs(person, sop_id=sop_id, status="active")
        versions = [compile_sop(current, files)] if current is not None else []
        for run in sorted(runs, key=lambda r: -r.id):
            if all(v.hash != run.sop_hash for v in versions):
                versions.append(self.compiled(run.sop_hash))
        if not versions:
            raise RunError(f"there is no SOP {sop_id!r} with active runs",
                           "start a run of it first, or give the SOP")
        return board(versions, runs, self.clock.now())

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
