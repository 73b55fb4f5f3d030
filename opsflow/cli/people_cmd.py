"""``opsflow people``: the people directory (add, edit, list, deactivate, import, export).

The rules (what an entry may hold, that roles bind only to active people of a
directory that has people, the CSV format) live in
:mod:`opsflow.run.directory`; this module parses arguments and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import term
from .db_cmd import database_options

if TYPE_CHECKING:
    from ..store import PersonRecord, Store


@click.group("people")
def people() -> None:
    """The people directory: who may hold a role.

    While the directory is empty, roles may be bound to any name. Once it has
    people, `start` and `reassign` bind roles only to its active people, and a
    typo is refused with the closest name.

    \b
    Examples:
      opsflow people add wendy --name "Wendy Writer" --email wendy@example.com
      opsflow people import team.csv
      opsflow people list --format csv > team.csv
    """


def _store(db_url: str | None, workspace: str | None, *, create: bool = False) -> Store:
    from ..store import Store

    return Store.open(db_url, workspace=workspace, create=create)


def _admin(store: Store) -> None:
    from ..identity import require_admin

    require_admin(store, "changing the people directory")


def _teams(teams: tuple[str, ...]) -> list[str]:
    return [t.strip() for value in teams for t in value.split(",") if t.strip()]


@people.command("add")
@click.argument("key")
@click.option("--name", required=True, help="The display name, e.g. \"Wendy Writer\".")
@click.option("--email", default=None, help="Where notifications go.")
@click.option("--timezone", default=None, help="An IANA time zone, e.g. Europe/Berlin.")
@click.option("--team", "teams", multiple=True, metavar="TEAM",
              help="A team the person is in; repeat or separate with commas.")
@database_options
def add(key: str, name: str, email: str | None, timezone: str | None, teams: tuple[str, ...],
        db_url: str | None, workspace: str | None) -> None:
    """Add a person to the directory (KEY is how roles and events name them).

    \b
    Example:
      opsflow people add wendy --name "Wendy Writer" --team content
    """
    from ..run.directory import person

    entry = person(key, name, email=email, timezone=timezone, teams=_teams(teams))
    with _store(db_url, workspace, create=True) as store:
        _admin(store)
        store.add_people([entry])
    click.echo(term(f"added {entry.key} ({entry.name})"))


@people.command("edit")
@click.argument("key")
@click.option("--name", default=None, help="A new display name.")
@click.option("--email", default=None, help="A new email address ('' removes it).")
@click.option("--timezone", default=None, help="A new time zone ('' removes it).")
@click.option("--team", "teams", multiple=True, metavar="TEAM",
              help="The person's teams (replacing the old ones); repeat or use commas.")
@database_options
def edit(key: str, name: str | None, email: str | None, timezone: str | None,
         teams: tuple[str, ...], db_url: str | None, workspace: str | None) -> None:
    """Change a person's display name, email, time zone or teams."""
    with _store(db_url, workspace) as store:
        _admin(store)
        old = _one(store, key)
        from ..run.directory import person

        entry = person(old.key, old.name if name is None else name,
                       email=old.email if email is None else (email or None),
                       timezone=old.timezone if timezone is None else (timezone or None),
                       teams=old.teams if not teams else _teams(teams), active=old.active)
        store.add_people([entry], update=True)
    click.echo(term(f"changed {entry.key} ({entry.name})"))


def _one(store: Store, key: str) -> PersonRecord:
    from ..run.directory import DirectoryError
    from ..run.people import person_key

    canonical = person_key(key, "a person's key")
    found = store.people([canonical])
    if not found:
        raise DirectoryError(f"no person '{canonical}' in the people directory",
                             "`opsflow people list` shows who is there")
    return found[0]


@people.command("deactivate")
@click.argument("key")
@database_options
def deactivate(key: str, db_url: str | None, workspace: str | None) -> None:
    """Mark a person as gone: they keep their history, and no role can be bound to
    them any more."""
    _set_active(key, False, db_url, workspace)


@people.command("activate")
@click.argument("key")
@database_options
def activate(key: str, db_url: str | None, workspace: str | None) -> None:
    """Make a deactivated person active again."""
    _set_active(key, True, db_url, workspace)


