"""Helpers every CLI module shares: error handling and output."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import OpsflowError, SopError
from ..lang.diagnostics import format_text
from .words import cli_message


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
        super().__init__(message or cli_message(error))
        self.details = details

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
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
