"""The commands that read runs: ``status``, ``inbox``, ``list``, ``history``, ``verify``.

Each opens the database, calls one :class:`~opsflow.run.engine.Engine` method and
prints. Importing this module loads click, SQLAlchemy and the engine's light
modules only (no parser, no templates, no state machine), so ``opsflow
status`` starts fast.
"""

from __future__ import annotations

import click

from ..run.status import render_status, when
from .common import clean, term
from .db_cmd import database_options
from .run_options import acting, actor_option, open_engine, person, reads_a_run

__all__ = ["history", "inbox", "list_runs", "status", "verify"]


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


@reads_a_run("history")
def history(run_id: int, db_url: str | None, workspace: str | None) -> None:
    """Every event of a run, oldest first (who, what, when, from and to phase).

    \b
    Example:
      opsflow history 12
    """
    with open_engine(db_url, workspace) as engine:
        events = engine.history(run_id)
    for event in events:
        moved = f" {event.from_phase or '-'} → {event.to_phase}" if event.to_phase else (
            f" {event.from_phase}" if event.from_phase else "")
        extra = event.payload.get("reason") or event.payload.get("text") or \
            event.payload.get("comment") or ""
        decision = event.payload.get("decision") if event.action == "vote" else None
        action = f"{event.action} ({decision})" if decision else event.action
        click.echo(f"{event.seq:>4} {when(event.at)} {event.actor}: {action}{moved}"
                   + (f" — {extra}" if extra else ""))


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
