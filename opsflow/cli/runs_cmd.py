"""The commands that act on runs: ``start``, ``tick``, ``approve``, ``handoff``, ….

Each command opens the database (``--db URL``, else ``OPSFLOW_DATABASE_URL``,
else ``<workspace>/.opsflow/opsflow.db``), calls one :class:`~opsflow.run.engine.Engine`
method and prints what happened. Every action names its actor with
``--as PERSON`` (default: ``OPSFLOW_USER``). All logic lives in the engine;
this module parses arguments and prints. The reading commands (``status``,
``inbox``, ``list``, ``history``, ``verify``) are in :mod:`.runview_cmd`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ..run.engine import ActResult, Engine
from .common import term
from .db_cmd import database_options
from .run_options import (
    acting,
    actor_option,
    criterion_argument,
    open_engine,
    person,
    phase_option,
    run_argument,
)

if TYPE_CHECKING:
    from ..run.events import Event

__all__ = ["abstain", "advance", "approve", "cancel", "fire", "handoff", "reassign", "reject",
           "set_field", "start", "tick", "untick"]


def _detail(event: Event) -> str:
    """What one change did, for the line after an action (read from the typed event,
    never from the stored action's name)."""
    from ..run import events as ev

    match event:
        case ev.Ticked() | ev.Unticked():
            return event.text
        case ev.Voted():
            return event.decision
        case ev.Moved() if event.auto:
            return f"decided by the votes: {event.tally or ''}"
        case ev.Moved():
            return event.comment
        case ev.FieldSet():
            was = "not set" if event.previous is None else event.previous
            return f"{event.field} = {event.value}; was {was}"
        case ev.Reassigned():
            return f"{event.role}: {', '.join(event.previous) or 'nobody'} → " \
                   f"{', '.join(event.people)}"
        case ev.MilestoneReached():
            return event.title
        case ev.Reopened():
            return f"{event.field} changed"
        case ev.Cancelled():
            return event.reason
        case _:
            return ""


def _report(result: ActResult) -> None:
    from ..run.events import decode
    from ..store import EventRecord

    run = result.run
    for change in result.changes:
        event = decode(EventRecord(run.id, 0, run.updated_at, "", change.action,
                                   change.from_phase, change.to_phase, change.payload, "", ""))
        moved = f" → {change.to_phase}" if change.to_phase else ""
        where = f" {change.from_phase}" if change.from_phase else ""
        detail = _detail(event)
        click.echo(term(f"run {run.id}: {change.action}{where}{moved}"
                        + (f" ({detail})" if detail else "")))
    state = "now in " + ", ".join(run.phases) if run.phases else run.status
    click.echo(term(f"run {run.id} is {state}"))


def _pair(value: str, what: str, example: str) -> tuple[str, str]:
    key, sep, rest = value.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{term(value)!r} is not {what}=VALUE; write it like {example}")
    return key.strip(), rest


def _roles(values: tuple[str, ...]) -> dict[str, list[str]]:
    """``--role writer=wendy --role client=carol,dave`` → role → people."""
    result: dict[str, list[str]] = {}
    for value in values:
        role, people = _pair(value, "ROLE", "--role writer=wendy")
        result.setdefault(role, []).extend(person(p, f"--role {term(role)}")
                                           for p in people.split(","))
    return result


# ---- start ------------------------------------------------------------------------


@click.command("start")
@click.argument("sop_file", type=click.Path(dir_okay=False))
@click.option("--title", required=True, help="What this run is about.")
@click.option("--role", "roles", multiple=True, metavar="ROLE=PEOPLE",
              help="Bind a role to people (comma-separated); repeat for each role.")
@click.option("--field", "fields", multiple=True, metavar="FIELD=VALUE",
              help="Set a field; repeat for each field.")
@click.option("--library", metavar="DIR", type=click.Path(file_okay=False),
              help="A folder of shared .sop files that includes may also come from.")
@actor_option
@database_options
def start(sop_file: str, title: str, roles: tuple[str, ...], fields: tuple[str, ...],
          library: str | None, actor: str | None, db_url: str | None,
          workspace: str | None) -> None:
    """Start a run of an SOP.

    \b
    Example:
      opsflow start sops/content-publishing.sop --title "ACME spring campaign" \\
        --role writer=wendy --role client=carol,dave --field budget=12000 --as ann
    """
    assignments = _roles(roles)
    values = dict(_pair(value, "FIELD", "--field budget=12000") for value in fields)
    from ..api import load_with_files  # the parser is needed only here

    # a broken SOP is refused before any database is touched
    sop, files = load_with_files(sop_file, library)
    with open_engine(db_url, workspace, create=True) as engine:
        person = acting(actor, engine.store)
        run_id = engine.start(sop, title, assignments, values, actor=person, files=files)
        run = engine.store.get_run(run_id)
        later = engine.roles_to_bind_later(run_id)
    click.echo(term(f"started run {run_id}: {run.title} ({run.sop_id}), now in "
                    f"{', '.join(run.phases) or run.status}"))
    for role, why in later.items():
        click.echo(term(f"note: nobody holds role {role} yet ({why}); the run will wait "
                        f"for it there: bind someone with `opsflow reassign {run_id} {role} "
                        "PERSON`"))


# ---- actions ----------------------------------------------------------------------


def _act(db_url: str | None, workspace: str | None, call: Callable[[Engine], ActResult]) -> None:
    with open_engine(db_url, workspace) as engine:
        _report(call(engine))


def _criterion_command(name: str, verb: str) -> click.Command:
    @click.command(name)
    @run_argument
    @criterion_argument
    @phase_option
    @actor_option
    @database_options
    def command(run_id: int, criterion: str, phase: str | None, actor: str | None,
                db_url: str | None, workspace: str | None) -> None:
        method = getattr(Engine, verb)
        _act(db_url, workspace,
             lambda e: method(e, run_id, criterion, actor=acting(actor, e.store), phase=phase))

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
        _act(db_url, workspace, lambda e: e.vote(run_id, decision, actor=acting(actor, e.store),
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
        _act(db_url, workspace,
             lambda e: method(e, run_id, actor=acting(actor, e.store), phase=phase))

    return command


handoff = _phase_command("handoff", "Hand a phase off to the next one (its checklist must be "
                         "complete).\n\n\b\nExample:\n  opsflow handoff 12 --as wendy")
advance = _phase_command("advance", "Move on an approval the votes have decided (e.g. after "
                         "its voting window).\n\n\b\nExample:\n  opsflow advance 12 --as chris")


@click.command("fire")
@run_argument
@click.argument("event")
@phase_option
@click.option("--comment", default="", help="Why the event is fired (kept in the history).")
@actor_option
@database_options
def fire(run_id: int, event: str, phase: str | None, comment: str, actor: str | None,
         db_url: str | None, workspace: str | None) -> None:
    """Fire a named event of the SOP (e.g. an emergency path).

    \b
    Example:
      opsflow fire 12 emergency --comment "Payments are down" --as chris
    """
    _act(db_url, workspace, lambda e: e.fire(run_id, event, actor=acting(actor, e.store),
                                             phase=phase, comment=comment))


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
    _act(db_url, workspace,
         lambda e: e.set_field(run_id, field, value, actor=acting(actor, e.store)))


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
    names = [person(p, "PEOPLE") for item in people for p in item.split(",")]
    _act(db_url, workspace, lambda e: e.reassign(run_id, role, names, actor=acting(actor, e.store)))


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
    _act(db_url, workspace, lambda e: e.cancel(run_id, actor=acting(actor, e.store), reason=reason))
