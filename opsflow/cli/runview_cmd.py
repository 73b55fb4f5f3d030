"""The commands that read runs: ``status``, ``inbox``, ``list``, ``history``, ``verify``.

Each opens the database, calls one :class:`~opsflow.run.engine.Engine` method and
prints. Importing this module loads click, SQLAlchemy and the engine's light
modules only (no parser, no templates, no state machine), so ``opsflow
status`` starts fast.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ..run.status import render_status, when
from .common import clean, term
from .db_cmd import database_options
from .run_options import acting, actor_option, open_engine, person, reads_a_run

if TYPE_CHECKING:
    from ..run.events import Event, Moved

__all__ = ["describe", "history", "inbox", "list_runs", "shown", "status", "verify"]


@reads_a_run("status")
def status(run_id: int, db_url: str | None, workspace: str | None) -> None:
    """Show a run: phases, open checklist items, votes, who is next, due times.

    \b
    Example:
      opsflow status 12
    """
    with open_engine(db_url, workspace) as engine:
        click.echo(render_status(clean(engine.status(run_id))))


@click.command("inbox")
@click.argument("name", metavar="PERSON", required=False)
@actor_option
@database_options
def inbox(name: str | None, actor: str | None, db_url: str | None,
          workspace: str | None) -> None:
    """Everything waiting on a person across runs, overdue first.

    \b
    Examples:
      opsflow inbox wendy
      OPSFLOW_USER=wendy opsflow inbox
    """
    who = person(name, "PERSON") if name else acting(actor)
    with open_engine(db_url, workspace) as engine:
        items = engine.inbox(who)
    if not items:
        click.echo(f"nothing is waiting on {who}")
    for entry in items:
        item = entry.item
        due = f" · due {when(item.due_at)}" if item.due_at else ""
        late = " · OVERDUE" if entry.overdue else ""
        click.echo(term(f"run {item.run_id} ({item.run_title}) · {item.kind} · {item.title}")
                   + f"{due}{late}")


@click.command("list")
@click.option("--sop", "sop_id", default=None, help="Only runs of this SOP id.")
@click.option("--status", "run_status", type=click.Choice(["active", "done", "cancelled"]),
              default=None, help="Only runs with this status.")
@click.option("--person", default=None, help="Only runs where this person holds a role.")
@click.option("--overdue", is_flag=True, help="Only runs with overdue work.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@database_options
def list_runs(sop_id: str | None, run_status: str | None, person: str | None, overdue: bool,
              limit: int | None, db_url: str | None, workspace: str | None) -> None:
    """List runs, oldest first.

    \b
    Example:
      opsflow list --status active --person wendy --overdue
    """
    with open_engine(db_url, workspace) as engine:
        runs = engine.list_runs(sop_id=sop_id, status=run_status, person=person,
                                overdue=overdue, limit=limit)
        now = engine.clock.now()
    if not runs:
        click.echo("no runs match")
    for run in runs:
        due = f" · due {when(run.due_at)}" if run.due_at else ""
        late = " · OVERDUE" if run.due_at and run.due_at < now else ""
        click.echo(term(f"{run.id} · {run.title} · {run.sop_id} · {run.status} · "
                        f"{', '.join(run.phases) or '-'}") + f"{due}{late}")


def shown(text: object) -> str:
    """A string from users (names, comments, values) as the terminal may print it.

    The one place history text is escaped: characters that are not printable
    (escape sequences, newlines, other control characters) are shown as
    ``\\x1b``-style escapes, so a comment can neither forge a line nor drive
    the terminal.
    """
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in str(text))


def _people(people: Sequence[str]) -> str:
    return ", ".join(shown(p) for p in people) or "(nobody)"


def _to(phase: str | None) -> str:
    return shown(phase) if phase is not None else "end"


def _move(event: Moved) -> str:
    what = f"{shown(event.trigger)} {shown(event.from_phase)} → {_to(event.to_phase)}"
    if event.auto:
        quorum = "no quorum can be reached" if event.trigger == "no-quorum" else "by the votes"
        what += f" — {quorum}: {shown(event.tally or '')}"
    if event.comment:
        what += f" — {shown(event.comment)}"
    return what


def describe(event: Event) -> str:
    """What one event did, in one line (without its number, time and actor)."""
    from ..run import events as ev

    match event:
        case ev.Started():
            return f"start → {shown(event.phase)} — {shown(event.title)}"
        case ev.Ticked() | ev.Unticked():
            verb = "tick" if isinstance(event, ev.Ticked) else "untick"
            return f"{verb} {shown(event.phase)} — {event.criterion}. {shown(event.text)}"
        case ev.Voted():
            notes = [shown(event.decision)]
            if event.replaces is not None and event.replaces != event.decision:
                notes.append(f"was {shown(event.replaces)}")
            if not event.counted:
                notes.append("advisory, not counted")
            comment = f" — {shown(event.comment)}" if event.comment else ""
            return f"vote ({', '.join(notes)}) {shown(event.phase)}{comment}"
        case ev.Moved():
            return _move(event)
        case ev.MilestoneReached():
            return f"milestone {shown(event.phase)} — {shown(event.title)}"
        case ev.Joined():
            return f"join {shown(event.block)} → {shown(event.then)}"
        case ev.Finished():
            return f"finish {shown(event.phase)}"
        case ev.FieldSet():
            old = shown(event.previous) if event.previous is not None else "(unset)"
            return f"set {shown(event.field)}: {old} → {shown(event.value)}"
        case ev.Reassigned():
            return (f"reassign {shown(event.role)}: {_people(event.previous)} → "
                    f"{_people(event.people)}")
        case ev.Cancelled():
            where = f" {', '.join(shown(p) for p in event.phases)}" if event.phases else ""
            return f"cancel{where}" + (f" — {shown(event.reason)}" if event.reason else "")
        case ev.Refused():
            where = f" {shown(event.phase)}" if event.phase else ""
            return f"refused {shown(event.attempt.kind)}{where} — {shown(event.reason)}"
        case ev.Reopened():
            return (f"reopen {shown(event.from_phase)} → {shown(event.approval)} — "
                    f"{shown(event.field)} changed")
        case _:
            return f"{shown(event.action)} — unreadable: {shown(event.reason)}"


@reads_a_run("history")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text lines, or the typed events as JSON.")
def history(run_id: int, output: str, db_url: str | None, workspace: str | None) -> None:
    """Every event of a run, oldest first: who did what, when, and what changed.

    Each line says what the event changed: a field's old → new value, a
    role's old → new people, a vote's decision and comment, a fired event's
    comment, a milestone's title, a refusal's reason; an approval the votes
    decided says so, and ``no-quorum`` (the vote can no longer reach its
    quorum) is not a rejection.

    \b
    With --format json: {"run": RUN, "events": [...]}; every event has
    kind, run_id, seq, at (ISO-8601), actor and extra (payload keys not
    known to its kind), and by kind:
      start      phase, title, assignments, fields, sop, command
      tick       phase, criterion, text, command   (also untick)
      vote       phase, decision, comment, replaces, command, counted
      move       trigger, from_phase, to_phase (null: the run ended),
                 command (null when auto), auto, tally, comment
      milestone  phase, milestone, title
      join       block, then
      finish     phase, outcome
      set        field, value, previous
      reassign   role, people, previous
      cancel     phases, reason, command
      refused    phase, attempt, reason, error
      reopen     from_phase, approval, field
      unreadable action, from_phase, to_phase, raw, reason
    command and attempt are the action as given: {"kind": ..., arguments}.

    \b
    Examples:
      opsflow history 12
      opsflow history 12 --format json
    """
    with open_engine(db_url, workspace) as engine:
        events = engine.timeline(run_id)
    if output == "json":
        from ..run.events import to_json

        click.echo(json.dumps({"run": run_id, "events": [to_json(e) for e in events]},
                              indent=2))
        return
    for event in events:
        click.echo(f"{event.seq:>4} {when(event.at)} {shown(event.actor)}: {describe(event)}")


@reads_a_run("verify")
def verify(run_id: int, db_url: str | None, workspace: str | None) -> None:
    """Check a run's hash-chained event log and that replaying it gives its state.

    \b
    Example:
      opsflow verify 12
    """
    with open_engine(db_url, workspace) as engine:
        report = engine.verify(run_id)
    if report.ok:
        click.echo(f"run {run_id}: {report.events} events, chain intact, state matches replay")
        return
    for problem in report.problems:
        click.echo(f"problem: {term(problem)}", err=True)
    raise click.exceptions.Exit(1)
