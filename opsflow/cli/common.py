"""Helpers every CLI module shares: error handling and output.

Everything the CLI prints that came from a user (names, titles, comments,
field values, reasons, and the text of library errors, which quote them)
goes through :func:`term` (or :func:`clean` for a whole structure), so that a
newline cannot forge a line of output and an escape sequence never reaches
the terminal. This module does not decide what is printed, only how safely.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import sys
from typing import Any, TypeVar

import click

from ..errors import OpsflowError, SopError
from ..lang.diagnostics import format_text
from .words import cli_message

T = TypeVar("T")

#: C0 and C1 controls, DEL, line and paragraph separators, and the bidi controls
#: (embeddings, overrides, isolates, marks) that reorder how a line reads
BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_AND_SEPARATORS}]")
UNSAFE_BUT_TAB = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{BIDI_AND_SEPARATORS}]")
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def term(text: object) -> str:
    """``text`` safe for a terminal line: controls and bidi marks shown as ``\\n``, ``\\x1b``…"""
    return UNSAFE.sub(_visible, str(text))


def term_lines(text: str) -> str:
    """A multi-line text of our own (e.g. diagnostics) with every line made safe.

    Its own line breaks and tabs stay; everything else :func:`term` neutralises.
    """
    return "\n".join(UNSAFE_BUT_TAB.sub(_visible, line) for line in text.split("\n"))


def clean(value: T) -> T:
    """``value`` with :func:`term` applied to every string in it.

    Walks named tuples, dataclasses, lists, tuples and dicts (keys too), for
    a structure a renderer will print; other values are returned as they are.
    """
    result: Any
    if isinstance(value, enum.Enum):
        result = value
    elif isinstance(value, str):
        result = term(value)
    elif isinstance(value, tuple) and hasattr(value, "_fields"):
        named: Any = type(value)
        result = named._make(clean(item) for item in value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: clean(getattr(value, f.name))
                   for f in dataclasses.fields(value) if f.init}
        result = dataclasses.replace(value, **changes)
    elif isinstance(value, list | tuple):
        result = type(value)(clean(item) for item in value)
    elif isinstance(value, dict):
        result = {clean(key): clean(item) for key, item in value.items()}
    else:
        result = value
    return result  # type: ignore[no-any-return]


def format_sop_error(exc: SopError) -> tuple[str, str]:
    """Every diagnostic of a refused SOP (with source excerpts), and a one-line summary."""
    from ..lang.loader import excerpt_source  # reads .sop files only, never blocks on a pipe

    sources: dict[str, str] = {}
    for diag in exc.diagnostics:
        if diag.span.file not in sources:
            sources[diag.span.file] = excerpt_source(diag.span.file)  # .sop files only
    errors = [d for d in exc.diagnostics if d.is_error]
    files = ", ".join(sorted({d.span.file for d in errors}))
    count = f"{len(errors)} error{'' if len(errors) == 1 else 's'}"
    summary = (f"{count} in {files}; fix them (`opsflow check` lists them) "
               "and run the command again")
    return format_text(exc.diagnostics, sources), summary


class UserError(click.ClickException):
    """An :class:`OpsflowError` on its way out of a command: ``error: …`` and its exit code.

    A :class:`SopError` shows every diagnostic first, like ``opsflow check``.
    """

    exit_code = OpsflowError.exit_code

    def __init__(self, error: OpsflowError) -> None:
        details, message = format_sop_error(error) if isinstance(error, SopError) else ("", "")
        super().__init__(term(message or cli_message(error)))
        self.details = term_lines(details)

    def show(self, file: Any = None) -> None:
        if self.details:
            click.echo(self.details, nl=False, err=True, file=file)
        click.echo(f"error: {self.format_message()}", err=True, file=file)


def run_cli(group: click.Group, argv: list[str]) -> Any:
    """Run the click group; turn opsflow errors into a message and exit code."""
    try:
        result = group.main(args=argv, prog_name="opsflow", standalone_mode=False)
        # without standalone mode click returns the code of `Exit(code)` instead of exiting
        if isinstance(result, int) and result:
            sys.exit(result)
        return result
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except OpsflowError as exc:
        click.echo(f"error: {term(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
