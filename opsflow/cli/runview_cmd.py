"""The commands that read runs: ``status``, ``inbox``, ``list``, ``history``, ``verify``.

Each opens the database, calls one :class:`~opsflow.run.engine.Engine` method and
prints. Importing this module loads click, SQLAlchemy and the engine's light
modules only (no parser, no templates, no state machine), so ``opsflow
status`` starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..run.describe import describe, shown
from ..run.status import render_status, when
from .common import clean, term
from .db_cmd import database_options
from .run_options import (
    MAX_RUN_ID,
    Number,
    acting,
    actor_option,
    open_engine,
    person,
    reads_a_run,
)

__all__ = ["describe", "history", "inbox", "list_runs", "shown", "status", "verify"]


def _json(document: object) -> None:
    """A document as JSON (ASCII: every other character, control characters and bytes
    that were not UTF-8 included, is a \\u escape)."""
    click.echo(json.dumps(document, indent=2))


def _directory(engine: Any) -> dict[str, Any]:
    return {p.key: p for p in engine.store.people()}


def _zone(engine: Any) -> str | None:
    """The workspace's time zone, which text output shows times in (UTC without one)."""
    found = engine.store.workspace
    return found.timezone if found is not None else None


@reads_a_run("status")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text for people, or JSON (docs/json.md).")
def status(run_id: int, output: str, db_url: str | None, workspace: str | None) -> None:
    """Show a run: phases, open checklist items, votes, who is next, due times.

    \b
    Examples:
      opsflow status 12
      opsflow status 12 --format json
    """
    with open_engine(db_url, workspace) as engine:
        found = engine.status(run_id)
        if output == "json":
            from .. import documents

            _json(documents.status(found, _directory(engine)))
            return
        click.echo(render_status(clean(found), clean(_directory(engine)), _zone(engine)))


@click.command("inbox")
@click.argument("name", metavar="PERSON", required=False)
@click.option("--format", "output", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True, help="Text for people, or JSON or CSV (docs/json.md).")
@actor_option
@database_options
def inbox(name: str | None, output: str, actor: str | None, db_url: str | None,
          workspace: str | None) -> None:
    """Everything waiting on a person across runs, overdue first.

    \b
    Examples:
      opsflow inbox wendy
      OPSFLOW_USER=wendy opsflow inbox --format csv
    """
    with open_engine(db_url, workspace) as engine:
        # without a name: the person acting (with tokens, the token's person)
        who = person(name, "PERSON") if name else acting(actor, engine.store)
        items = engine.inbox(who)
        zone = _zone(engine)
        if output != "text":
            from .. import documents
            from ..run.people import person_key

            document = documents.inbox(person_key(who), items, _directory(engine))
            if output == "json":
                _json(document)
            else:
                click.echo(documents.to_csv(document["items"], documents.INBOX_COLUMNS),
                           nl=False)
            return
    if not items:
        click.echo(f"nothing is waiting on {who}")
    for entry in items:
        item = entry.item
        due = f" · due {when(item.due_at, zone)}" if item.due_at else ""
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
@click.option("--format", "output", type=click.Choice(["text", "json", "csv"]), default="text",
              show_default=True, help="Text for people, or JSON or CSV (docs/json.md).")
@database_options
def list_runs(sop_id: str | None, run_status: str | None, person: str | None, overdue: bool,
              limit: int | None, output: str, db_url: str | None, workspace: str | None) -> None:
    """List runs, oldest first.

    \b
    Examples:
      opsflow list --status active --person wendy --overdue
      opsflow list --format csv > runs.csv
    """
    with open_engine(db_url, workspace) as engine:
        runs = engine.list_runs(sop_id=sop_id, status=run_status, person=person,
                                overdue=overdue, limit=limit)
        now = engine.clock.now()
        gone = engine.store.waiting_on_deactivated([r.id for r in runs])
        zone = _zone(engine)
    if output != "text":
        from .. import documents

        document = documents.runs(runs, now, gone)
        if output == "json":
            _json(document)
        else:
            click.echo(documents.to_csv(document["runs"], documents.LIST_COLUMNS), nl=False)
        return
    if not runs:
        click.echo("no runs match")
    for run in runs:
        due = f" · due {when(run.due_at, zone)}" if run.due_at else ""
        late = " · OVERDUE" if run.due_at and run.due_at < now else ""
        waits = (f" · waits on deactivated {', '.join(gone[run.id])}" if run.id in gone
                 else "")
        click.echo(term(f"{run.id} · {run.title} · {run.sop_id} · {run.status} · "
                        f"{', '.join(run.phases) or '-'}") + f"{due}{late}" + term(waits))


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
    With --format json: {"schema": "opsflow/history/1", "run": RUN, "events":
    [...]} (docs/json.md); every event has
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
        zone = _zone(engine)
    if output == "json":
        from .. import documents
        from ..run.events import to_json

        click.echo(json.dumps(documents.history(run_id, [to_json(e) for e in events]),
                              indent=2))
        return
    for event in events:
        click.echo(f"{event.seq:>4} {when(event.at, zone)} {shown(event.actor)}: "
                   f"{describe(event)}")


