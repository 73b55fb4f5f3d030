"""Checking a database URL before anything connects with it.

:func:`parse` turns the text a user gave (``--db`` or ``OPSFLOW_DATABASE_URL``)
into a SQLAlchemy :class:`~sqlalchemy.engine.URL`, or raises one
:class:`~opsflow.store.errors.DatabaseUnavailableError` naming the problem and
the fix. The rules:

* no control characters anywhere (a NUL byte would cut the path short in the
  driver; a newline would forge lines in messages), also none hidden as
  ``%00`` in the decoded parts;
* the host, if given, is a valid host name (the resolver would fail on it
  with an encoding error); the port is a number from 1 to 65535;
* a SQLite URL takes no ``?options``: opsflow sets SQLite's connection
  settings itself (:mod:`opsflow.store.database`), and the driver would
  otherwise fail on a bad ``timeout`` or silently ignore an unknown name;
* a PostgreSQL URL takes only libpq connection parameters
  (:data:`PG_OPTIONS`), each once; numeric ones must be whole numbers and the
  ones with a fixed set of values must be one of them.

Messages show the URL with its password masked, even when the URL cannot be
parsed. This module does not connect, and knows nothing of the schema.
"""

from __future__ import annotations

import re

from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url

from .errors import DatabaseUnavailableError

__all__ = ["PG_OPTIONS", "mask", "parse"]

#: libpq connection parameters a PostgreSQL URL may carry (those the URL's own
#: parts do not already say), with their allowed values where they are a fixed set
PG_CHOICES: dict[str, tuple[str, ...]] = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "target_session_attrs": (
        "any", "read-write", "read-only", "primary", "standby", "prefer-standby"
    ),
    "load_balance_hosts": ("disable", "random"),
}
PG_NUMBERS = (
    "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "port",
)
PG_TEXT = (
    "host", "hostaddr", "passfile", "options", "application_name",
    "fallback_application_name", "client_encoding", "sslcert", "sslkey", "sslpassword",
    "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "sslcertmode", "requirepeer",
    "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib",
    "service", "require_auth",
)
PG_OPTIONS = frozenset((*PG_CHOICES, *PG_NUMBERS, *PG_TEXT))
MAX_NUMBER_DIGITS = 9  # a timeout in seconds or a count; more digits is a mistake

EXAMPLES = "postgresql+psycopg://user@host:5432/dbname or sqlite:///path/to/opsflow.db"
# C0 and C1 controls and DEL: never part of a URL, a path or a host name
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PASSWORD = re.compile(r"(//[^/@:]*):[^/@]*@")


def mask(url: str) -> str:
    """``url`` with a password (``//user:password@``) masked, without parsing it."""
    return PASSWORD.sub(r"\1:***@", url)


def _refuse(problem: str, fix: str) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(f"{problem}; {fix}")


def _control(text: str) -> str | None:
    """The first control character in ``text``, written visibly (``\\x00``), if any."""
    found = CONTROL.search(text)
    return None if found is None else f"\\x{ord(found.group()):02x}"


def parse(url: str) -> URL:
    """The parsed ``url``, or a :class:`DatabaseUnavailableError` (see the module docstring)."""
    bad = _control(url)
    if bad is not None:
        raise _refuse(
            f"the database URL contains a control character ({bad})",
            "remove it from --db or OPSFLOW_DATABASE_URL",
        )
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError):
        shown = mask(url)
        port = re.search(r"@[^/?]*:([^/?]*)", shown)
        if port is not None and not port.group(1).isdigit():
            raise _refuse(
                f"the port in the database URL {shown} is not a number",
                "write it as digits, e.g. host:5432",
            ) from None
        raise _refuse(f"{shown!r} is not a database URL", f"use e.g. {EXAMPLES}") from None
    # messages show the URL without its options: one of them may be a secret
    shown = parsed.set(query={}).render_as_string(hide_password=True)
    parts = [parsed.database or "", parsed.host or "", parsed.username or ""]
    parts += [f"{key}={value}" for key, value in _pairs(parsed)]
    for part in parts:
        bad = _control(part)
        if bad is not None:
            raise _refuse(
                f"the database URL contains an encoded control character ({bad})",
                "remove it from --db or OPSFLOW_DATABASE_URL",
            )
    if parsed.host:
        try:
            parsed.host.encode("idna")
        except UnicodeError:
            raise _refuse(
                f"the host in the database URL {shown} is not a valid host name",
                "check the part between @ and the port or the /",
            ) from None
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise _refuse(
            f"the port {parsed.port} in the database URL {shown} is out of range",
            "use a port from 1 to 65535, e.g. 5432",
        )
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.query:
        names = ", ".join(sorted(parsed.query))
        raise _refuse(
            f"the SQLite database URL {shown} has options ({names}) and opsflow sets "
            "SQLite's connection settings itself",
            "remove everything from the ? on",
        )
    if backend == "postgresql":
        _check_pg_options(parsed, shown)
    return parsed


def _pairs(parsed: URL) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in parsed.query.items():
        values = (value,) if isinstance(value, str) else tuple(value)
        pairs += [(key, item) for item in values]
    return pairs


def _check_pg_options(parsed: URL, shown: str) -> None:
    seen: set[str] = set()
    for key, value in _pairs(parsed):
        if key == "password":
            raise _refuse(
                f"the database URL {shown} has a password option",
                "put the password in the URL (user:password@host) or in ~/.pgpass",
            )
        if key not in PG_OPTIONS:
            raise _refuse(
                f"the database URL {shown} has an unknown option {key!r}",
                "remove it, or use a PostgreSQL connection parameter such as sslmode, "
                "connect_timeout or options",
            )
        if key in seen:
            raise _refuse(
                f"the database URL {shown} gives the option {key!r} twice",
                "keep one of them",
            )
        seen.add(key)
        choices = PG_CHOICES.get(key)
        if choices is not None and value not in choices:
            raise _refuse(
                f"the value of option {key} in the database URL {shown} is not valid",
                f"use one of {', '.join(choices)}",
            )
        if key in PG_NUMBERS and not (value.isascii() and value.isdigit()
                                      and len(value) <= MAX_NUMBER_DIGITS):
            raise _refuse(
                f"the value of option {key} in the database URL {shown} is not a number",
                f"write {key} as whole digits, e.g. {key}=10",
            )
