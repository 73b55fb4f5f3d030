"""Who a command acts as: free names, or personal tokens on a shared database.

A workspace says how people are identified (``identity`` in ``opsflow.toml``,
see :mod:`opsflow.workspace`):

* ``free`` (the default for a local SQLite workspace): ``--as`` (or
  ``OPSFLOW_USER``) names the person acting.
* ``token`` (the default when the workspace's database is PostgreSQL): a command
  that changes something acts as the person of its personal token, read from
  ``OPSFLOW_TOKEN`` or from the token file that ``opsflow login`` saved under the
  user's config folder (``$XDG_CONFIG_HOME/opsflow/tokens/``, one per database).
  ``--as`` naming somebody else is refused unless the token's person is one of
  the workspace's ``admins``. Every refusal says how to log in.

A token is ``opsflow_<id>_<secret>`` with a 256-bit random secret
(:mod:`secrets`); the database keeps only the SHA-256 of the whole token
(:mod:`hashlib`) and compares in constant time. A slow password hash (Argon2,
bcrypt) protects secrets people choose and could guess; a random 256-bit token
cannot be guessed, and hashing it with SHA-256 (as GitHub and PyPI do for their
tokens) costs microseconds instead of the tens of milliseconds Argon2 would add
to every command.

Who may get a token (:func:`may_issue`): in a ``free`` workspace, anybody for an
active person of the directory; in a ``token`` workspace, a person for themself
(with their current token), an admin for anybody, and — once, while the
database has no token at all — an admin for themself, to begin.

The limit, stated in ``docs/security.md``: these checks hold for everybody who
uses opsflow with the workspace; somebody who has the database's own credentials
can still write to it directly, which only ``opsflow verify`` and signed
checkpoints reveal. The library's entry points (``Engine.tick(…, actor=…)``)
take an actor that the front end has authenticated with :func:`acting_person`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OpsflowError

if TYPE_CHECKING:
    from .store import Store

__all__ = ["TOKEN_ENV_VAR", "IdentityError", "acting_person", "authenticate", "issue",
           "may_issue", "mode", "read_token", "save_token", "token_file"]

TOKEN_ENV_VAR = "OPSFLOW_TOKEN"
PREFIX = "opsflow_"
LOGIN = "run `opsflow login YOUR-KEY` (an admin gives the first token), or set OPSFLOW_TOKEN"


class IdentityError(OpsflowError):
    """No token where one is needed, a token that is not valid, or acting for somebody
    else without being an admin; nothing was done."""


def mode(store: Store) -> str:
    """``free`` or ``token``: how the store's workspace identifies people (``free`` for a
    database named by URL, outside any workspace)."""
    return store.workspace.identity if store.workspace is not None else "free"


def admins(store: Store) -> tuple[str, ...]:
    return store.workspace.admins if store.workspace is not None else ()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(store: Store, person: str) -> str:
    """A new token for ``person`` (stored as its hash only); shown once by the caller."""
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    store.add_token(token_id, person, _hash(token))
    return token


def authenticate(store: Store, token: str) -> str:
    """The person of a valid, unrevoked ``token``, else :class:`IdentityError`."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or f"{parts[0]}_" != PREFIX or not parts[1] or not parts[2]:
        raise IdentityError(f"that is not an opsflow token (they start with {PREFIX}); {LOGIN}")
    found = store.token(parts[1])
    if found is None or not hmac.compare_digest(found[1], _hash(token.strip())):
        raise IdentityError(f"your token is not known to this database; {LOGIN}")
    if found[2]:
        raise IdentityError(f"your token was revoked; {LOGIN}")
    active = store.people([found[0]])
    if active and not active[0].active:
        raise IdentityError(f"your token is for {found[0]}, who is deactivated in the people "
                            "directory; ask an admin")
    return found[0]


def token_file(store: Store) -> Path:
    """Where ``opsflow login`` keeps the token for this database (one file per database,
    named by a hash of its URL)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    name = hashlib.sha256(store.url_display.encode("utf-8")).hexdigest()[:16]
    return base / "opsflow" / "tokens" / name


def read_token(store: Store) -> str | None:
    """``OPSFLOW_TOKEN``, else the saved token file's, else ``None``."""
    given = os.environ.get(TOKEN_ENV_VAR, "").strip()
    if given:
        return given
    path = token_file(store)
    try:
        return path.read_text("utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def save_token(store: Store, token: str) -> Path:
    """Save ``token`` as this user's for this database (readable by them only)."""
    path = token_file(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        os.chmod(path, 0o600)
    except OSError as error:
        raise IdentityError(f"cannot save the token in {path} ({error.strerror}); set "
                            f"{TOKEN_ENV_VAR} instead") from None
    return path


def current(store: Store) -> str | None:
    """The person of this user's token for the store, or ``None`` without a token
    (an invalid one is :class:`IdentityError`)."""
    token = read_token(store)
    return None if token is None else authenticate(store, token)


def acting_person(store: Store, claimed: str | None) -> str:
    """Who a command acts as. ``claimed``: the name given with ``--as`` or
    ``OPSFLOW_USER`` (``None``: none given). In a ``free`` workspace that name; in a
    ``token`` workspace the token's person, or ``claimed`` if the token's person is an
    admin."""
    from .run.people import person_key

    if mode(store) == "free":
        if claimed is None:
            raise IdentityError("who is acting? add --as NAME, or set OPSFLOW_USER=NAME in "
                                "your shell")
        return claimed
    me = current(store)
    if me is None:
        raise IdentityError(f"this workspace needs a personal token to act; {LOGIN}")
    if claimed is None or person_key(claimed) == me:
        return me
    if me in admins(store):
        return claimed
    raise IdentityError(f"you act as {me} (your token) in this workspace; acting as "
                        f"{person_key(claimed)} with --as or OPSFLOW_USER is only for its "
                        "admins: leave it out, or log in as that person")


def may_issue(store: Store, person: str) -> None:
    """Refuse (:class:`IdentityError`) a token for ``person`` that this user may not get
    (see the module docstring); ``person`` must be an active person of the directory."""
    found = store.people([person])
    if not found or not found[0].active:
        raise IdentityError(f"'{person}' is not an active person of the people directory; "
                            "add them with `opsflow people add` first")
    if mode(store) == "free":
        return
    me = current(store)
    if me is not None and (me == person or me in admins(store)):
        return
    if me is None and person in admins(store) and not store.has_tokens():
        return  # the first token of the database, for an admin
    raise IdentityError(f"only {person} (with their token) or an admin "
                        f"({', '.join(admins(store)) or 'none are listed in opsflow.toml'}) "
                        f"may get a token for {person}")


def require_admin(store: Store, what: str) -> None:
    """In a ``token`` workspace, refuse ``what`` (e.g. "changing the people directory")
    unless this user's token is an admin's; before the database has any token (while a
    team is being set up) it is allowed."""
    if mode(store) == "free" or not store.has_tokens():
        return
    me = current(store)
    if me is None:
        raise IdentityError(f"{what} needs an admin's token in this workspace; {LOGIN}")
    if me not in admins(store):
        raise IdentityError(f"{what} is for this workspace's admins "
                            f"({', '.join(admins(store)) or 'none listed'}); you are {me}")


def token_id(token: str) -> str | None:
    """The public id part of a token, or ``None`` if it is no opsflow token."""
    parts = token.strip().split("_", 2)
    return parts[1] if len(parts) == 3 and f"{parts[0]}_" == PREFIX else None
