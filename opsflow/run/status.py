"""What a run looks like now: status, the work it waits on, and its text.

Pure functions over the compiled SOP and a :class:`RunState`:

* :func:`work_items` — everything the run waits on, per person: the owner
  of each active phase (tick and hand off, or chase and advance an
  approval) and every eligible person who has not voted yet. The engine
  stores them so that a person's inbox is one indexed query.
* :func:`build_status` — a :class:`RunStatus`: active phases with open
  checklist items, votes so far and what the policy still needs, who is up
  next, due time and overdue flag, milestones, and whether the run's SOP is
  older than the file now on disk.
* :func:`render_status` — that status as text for the terminal.

Nothing here imports the parser or the state machine, so ``opsflow status``
stays fast (its records are named tuples: they cost a fraction of a
dataclass to define at import). This module does not change runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from . import conditions, policy
from .authority import listing, roles_text
from .clock import add_duration, from_iso
from .compiled import CompiledSop
from .fieldvalues import typed_fields
from .sophash import FileState
from .state import RunState, TokenState

__all__ = [
    "MilestoneStatus",
    "PhaseStatus",
    "RunStatus",
    "WorkNeed",
    "build_status",
    "render_status",
    "when",
    "work_items",
]


class PersonLike(Protocol):
    """A people-directory entry as status shows it (:class:`opsflow.store.PersonRecord`)."""

    @property
    def name(self) -> str: ...

    @property
    def active(self) -> bool: ...


class WorkNeed(NamedTuple):
    """One thing a run waits on one person for."""

    person: str
    kind: str  # "owner" | "vote" | "bind" (a role the phase needs is held by nobody)
    phase: str
    title: str
    due_at: dt.datetime | None


class PhaseStatus(NamedTuple):
    phase: str
    title: str
    owner_role: str
    owners: list[str]
    entered_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool
    checklist: list[tuple[int, str, bool]]
    votes: list[tuple[str, str, str]]
    policy: str | None
    up_next: list[str]
    next_step: str
    notes: list[str]

    @property
    def open_items(self) -> list[tuple[int, str]]:
        return [(n, text) for n, text, done in self.checklist if not done]


class MilestoneStatus(NamedTuple):
    id: str
    title: str
    owner_role: str
    owners: list[str]
    due_at: dt.datetime | None
    reached_at: dt.datetime | None
    overdue: bool


class RunStatus(NamedTuple):
    run_id: int
    title: str
    sop_id: str
    sop_version: str
    status: str
    outcome: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    phases: list[PhaseStatus]
    fields: dict[str, str]
    assignments: dict[str, list[str]]
    milestones: list[MilestoneStatus]
    sop_file: FileState
    sop_path: str
    now: dt.datetime

    @property
    def overdue(self) -> bool:
        return any(p.overdue for p in self.phases)

    @property
    def due_at(self) -> dt.datetime | None:
        dues = [p.due_at for p in self.phases if p.due_at]
        return min(dues) if dues else None


def when(moment: dt.datetime | None, zone: str | None = None) -> str:
    """A time as users read it: ``2027-03-01 09:30 UTC``, or in time zone ``zone`` (an
    IANA name): ``2027-03-01 10:30 CET``."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if not zone or zone == "UTC":
        return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):  # checked when saved; this machine lacks it
        return when(moment)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _Phase:
    """Reading one active phase of a run."""

    def __init__(self, compiled: CompiledSop, state: RunState, token: TokenState,
                 now: dt.datetime) -> None:
        self.c = compiled
        self.s = state
        self.t = token
        self.now = now
        self.p = compiled.phases[token.phase]
        self.owners = state.holders([self.p.owner])
        self.due_at = from_iso(token.due_at) if token.due_at else None
        #: roles nobody holds that the phase cannot go on without
        self.unbound = policy.roles_to_bind(self.p, state)

    def binders(self) -> list[str]:
        """The people who may bind the roles this phase waits for."""
        return self.s.holders(dict.fromkeys(
            r for role in self.unbound for r in self.c.reassign_roles(role, self.s.phases)))

    def open_items(self) -> list[int]:
        ticked = self.s.ticked.get(self.t.phase, [])
        return [n for n in range(1, len(self.p.checklist) + 1) if n not in ticked]

    def decide(self) -> tuple[list[str], policy.PolicyResult] | None:
        approval = self.p.approval
        if approval is None:
            return None
        voters = policy.eligible(approval, self.s)
        votes = {p: v["decision"] for p, v in self.s.votes.get(self.t.phase, {}).items()}
        ends = policy.window_end(approval, from_iso(self.t.entered_at))
        return voters, policy.decide(approval, voters, votes, self.now, ends)

    def next_step(self, counted: bool = True) -> tuple[list[str], str]:
        """Who is up next and what they do (``counted``: say how many items are open;
        work item titles leave the count out, so ticking does not rewrite them)."""
        open_count = len(self.open_items())
        items = _plural(open_count, "open item") if counted else "the checklist"
        if self.unbound:
            roles = (f"role {self.unbound[0]} (nobody holds it)" if len(self.unbound) == 1
                     else f"roles {', '.join(self.unbound)} (nobody holds them)")
            return self.binders(), f"bind someone to {roles}"
        decided = self.decide()
        if decided is not None:
            _, result = decided
            if result.outcome == "pending" and result.not_voted:
                return list(result.not_voted), "vote"
            if result.outcome == "pending":
                return self.owners, f"wait: {result.needs}"
            if result.outcome == "approved" and open_count:
                return self.owners, f"tick {items}; the approval then moves on by itself"
            blocked = self.blocked()
            if blocked:
                return self.owners, f"{result.outcome}, but it cannot move on: {blocked}"
            return self.owners, "advance (the approval is decided)"
        events = self.p.events
        if self.p.end:
            if not self.p.checklist:
                return self.owners, "nothing (the run finishes here)"
            return self.owners, (f"tick {items}, then hand off to finish the run" if open_count
                                 else "hand off to finish the run")
        if "handoff" not in events:
            fired = ", ".join(e for e in events)
            return self.owners, f"fire one of: {fired}" if fired else "nothing"
        if open_count:
            return self.owners, f"tick {items}, then hand off"
        return self.owners, "hand off"

    def blocked(self) -> str:
        """Why a decided approval has not moved on (a field its routes read is not set)."""
        unset = self.unset_route_fields()
        return f"set {listing(unset)}" if unset else ""

    def unset_route_fields(self) -> list[str]:
        values = typed_fields(self.c.fields, self.s.fields)
        return list(dict.fromkeys(
            f for r in self.p.routes if r.condition is not None
            and conditions.evaluate(r.condition, values) is None
            for f in conditions.unset_fields(r.condition, values)))

    def notes(self) -> list[str]:
        values = typed_fields(self.c.fields, self.s.fields)
        notes = []
        for route in self.p.routes:
            if route.condition is None or conditions.evaluate(route.condition, values) is not None:
                continue
            unset = conditions.unset_fields(route.condition, values)
            notes.append(f"route `{route.event}` to {route.target} if "
                         f"`{conditions.describe(route.condition)}` cannot be decided: "
                         f"{listing(unset)} not set; no {route.event} route is taken "
                         f"until {'they are' if len(unset) > 1 else 'it is'} set")
        return notes

    def status(self) -> PhaseStatus:
        ticked = self.s.ticked.get(self.t.phase, [])
        checklist = [(n, text, n in ticked) for n, text in enumerate(self.p.checklist, 1)]
        votes = [(person, v["decision"], v["comment"])
                 for person, v in sorted(self.s.votes.get(self.t.phase, {}).items())]
        decided = self.decide()
        up_next, step = self.next_step()
        return PhaseStatus(
            phase=self.t.phase, title=self.p.title, owner_role=self.p.owner,
            owners=self.owners, entered_at=from_iso(self.t.entered_at), due_at=self.due_at,
            overdue=self.due_at is not None and self.due_at < self.now, checklist=checklist,
            votes=votes, policy=decided[1].needs if decided else None, up_next=up_next,
            next_step=step, notes=self.notes())


