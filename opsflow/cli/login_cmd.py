"""``opsflow login`` and ``opsflow logout``: personal tokens (see :mod:`opsflow.identity`).

The rules (who may get a token, what a token proves) live in the library; this
module parses arguments and prints.
"""

from __future__ import annotations

import click

from .common import term
from .db_cmd import database_options


@click.command("login")
@click.argument("key", metavar="PERSON")
@click.option("--token", default=None, metavar="TOKEN",
              help="Save a token an admin gave you instead of getting a new one.")
@database_options
def login(key: str, token: str | None, db_url: str | None, workspace: str | None) -> None:
    """Get a personal token for PERSON and save it for this database.

    In a workspace that requires tokens (`identity = "token"` in opsflow.toml, the
    default with PostgreSQL), commands that change something act as the token's
    person. The token is shown once and stored only as a hash.

    \b
    Examples:
      opsflow login wendy
      opsflow login wendy --token opsflow_...   (a token an admin made for you)
    """
    from .. import identity
    from ..run.people import person_key
    from ..store import Store

    person = person_key(key, "PERSON")
    with Store.open(db_url, workspace=workspace, create=False) as store:
        if token is not None:
            if identity.authenticate(store, token) != person:
                raise identity.IdentityError(f"that token is not {person}'s; ask for yours")
            path = identity.save_token(store, token.strip())
            click.echo(term(f"logged in as {person}; the token is saved in {path}"))
            return
        identity.may_issue(store, person)
        me = identity.current(store)
        made = identity.issue(store, person)
        if me in (None, person):
            path = identity.save_token(store, made)
            click.echo(term(f"logged in as {person}; the token is saved in {path} (or set "
                            f"{identity.TOKEN_ENV_VAR}={made} elsewhere; it is shown once)"))
            return
    click.echo(term(f"a token for {person} (shown once; give it to them privately): {made}"))
    click.echo(term(f"they save it with `opsflow login {person} --token TOKEN`"))


@click.command("logout")
@database_options
def logout(db_url: str | None, workspace: str | None) -> None:
    """Revoke this user's token for the database and forget it.

    \b
    Example:
      opsflow logout
    """
    from .. import identity
    from ..store import Store

    with Store.open(db_url, workspace=workspace, create=False) as store:
        token = identity.read_token(store)
        if token is None:
            click.echo("not logged in: there is no token to revoke")
            return
        found = identity.token_id(token)
        revoked = store.revoke_tokens(token_id=found) if found else 0
        path = identity.token_file(store)
        if path.is_file() and path.read_text("utf-8").strip() == token:
            path.unlink()
    click.echo("logged out: the token is revoked" if revoked else
               "logged out (the token was not valid any more)")
