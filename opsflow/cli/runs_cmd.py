"""The run commands: ``start``, ``tick``, ``approve``, ``handoff``, ``status``, ….

Each command opens the database (``--db URL``, else ``OPSFLOW_DATABASE_URL``,
else ``<workspace>/.opsflow/opsflow.db``), calls one :class:`~opsflow.engine.Engine`
method and prints what happened. Every action names its actor with
``--as PERSON`` (default: ``OPSFLOW_USER``). All logic lives in the engine;
this module parses arguments and prints. Importing it loads click, SQLAlchemy
and the engine's light modules only (no parser, no templates, no state
machine), so ``opsflow status`` starts fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from ..engine import ActResult, Engine
from ..errors import OpsflowError
from ..runstatus import render_status, when
from .db_cmd import database_options

__all__ = [
    "abstain",
    "advance",
    "approve",
    "cancel",
    "fire",
    "handoff",
    "history",
    "inbox",
    "list_runs",
    "reassign",
    "reject",
    "set_field",
    "start",
    "status",
    "tick",
    "untick",
    "verify",
]

F = TypeVar("F", bound=Callable[..., Any])
USER_ENV = "OPSFLOW_USER"


class NoActor(OpsflowError):
    """No ``--as`` and no ``OPSFLOW_USER``."""


def _actor(value: str | None) -> str:
    actor = (value or os.environ.get(USER_ENV, "")).strip()
    if not actor:
        raise NoActor(f"who is acting? add --as NAME, or set {USER_ENV}=NAME in your shell")
    return actor


def actor_option(function: F) -> F:
    return click.option("--as", "actor", metavar="PERSON", default=None,
                        help=f"Who is acting [default: ${USER_ENV}].")(function)


def phase_option(function: F) -> F:
    return click.option("--phase", default=None, metavar="PHASE",
                        help="The phase to act on, when several are active.")(function)


def run_argument(function: F) -> F:
    return click.argument("run_id", metavar="RUN", type=int)(function)


def _reads_a_run(name: str) -> Callable[[F], click.Command]:
    """``@click.command(name)`` with the RUN argument and the database options."""

    def decorate(function: F) -> click.Command:
        return click.command(name)(run_argument(database_options(function)))

    return decorate


@contextmanager
def _engine(db_url: str | None, workspace: str | None) -> Iterator[Engine]:
    with Engine.open(db_url, workspace=workspace) as engine:
        yield engine


def _report(result: ActResult) -> None:
    run = result.run
    for change in result.changes:
        moved = f" → {change.to_phase}" if change.to_phase else ""
        where = f" {change.from_phase}" if change.from_phase else ""
        payload = change.payload
        detail = payload.get("text") or payload.get("decision") or payload.get("reason") or ""
        click.echo(f"run {run.id}: {change.action}{where}{moved}"
                   + (f" ({detail})" if detail else ""))
    state = "now in " + ", ".join(run.phases) if run.phases else run.status
    click.echo(f"run {run.id} is {state}")


def _pair(value: str, what: str, example: str) -> tuple[str, str]:
    key, sep, rest = value.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{value!r} is not {what}=VALUE; write it like {example}")
    return key.strip(), rest


def _roles(values: tuple[str, ...]) -> dict[str, list[str]]:
    """``--role writer=wendy --role client=carol,dave`` → role → people."""
    result: dict[str, list[str]] = {}
    for value in values:
        role, people = _pair(value, "ROLE", "--role writer=wendy")
        result.setdefault(role, []).extend(p.strip() for p in people.split(","))
    return result


# ---- start ------------------------------------------------------------------------


@click.command("start")
@click.argument("sop_file", type=click.Path(dir_okay=False))
@click.option("--title", required=True, help="What this run is about.")
@click.option("--role", "roles", multiple=True, metavar="ROLE=PEOPLE",
              help="Bind a role to people (comma-separated); repeat for each role.")
@click.option("--field", "fields", multiple=True, metavar="FIELD=VALUE",
              help="Set a field; repeat for each field.")
@actor_option
@database_options
def start(sop_file: str, title: str, roles: tuple[str, ...], fields: tuple[str, ...],
          actor: str | None, db_url: str | None, workspace: str | None) -> None:
    """Start a run of an SOP.

    \b
    Example:
      opsflow start sops/content-publishing.sop --title "ACME spring campaign" \\
        --role writer=wendy --role client=carol,dave --field budget=12000 --as ann
    """
    assignments = _roles(roles)
    values = dict(_pair(value, "FIELD", "--field budget=12000") for value in fields)
    with _engine(db_url, workspace) as engine:
        run_id = engine.start(sop_file, title, assignments, values, actor=_actor(actor))
        run = engine.store.get_run(run_id)
    click.echo(f"started run {run_id}: {run.title} ({run.sop_id}), now in "
               f"{', '.join(run.phases) or run.status}")


# ---- actions ----------------------------------------------------------------------


def _act(db_url: str | None, workspace: str | None, call: Callable[[Engine], ActResult]) -> None:
    with _engine(db_url, workspace) as engine:
        _report(call(engine))


def _criterion_command(name: str, verb: str) -> click.Command:
    @click.command(name)
    @run_argument
    @click.argument("criterion")
    @phase_option
    @actor_option
    @database_options
    def command(run_id: int, criterion: str, phase: str | None, actor: str | None,
                db_url: str | None, workspace: str | None) -> None:
        method = getattr(Engine, verb)
        _act(db_url, workspace,
             lambda e: method(e, run_id, criterion, actor=_actor(actor), phase=phase))

    command.help = (f"{verb.capitalize()} a done-criterion, by number or by the start of its "
                    f"text.\n\n\b\nExamples:\n  opsflow {name} 12 1 --as wendy\n"
                    f'  opsflow {name} 12 "target keywords" --as wendy')
    return command


tick = _criterion_command("tick", "tick")
untick = _criterion_command("untick", "untick")


def _vote_command(decision: str) -> click.Command:
    needs = decision == "reject"

    @click.command(decision)
    @run_argument
    @click.option("--comment", "-m", default="",
                  help="Why (required to reject)." if needs else "An optional comment.")
    @phase_option
    @actor_option
    @database_options
    def command(run_id: int, comment: str, phase: str | None, actor: str | None,
                db_url: str | None, workspace: str | None) -> None:
        _act(db_url, workspace, lambda e: e.vote(run_id, decision, actor=_actor(actor),
                                                 comment=comment, phase=phase))

    example = ' -m "Tone does not fit the brand"' if needs else ""
    command.help = (f"Vote to {decision} the current approval (one vote per person; a new "
                    f"vote replaces yours).\n\n\b\nExample:\n  opsflow {decision} 12{example}"
                    " --as carol")
    return command


approve = _vote_command("approve")
reject = _vote_command("reject")
abstain = _vote_command("abstain")


def _phase_command(name: str, doc: str) -> click.Command:
    """A command that calls ``Engine.<name>(run, actor=…, phase=…)``."""

    @click.command(name, help=doc)
    @run_argument
    @phase_option
    @actor_option
    @database_options
    def command(run_id: int, phase: str | None, actor: str | None, db_url: str | None,
                workspace: str | None) -> None:
        method = getattr(Engine, name)
        _act(db_url, workspace, lambda e: method(e, run_id, actor=_actor(actor), phase=phase))

    return command


handoff = _phase_command("handoff", "Hand a phase off to the next one (its checklist must be "
                         "complete).\n\n\b\nExample:\n  opsflow handoff 12 --as wendy")
advance = _phase_command("advance", "Move on an approval the votes have decided (e.g. after "
                         "its voting window).\n\n\b\nExample:\n  opsflow advance 12 --as chris")


@click.command("fire")
@run_argument
@click.argument("event")
@phase_option
@actor_option
@database_options
def fire(run_id: int, event: str, phase: str | None, actor: str | None, db_url: str | None,
         workspace: str | None) -> None:
    """Fire a named event of the SOP (e.g. an emergency path).

    \b
    Example:
      opsflow fire 12 emergency --as chris
    """
    _act(db_url, workspace, lambda e: e.fire(run_id, event, actor=_actor(actor), phase=phase))


@click.command("set")
@run_argument
@click.argument("field")
@click.argument("value")
@actor_option
@database_options
def set_field(run_id: int, field: str, value: str, actor: str | None, db_url: str | None,
              workspace: str | None) -> None:
    """Set a field of a run (numbers, dates as YYYY-MM-DD, or one of the choices).

    \b
    Example:
      opsflow set 12 budget 15000 --as ann
    """
    _act(db_url, workspace, lambda e: e.set_field(run_id, field, value, actor=_actor(actor)))


@click.command("reassign")
@run_argument
@click.argument("role")
@click.argument("people", nargs=-1, required=True)
@actor_option
@database_options
def reassign(run_id: int, role: str, people: tuple[str, ...], actor: str | None,
             db_url: str | None, workspace: str | None) -> None:
    """Bind a role to other people (by the phase's accountable role or the SOP owner).

    \b
    Example:
      opsflow reassign 12 writer walt --as ann
    """
    names = [p.strip() for item in people for p in item.split(",")]
    _act(db_url, workspace, lambda e: e.reassign(run_id, role, names, actor=_actor(actor)))


@click.command("cancel")
@run_argument
@click.option("--reason", default="", help="Why the run is cancelled.")
@actor_option
@database_options
def cancel(run_id: int, reason: str, actor: str | None, db_url: str | None,
           workspace: str | None) -> None:
    """Cancel a run (by the SOP's owner).

    \b
    Example:
      opsflow cancel 12 --reason "client withdrew" --as ann
    """
    _act(db_url, workspace, lambda e: e.cancel(run_id, actor=_actor(actor), reason=reason))


# ---- reading ------------------------------------------------------------------------


@_reads_a_run("status")
def status(run_id: int, db_url: str | None, workspace: str | None) -> None:
    """Show a run: phases, open checklist items, votes, who is next, due times.

    \b
    Example:
      opsflow status 12
    """
    with _engine(db_url, workspace) as engine:
        click.echo(render_status(engine.status(run_id)))


@click.command("inbox")
@click.argument("person", required=False)
@actor_option
@database_options
def inbox(person: str | None, actor: str | None, db_url: str | None,
          workspace: str | None) -> None:
    """Everything waiting on a person across runs, overdue first.

    \b
    Examples:
      opsflow inbox wendy
      OPSFLOW_USER=wendy opsflow inbox
    """
    who = person or _actor(actor)
    with _engine(db_url, workspace) as engine:
        items = engine.inbox(who)
    if not items:
        click.echo(f"nothing is waiting on {who}")
    for entry in items:
        item = entry.item
        due = f" · due {when(item.due_at)}" if item.due_at else ""
        late = " · OVERDUE" if entry.overdue else ""
        click.echo(f"run {item.run_id} ({item.run_title}) · {item.kind} · {item.title}"
                   f"{due}{late}")


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
    with _engine(db_url, workspace) as engine:
        runs = engine.list_runs(sop_id=sop_id, status=run_status, person=person,
                                overdue=overdue, limit=limit)
        now = engine.clock.now()
    if not runs:
        click.echo("no runs match")
    for run in runs:
        due = f" · due {when(run.due_at)}" if run.due_at else ""
        late = " · OVERDUE" if run.due_at and run.due_at < now else ""
        click.echo(f"{run.id} · {run.title} · {run.sop_id} · {run.status} · "
                   f"{', '.join(run.phases) or '-'}{due}{late}")


@_reads_a_run("history")
def history(run_id: int, db_url: str | None, workspace: str | None) -> None:
    """Every event of a run, oldest first (who, what, when, from and to phase).

    \b
    Example:
      opsflow history 12
    """
    with _engine(db_url, workspace) as engine:
        events = engine.history(run_id)
    for event in events:
        moved = f" {event.from_phase or '-'} → {event.to_phase}" if event.to_phase else (
            f" {event.from_phase}" if event.from_phase else "")
        extra = event.payload.get("reason") or event.payload.get("text") or \
            event.payload.get("comment") or ""
        click.echo(f"{event.seq:>4} {when(event.at)} {event.actor}: {event.action}{moved}"
                   + (f" — {extra}" if extra else ""))


@_reads_a_run("verify")
def verify(run_id: int, db_url: str | None, workspace: str | None) -> None:
    """Check a run's hash-chained event log and that replaying it gives its state.

    \b
    Example:
      opsflow verify 12
    """
    with _engine(db_url, workspace) as engine:
        report = engine.verify(run_id)
    if report.ok:
        click.echo(f"run {run_id}: {report.events} events, chain intact, state matches replay")
        return
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    raise click.exceptions.Exit(1)