def work_items(compiled: CompiledSop, state: RunState, now: dt.datetime) -> list[WorkNeed]:
    """What the run waits on, per person (empty once it is done or cancelled)."""
    items: list[WorkNeed] = []
    if state.status != "active":
        return items
    for token in state.tokens:
        phase = _Phase(compiled, state, token, now)
        title = phase.p.title
        up_next, step = phase.next_step(counted=False)
        if phase.unbound:
            items += [WorkNeed(person, "bind", token.phase, f"{title}: {step}", phase.due_at)
                      for person in up_next]
        for person in phase.owners:
            items.append(WorkNeed(person, "owner", token.phase, f"{title}: {step}"
                                  if person in up_next else f"{title}: waiting for votes",
                                  phase.due_at))
        decided = phase.decide()
        if decided is not None:
            for person in decided[1].not_voted if decided[1].outcome == "pending" else ():
                items.append(WorkNeed(person, "vote", token.phase, f"{title}: vote",
                                      phase.due_at))
    return items


def _milestones(compiled: CompiledSop, state: RunState,
                now: dt.datetime) -> list[MilestoneStatus]:
    started = from_iso(state.started_at)
    result = []
    for phase in compiled.phases.values():
        for ms in phase.milestones:
            due_at: dt.datetime | None = None
            if isinstance(ms.due, dt.date):
                due_at = dt.datetime.combine(ms.due, dt.time(), dt.UTC)
            elif ms.due is not None:
                due_at = add_duration(started, ms.due)
            reached = state.milestones.get(ms.id)
            reached_at = from_iso(reached) if reached else None
            result.append(MilestoneStatus(
                ms.id, ms.title, ms.owner, state.holders([ms.owner]), due_at,
                reached_at, reached_at is None and due_at is not None and due_at < now))
    return result


