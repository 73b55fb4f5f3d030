"""The ``opsflow`` command line: a thin shell over the library.

Each command family lives in its own module and is imported only when that
command runs (see :class:`LazyGroup`), so ``opsflow --help`` and
``opsflow status`` start fast. Commands parse arguments, call one library
function and print; library errors (:class:`~opsflow.errors.OpsflowError`)
become one clear message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

#: command name -> ("module:attribute", one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("opsflow.cli.check_cmd:check", "Check .sop files for errors and warnings."),
    "db": ("opsflow.cli.db_cmd:db", "Show or upgrade the database schema."),
    "init": ("opsflow.cli.init_cmd:init", "Make a workspace: opsflow.toml, a database, an "
             "example SOP."),
    "render": ("opsflow.cli.render_cmd:render", "Render a playbook, RACI chart or diagram."),
    "login": ("opsflow.cli.login_cmd:login", "Get a personal token and save it."),
    "logout": ("opsflow.cli.login_cmd:logout", "Revoke this user's token and forget it."),
    "people": ("opsflow.cli.people_cmd:people", "The people directory: add, edit, list, "
               "import, export."),
    "publish": ("opsflow.cli.render_cmd:publish_cmd", "Publish SOPs as a static HTML site."),
    "serve": ("opsflow.cli.serve_cmd:serve", "Serve the team web app."),
    "start": ("opsflow.cli.runs_cmd:start", "Start a run of an SOP."),
    "tick": ("opsflow.cli.runs_cmd:tick", "Tick a done-criterion of a run's phase."),
    "untick": ("opsflow.cli.runs_cmd:untick", "Untick a done-criterion."),
    "approve": ("opsflow.cli.runs_cmd:approve", "Vote to approve the current approval."),
    "reject": ("opsflow.cli.runs_cmd:reject", "Vote to reject (with a reason)."),
    "abstain": ("opsflow.cli.runs_cmd:abstain", "Abstain from the current vote."),
    "handoff": ("opsflow.cli.runs_cmd:handoff", "Hand a phase off to the next one."),
    "fire": ("opsflow.cli.runs_cmd:fire", "Fire a named event of the SOP."),
    "set": ("opsflow.cli.runs_cmd:set_field", "Set a field of a run."),
    "reassign": ("opsflow.cli.runs_cmd:reassign", "Bind a role of a run to other people."),
    "cancel": ("opsflow.cli.runs_cmd:cancel", "Cancel a run."),
    "advance": ("opsflow.cli.runs_cmd:advance", "Move on an approval the votes decided."),
    "status": ("opsflow.cli.runview_cmd:status", "Show a run: phases, checklist, votes, next."),
    "inbox": ("opsflow.cli.runview_cmd:inbox", "Everything waiting on a person, overdue first."),
    "list": ("opsflow.cli.runview_cmd:list_runs", "List runs with filters."),
    "history": ("opsflow.cli.runview_cmd:history", "Every event of a run."),
    "verify": ("opsflow.cli.runview_cmd:verify", "Check a run's event chain and replayed state."),
    "checkpoint": ("opsflow.cli.runview_cmd:checkpoint_cmd",
                   "Sign every run's head into a checkpoint file."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module, _, attr = entry[0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import OpsflowError
        from .common import UserError

        try:
            return super().invoke(ctx)
        except OpsflowError as exc:
            raise UserError(exc) from None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise click.UsageError(f"no such command `{name}`.{hint}", ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opsflow", prog_name="opsflow")
def cli() -> None:
    """opsflow: write, run and publish standard operating procedures.

    \b
    Example:
      opsflow check sops/
    """


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``opsflow`` console script."""
    from .common import run_cli

    return run_cli(cli, argv if argv is not None else sys.argv[1:])
