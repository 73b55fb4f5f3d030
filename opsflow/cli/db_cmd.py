"""``opsflow db``: show and upgrade the database schema (``status``, ``upgrade``).

Also exports :func:`database_options`, the ``--db``/``--workspace`` options any
command that opens the store can reuse. Logic lives in
:mod:`opsflow.store.admin`; this module parses arguments and prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..store import admin
from ..store.database import ENV_VAR
from ..store.migrate import newer_schema_error
from .common import term

F = TypeVar("F", bound=Callable[..., Any])


def database_options(function: F) -> F:
    """Add ``--db URL`` and ``--workspace DIR`` to a command."""
    function = click.option(
        "--workspace",
        type=click.Path(file_okay=False),
        default=None,
        help="The workspace folder [default: the one the current folder is in].",
    )(function)
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        default=None,
        help=f"Database URL (overrides {ENV_VAR}), e.g. postgresql+psycopg://me@host/ops.",
    )(function)


@click.group("db")
def db() -> None:
    """Show or upgrade the database schema.

    SQLite databases are upgraded automatically; a PostgreSQL database must
    be upgraded once after installing or updating opsflow.

    \b
    Examples:
      opsflow db status
      OPSFLOW_DATABASE_URL=postgresql+psycopg://me@db/ops opsflow db upgrade
    """


def _revision(revision: str | None) -> str:
    return revision or "(no schema)"


@db.command("status")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text for people, or JSON (docs/json.md).")
@database_options
def status(output: str, db_url: str | None, workspace: str | None) -> None:
    """Print the database's schema revision and whether it needs an upgrade.

    \b
    Example:
      opsflow db status --db sqlite:///.opsflow/opsflow.db
    """
    state = admin.schema_state(db_url, workspace=workspace)
    if state.newer:
        raise newer_schema_error(state.url_display, _revision(state.after))
    if output == "json":
        import json

        from .. import documents

        click.echo(json.dumps(documents.db_status(state), indent=2))
        if not state.current:
            raise click.exceptions.Exit(1)
        return
    click.echo(term(f"workspace: {state.source}"))
    click.echo(term(f"database: {state.url_display}"))
    click.echo(f"schema revision: {_revision(state.after)} (this opsflow: {state.head})")
    if not state.current:
        click.echo("needs an upgrade: run `opsflow db upgrade`")
        raise click.exceptions.Exit(1)


@db.command("upgrade")
@database_options
def upgrade(db_url: str | None, workspace: str | None) -> None:
    """Create or upgrade the opsflow schema (safe to run again).

    \b
    Example:
      OPSFLOW_DATABASE_URL=postgresql+psycopg://me@db/ops opsflow db upgrade
    """
    state = admin.upgrade_database(db_url, workspace=workspace)
    if state.before == state.after:
        click.echo(f"the database at {state.url_display} is up to date ({state.after})")
    else:
        click.echo(
            f"upgraded the database at {state.url_display} "
            f"from {_revision(state.before)} to {state.after}"
        )