def build_status(compiled: CompiledSop, state: RunState, *, run_id: int, title: str,
                 now: dt.datetime, sop_file: FileState, sop_path: str) -> RunStatus:
    """Everything ``opsflow status`` shows about one run."""
    phases = [_Phase(compiled, state, t, now).status() for t in state.tokens]
    return RunStatus(
        run_id=run_id, title=title, sop_id=compiled.sop.id,
        sop_version=compiled.sop.version, status=state.status, outcome=state.outcome,
        started_at=from_iso(state.started_at),
        finished_at=from_iso(state.finished_at) if state.finished_at else None,
        phases=phases, fields=dict(state.fields), assignments=dict(state.assignments),
        milestones=_milestones(compiled, state, now), sop_file=sop_file, sop_path=sop_path,
        now=now)


_FILE_WORDS = {
    "changed": "the file {path} has changed since this run started; the run keeps the "
               "version it started with (start a new run to use the new one)",
    "missing": "the file {path} is gone; the run keeps the version it started with",
}


class _Names:
    """How people are shown: ``Wendy Writer (wendy)`` when the people directory has
    them (``…, deactivated`` if they are), else the key as events keep it."""

    def __init__(self, people: Mapping[str, PersonLike] | None) -> None:
        self.people = people or {}

    def one(self, key: str) -> str:
        found = self.people.get(key)
        if found is None:
            return key
        return f"{found.name} ({key}{'' if found.active else ', deactivated'})"

    def many(self, keys: Iterable[str], empty: str = "nobody") -> str:
        return listing([self.one(k) for k in keys], empty)

    def inactive(self, keys: Iterable[str]) -> list[str]:
        return [k for k in keys if k in self.people and not self.people[k].active]


def _phase_lines(p: PhaseStatus, names: _Names, zone: str | None = None) -> list[str]:
    due = f" · due {when(p.due_at, zone)}{' · OVERDUE' if p.overdue else ''}" \
        if p.due_at else ""
    lines = [f"phase {p.phase} \"{p.title}\" · owner {roles_text([p.owner_role])} "
             f"({names.many(p.owners)}){due}"]
    lines += [f"  [{'x' if done else ' '}] {n}. {text}" for n, text, done in p.checklist]
    for person, decision, comment in p.votes:
        lines.append(f"  vote: {names.one(person)} {decision}" +
                     (f" — {comment}" if comment else ""))
    if p.policy:
        lines.append(f"  approval: {p.policy}")
    lines += [f"  note: {n}" for n in p.notes]
    lines.append(f"  next: {names.many(p.up_next)} — {p.next_step}")
    gone = names.inactive(p.up_next)
    if gone:
        lines.append(f"  warning: this phase waits on {listing(gone)}, deactivated in the "
                     "people directory; bind the role to someone else with `opsflow "
                     "reassign`")
    return lines


def render_status(st: RunStatus, people: Mapping[str, PersonLike] | None = None,
                  zone: str | None = None) -> str:
    """The status as plain text, one fact per line; ``people``: the people directory
    (key -> entry), for display names and who is deactivated; ``zone``: the time zone
    times are shown in (default UTC)."""
    names = _Names(people)
    state = st.status if st.status != "done" else f"done (finished in {st.outcome})"
    lines = [f"run {st.run_id}: {st.title}",
             f"sop: {st.sop_id} version {st.sop_version or '-'} · {state}",
             f"started: {when(st.started_at, zone)}"]
    if st.finished_at:
        lines.append(f"finished: {when(st.finished_at, zone)}")
    if st.sop_file in _FILE_WORDS:
        lines.append("warning: " + _FILE_WORDS[st.sop_file].format(path=st.sop_path))
    for phase in st.phases:
        lines += _phase_lines(phase, names, zone)
    if st.fields:
        lines.append("fields: " + ", ".join(f"{k} = {v}" for k, v in st.fields.items()))
    roles = [f"{role} = {names.many(people)}" for role, people in st.assignments.items()]
    lines.append("roles: " + ("; ".join(roles) or "none bound"))
    for ms in st.milestones:
        state_text = f"reached {when(ms.reached_at, zone)}" if ms.reached_at else (
            f"due {when(ms.due_at, zone)}{' · OVERDUE' if ms.overdue else ''}" if ms.due_at
            else "not reached")
        lines.append(f"milestone: {ms.title} · owner {ms.owner_role} "
                     f"({names.many(ms.owners)}) · {state_text}")
    return "\n".join(lines)