def _checkpoints(file: str | None, key: str | None) -> tuple[Any, list[str]]:
    """The latest signed checkpoint per run, and problems with the file (None, [] when no
    checkpoint file is named)."""
    if file is None:
        return None, []
    if key is None:
        raise click.UsageError("checking against checkpoints needs their key: add --key "
                               "FILE.pub or set OPSFLOW_CHECKPOINT_KEY")
    from ..run import checkpoint

    return checkpoint.read(Path(file), checkpoint.verifier(Path(key)))


@click.command("verify")
@click.argument("run_id", metavar="[RUN]", type=Number("a run id", MAX_RUN_ID), required=False)
@click.option("--all", "every", is_flag=True, help="Verify every run.")
@click.option("--checkpoints", "checkpoint_file", envvar="OPSFLOW_CHECKPOINTS", metavar="FILE",
              help="Also check against the signed checkpoints in FILE "
                   "(env OPSFLOW_CHECKPOINTS).")
@click.option("--key", envvar="OPSFLOW_CHECKPOINT_KEY", metavar="FILE",
              help="The checkpoint key (its .pub file is enough; env OPSFLOW_CHECKPOINT_KEY).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text for people, or JSON (docs/json.md).")
@database_options
def verify(run_id: int | None, every: bool, checkpoint_file: str | None, key: str | None,
           output: str, db_url: str | None, workspace: str | None) -> None:
    """Check a run's hash-chained event log and that replaying it gives its state.

    With --checkpoints, also check that each run still holds the events its latest
    signed checkpoint names (`opsflow checkpoint`): events cut from the end, a head
    moved back or a run rewritten before that checkpoint are found.

    \b
    Examples:
      opsflow verify 12
      opsflow verify --all --checkpoints /secure/opsflow.checkpoints --key signing.pub
    """
    if every == (run_id is not None):
        raise click.UsageError("name one RUN, or give --all")
    checkpoints, problems = _checkpoints(checkpoint_file, key)
    with open_engine(db_url, workspace) as engine:
        runs = [run_id] if run_id is not None else [r for r, _, _ in engine.store.heads()]
        reports = [engine.verify(r, checkpoints) for r in runs]
        if every and checkpoints is not None:
            problems += [f"run {r} was checkpointed but is not in the database: it was "
                         "deleted" for r in sorted(set(checkpoints) - set(runs))]
    if output == "json":
        from .. import documents

        document = documents.verify(reports, problems)
        _json(document)
        if not document["ok"]:
            raise click.exceptions.Exit(1)
        return
    for report in reports:
        if report.ok:
            anchored = " and agrees with its checkpoint" if checkpoints is not None and \
                report.run_id in checkpoints else ""
            click.echo(f"run {report.run_id}: {report.events} events, chain intact, state "
                       f"matches replay{anchored}")
    for note in dict.fromkeys(n for r in reports for n in r.notes):
        click.echo(f"note: {term(note)}", err=True)
    for problem in [*problems, *(f"run {r.run_id}: {p}" if every else p
                                 for r in reports for p in r.problems)]:
        click.echo(f"problem: {term(problem)}", err=True)
    if problems or any(not r.ok for r in reports):
        raise click.exceptions.Exit(1)


@click.command("checkpoint")
@click.option("--key", envvar="OPSFLOW_CHECKPOINT_KEY", metavar="FILE",
              help="The Ed25519 private key that signs (env OPSFLOW_CHECKPOINT_KEY); keep it "
                   "away from the database.")
@click.option("--file", "checkpoint_file", envvar="OPSFLOW_CHECKPOINTS", metavar="FILE",
              help="The checkpoint file to append to (env OPSFLOW_CHECKPOINTS); keep it away "
                   "from the database.")
@click.option("--new-key", metavar="FILE", help="Make a new signing key in FILE (and FILE.pub) "
              "and stop.")
@database_options
def checkpoint_cmd(key: str | None, checkpoint_file: str | None, new_key: str | None,
                   db_url: str | None, workspace: str | None) -> None:
    """Sign every run's head (run, last event, its hash, the time) into a checkpoint file.

    Run it regularly (say from cron) with a key the database's administrators do not
    hold; `opsflow verify --all --checkpoints FILE` then finds any run cut, moved back
    or rewritten before the last checkpoint.

    \b
    Examples:
      opsflow checkpoint --new-key /secure/signing.key
      opsflow checkpoint --key /secure/signing.key --file /secure/opsflow.checkpoints
    """
    import datetime as dt

    from ..run import checkpoint

    if new_key is not None:
        fingerprint = checkpoint.new_key(Path(new_key))
        click.echo(f"made key {fingerprint} in {term(new_key)} (public: {term(new_key)}.pub)")
        return
    if key is None or checkpoint_file is None:
        raise click.UsageError("checkpoint needs --key FILE and --file FILE (or "
                               "OPSFLOW_CHECKPOINT_KEY and OPSFLOW_CHECKPOINTS)")
    signer = checkpoint.signer(Path(key))
    with open_engine(db_url, workspace) as engine:
        heads = engine.store.heads()
    # the system clock, not a movable engine clock: a checkpoint says when it was made
    count = checkpoint.append(Path(checkpoint_file), signer, heads, dt.datetime.now(dt.UTC))
    click.echo(f"signed {count} run{'' if count == 1 else 's'} into {term(checkpoint_file)}")
