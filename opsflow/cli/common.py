"""Helpers every CLI module shares: error handling and output."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import OpsflowError


class UserError(click.ClickException):
    """An :class:`OpsflowError` on its way out of a command: ``error: …`` and its exit code."""

    def __init__(self, error: OpsflowError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code

    def show(self, file: Any = None) -> None:
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
