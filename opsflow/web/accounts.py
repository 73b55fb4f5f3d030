"""Local accounts of the web app: Argon2id password hashes (argon2-cffi).

A password is the one secret here that people choose and could guess, so it gets a
slow, salted, memory-hard hash (argon2-cffi's defaults, RFC 9106's second
recommendation); the store keeps only the encoded hash. Only active people of the
directory have accounts.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import OpsflowError

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["AccountError", "TooManyAttempts", "check_password", "set_password", "sign_in"]

MIN_LENGTH = 10
#: at most this many failed sign-ins per person in :data:`WINDOW`; then sign-in is
#: refused, even with the right password, until the window has passed
MAX_FAILURES = 10
WINDOW = dt.timedelta(minutes=15)
_HASHER = PasswordHasher()
#: hashed once at import: verifying against it takes as long as a real check, so a
#: sign-in for an unknown person is not faster (no account discovery by timing)
_DUMMY = _HASHER.hash("opsflow: no such account")


class AccountError(OpsflowError):
    """A password that cannot be set, for a person who cannot have an account."""


class TooManyAttempts(OpsflowError):
    """Too many failed sign-ins for a person in the last :data:`WINDOW`."""


def sign_in(store: Store, person: str, password: str,
            now: dt.datetime | None = None) -> bool:
    """Check a sign-in, limited per person across every process (failures are kept in
    the database): :class:`TooManyAttempts` after :data:`MAX_FAILURES` failures in
    :data:`WINDOW`, else whether the password is right (a failure is recorded)."""
    when = now or dt.datetime.now(dt.UTC)
    if store.signin_failures(person, when - WINDOW) >= MAX_FAILURES:
        raise TooManyAttempts(f"too many failed sign-ins for this name; try again in "
                              f"{WINDOW.seconds // 60} minutes")
    if check_password(store, person, password):
        return True
    store.record_signin_failure(person, when)
    return False


def set_password(store: Store, person: str, password: str) -> None:
    """Give ``person`` (an active person of the directory) the web password ``password``."""
    found = store.people([person])
    if not found or not found[0].active:
        raise AccountError(f"'{person}' is not an active person of the people directory; add "
                           "them with `opsflow people add` first")
    if len(password) < MIN_LENGTH:
        raise AccountError(f"a password needs at least {MIN_LENGTH} characters; choose a "
                           "longer one (a few words are easy to remember)")
    store.set_password_hash(person, _HASHER.hash(password))


def check_password(store: Store, person: str, password: str) -> bool:
    """Whether ``password`` is ``person``'s (and they are an active person)."""
    stored = store.password_hash(person)
    found = store.people([person]) if stored is not None else []
    try:
        _HASHER.verify(stored if stored is not None else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None and bool(found) and found[0].active
