"""``opsflow init [FOLDER]``: make a workspace (see :mod:`opsflow.workspace`).

Writes ``opsflow.toml``, ``.opsflow/`` and an example SOP, then creates the
database (the embedded SQLite file, or the schema in the ``--db`` PostgreSQL
database, whose URL goes into the config). Logic lives in the library; this
module parses arguments and prints.
"""

from __future__ import annotations

import click

from .common import term


@click.command("init")
@click.argument("folder", default=".", type=click.Path(file_okay=False))
@click.option("--db", "db_url", metavar="URL", default=None,
              help="The team's database (written into opsflow.toml), e.g. "
                   "postgresql+psycopg://ops@db/opsflow; default: .opsflow/opsflow.db here.")
@click.option("--admin", "admins", multiple=True, metavar="PERSON",
              help="An admin of the workspace (may act for others, manage people and "
                   "give the first token); repeat for each.")
def init(folder: str, db_url: str | None, admins: tuple[str, ...]) -> None:
    """Make a workspace in FOLDER (default: here): opsflow.toml, its database and an
    example SOP. Commands run in FOLDER or below it then use this workspace.

    \b
    Examples:
      opsflow init
      opsflow init ops --db postgresql+psycopg://ops@db.example.com/opsflow --admin ann
    """
    from ..store import Store
    from ..workspace import init as make

    made = make(folder, database=db_url, admins=admins)
    with Store.open(made.database, workspace=made.root, upgrade=True) as store:
        shown = store.url_display
    click.echo(term(f"made a workspace at {made.root}"))
    click.echo(term(f"  config:   {made.config}"))
    click.echo(term(f"  database: {shown}"))
    click.echo(term(f"  SOPs:     {made.sops_folder} (try: opsflow check {made.sops_folder})"))
    click.echo(term(f"  identity: {made.identity}" + (
        f" (admins: {', '.join(made.admins) or 'none yet: add admins = [...] to the config'})"
        if made.identity == "token" else " (--as names the person acting)")))