def _set_active(key: str, active: bool, db_url: str | None, workspace: str | None) -> None:
    from dataclasses import replace

    with _store(db_url, workspace) as store:
        _admin(store)
        old = _one(store, key)
        store.add_people([replace(old, active=active)], update=True)
        if not active:
            store.revoke_tokens(person=old.key)
    click.echo(term(f"{old.key} ({old.name}) is {'active' if active else 'deactivated'}"))


@people.command("list")
@click.option("--format", "output", type=click.Choice(["text", "csv", "json"]),
              default="text", show_default=True, help="Text, CSV (what import reads) or JSON.")
@database_options
def list_people(output: str, db_url: str | None, workspace: str | None) -> None:
    """List the directory, by key (deactivated people are marked)."""
    from ..run.directory import to_csv

    with _store(db_url, workspace) as store:
        everyone = store.people()
    if output == "json":
        import json

        from .. import documents

        click.echo(json.dumps(documents.directory(everyone), indent=2))
        return
    if output == "csv":  # every cell is escaped by to_csv (no control characters)
        click.echo(to_csv(everyone), nl=False)
        return
    if not everyone:
        click.echo("the people directory is empty: roles may be bound to any name; add "
                   "people with `opsflow people add` or `opsflow people import`")
    for p in everyone:
        details = " · ".join(x for x in (p.email or "", p.timezone or "",
                                         ",".join(p.teams)) if x)
        mark = "" if p.active else " (deactivated)"
        click.echo(term(f"{p.key} · {p.name}{mark}" + (f" · {details}" if details else "")))


@people.command("export")
@database_options
def export(db_url: str | None, workspace: str | None) -> None:
    """Write the directory as CSV (what `people import` reads) to standard output."""
    from ..run.directory import to_csv

    with _store(db_url, workspace) as store:
        click.echo(to_csv(store.people()), nl=False)  # every cell escaped by to_csv


@people.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True,
              help="Import the good rows and say which were skipped (default: a bad row "
                   "stops the import, and nothing is written).")
@database_options
def import_people(file: Path, skip_bad: bool, db_url: str | None,
                  workspace: str | None) -> None:
    """Add or update people from a CSV file with the columns
    key,name,email,timezone,teams,active (teams separated by ';').

    \b
    Example:
      opsflow people import team.csv
    """
    from ..render.files import read_bytes
    from ..run.directory import DirectoryError, parse_csv

    data = read_bytes(file)
    if data is None:
        raise DirectoryError(f"cannot read {file}", "give a regular file you can read")
    found, problems = parse_csv(data, str(file))
    for problem in problems:
        click.echo(term(f"{file}: {problem}"), err=True)
    if problems and not skip_bad:
        raise DirectoryError(f"nothing was imported: {len(problems)} bad row"
                             f"{'s' if len(problems) != 1 else ''} in {file}",
                             "fix them, or pass --skip-bad to import only the good rows")
    with _store(db_url, workspace, create=True) as store:
        _admin(store)
        keys = {p.key for p in store.people()}
        store.add_people(found, update=True)
    added = sum(1 for p in found if p.key not in keys)
    skipped = f"; skipped {len(problems)} bad rows" if problems else ""
    click.echo(term(f"imported {len(found)} people from {file}: {added} added, "
                    f"{len(found) - added} updated{skipped}"))


@people.command("revoke")
@click.argument("key")
@database_options
def revoke(key: str, db_url: str | None, workspace: str | None) -> None:
    """Revoke every token of a person (an admin, or the person themself)."""
    from .. import identity

    with _store(db_url, workspace) as store:
        found = _one(store, key)
        if identity.mode(store) == "token" and identity.current(store) != found.key:
            identity.require_admin(store, f"revoking {found.key}'s tokens")
        count = store.revoke_tokens(person=found.key)
    click.echo(term(f"revoked {count} token{'' if count == 1 else 's'} of {found.key}"))


@people.command("password")
@click.argument("key")
@click.password_option("--password", prompt="New password",
                       help="The new password (asked for, hidden, when not given).")
@database_options
def password(key: str, password: str, db_url: str | None, workspace: str | None) -> None:
    """Set a person's password for the web app (`opsflow serve`).

    \b
    Example:
      opsflow people password wendy
    """
    from ..web.accounts import set_password

    with _store(db_url, workspace) as store:
        found = _one(store, key)
        _admin(store)
        set_password(store, found.key, password)
    click.echo(term(f"set the web password of {found.key}"))
