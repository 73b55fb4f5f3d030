"""What every run command shares: the actor, the phase, the run, the database.

``--as PERSON`` (default ``$OPSFLOW_USER``; neither gives a one-line error
naming the fix), ``--phase``, the ``RUN`` argument, and opening the
:class:`~opsflow.run.engine.Engine` on ``--db``/``--workspace``. Kept apart from
the command modules so that ``opsflow status`` loads only what it needs.

Numbers from the command line are range-checked by :class:`Number` (a run id
fits the database's id column; a criterion number is at most
:data:`MAX_CRITERION`) before any database is opened, and a person's name
may not hold control characters (it would forge lines in ``history``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from ..errors import OpsflowError
from ..run.engine import Engine
from ..store import Store
from .common import UNSAFE, term
from .db_cmd import database_options

__all__ = ["MAX_CRITERION", "MAX_RUN_ID", "USER_ENV", "BadName", "NoActor", "Number",
           "acting", "actor_option", "criterion_argument", "open_engine", "person",
           "phase_option", "reads_a_run", "run_argument"]

F = TypeVar("F", bound=Callable[..., Any])
USER_ENV = "OPSFLOW_USER"
MAX_RUN_ID = 2**31 - 1  # the run id column is a 32-bit integer on PostgreSQL
MAX_CRITERION = 9999


class NoActor(OpsflowError):
    """No ``--as`` and no ``OPSFLOW_USER``."""


class BadName(OpsflowError):
    """A person's name with control characters in it."""


def person(name: str, where: str) -> str:
    """``name`` (stripped), refused if it holds a control character (``where`` says whence)."""
    found = UNSAFE.search(name)
    if found is not None:
        raise BadName(f"the name {term(name)!r} in {where} contains a control character "
                      f"({term(found.group())}); write the name without it")
    return name.strip()


def acting(value: str | None, store: Store | None = None) -> str:
    """Who acts: ``--as`` or ``OPSFLOW_USER``; with the ``store`` of a workspace that
    requires tokens, the person of the user's token (:func:`opsflow.identity.acting_person`
    decides)."""
    actor = (value or os.environ.get(USER_ENV, "")).strip()
    claimed = person(actor, "--as" if value else USER_ENV) if actor else None
    if store is not None:
        from ..identity import acting_person, mode

        if mode(store) == "token":
            return acting_person(store, claimed)
    if claimed is None:
        raise NoActor(f"who is acting? add --as NAME, or set {USER_ENV}=NAME in your shell")
    return claimed


class Number(click.ParamType[Any]):
    """A whole number from 1 to ``maximum``, checked before it reaches the database.

    With ``or_text`` anything that is not all digits passes through as text
    (a criterion is a number or the start of its text).
    """

    name = "integer"

    def __init__(self, what: str, maximum: int, *, or_text: bool = False) -> None:
        self.what = what
        self.maximum = maximum
        self.or_text = or_text

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        text = str(value).strip()
        digits = text.isascii() and text.isdigit()
        if self.or_text and not digits:
            return text
        if digits and len(text) <= len(str(self.maximum)) and 1 <= int(text) <= self.maximum:
            return int(text) if not self.or_text else text
        shown = term(text if len(text) <= 40 else text[:40] + "…")
        self.fail(f"{self.what} is a whole number from 1 to {self.maximum}; {shown!r} is not "
                  "one", param, ctx)


def criterion_argument(function: F) -> F:
    return click.argument("criterion", type=Number("a criterion number", MAX_CRITERION,
                                                   or_text=True))(function)


def actor_option(function: F) -> F:
    return click.option("--as", "actor", metavar="PERSON", default=None,
                        help=f"Who is acting [default: ${USER_ENV}].")(function)


def phase_option(function: F) -> F:
    return click.option("--phase", default=None, metavar="PHASE",
                        help="The phase to act on, when several are active.")(function)


def run_argument(function: F) -> F:
    return click.argument("run_id", metavar="RUN",
                          type=Number("a run id", MAX_RUN_ID))(function)


def reads_a_run(name: str) -> Callable[[F], click.Command]:
    """``@click.command(name)`` with the RUN argument and the database options."""

    def decorate(function: F) -> click.Command:
        return click.command(name)(run_argument(database_options(function)))

    return decorate


@contextmanager
def open_engine(db_url: str | None, workspace: str | None, *,
                create: bool = False) -> Iterator[Engine]:
    """An engine on the workspace's database; only a command that starts runs passes
    ``create`` (reading and acting on runs never create a database)."""
    with Engine.open(db_url, workspace=workspace, create=create) as engine:
        yield engine
