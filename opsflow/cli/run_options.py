"""What every run command shares: the actor, the phase, the run, the database.

``--as PERSON`` (default ``$OPSFLOW_USER``; neither gives a one-line error
naming the fix), ``--phase``, the ``RUN`` argument, and opening the
:class:`~opsflow.run.engine.Engine` on ``--db``/``--workspace``. Kept apart from
the command modules so that ``opsflow status`` loads only what it needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from ..errors import OpsflowError
from ..run.engine import Engine
from .db_cmd import database_options

__all__ = ["USER_ENV", "NoActor", "acting", "actor_option", "open_engine", "phase_option",
           "reads_a_run", "run_argument"]

F = TypeVar("F", bound=Callable[..., Any])
USER_ENV = "OPSFLOW_USER"


class NoActor(OpsflowError):
    """No ``--as`` and no ``OPSFLOW_USER``."""


def acting(value: str | None) -> str:
    actor = (value or os.environ.get(USER_ENV, "")).strip()
    if not actor:
        raise NoActor(f"who is acting? add --as NAME, or set {USER_ENV}=NAME in your shell")
    return actor


def actor_option(function: F) -> F:
    return click.option("--as", "actor", metavar="PERSON", default=None,
                        help=f"Who is acting [default: ${USER_ENV}].")(function)


def phase_option(function: F) -> F:
    return click.option("--phase", default=None, metavar="PHASE",
                        help="The phase to act on, when several are active.")(function)


def run_argument(function: F) -> F:
    return click.argument("run_id", metavar="RUN", type=int)(function)


def reads_a_run(name: str) -> Callable[[F], click.Command]:
    """``@click.command(name)`` with the RUN argument and the database options."""

    def decorate(function: F) -> click.Command:
        return click.command(name)(run_argument(database_options(function)))

    return decorate


@contextmanager
def open_engine(db_url: str | None, workspace: str | None) -> Iterator[Engine]:
    with Engine.open(db_url, workspace=workspace) as engine:
        yield engine
