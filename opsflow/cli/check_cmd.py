"""``opsflow check``: check .sop files and folders, print diagnostics."""

from __future__ import annotations

import click

from ..api import check_paths
from ..lang.checks import CODES
from ..lang.diagnostics import format_json, format_text, summary_line
from ..lang.loader import CODES as LOADER_CODES
from .common import term_lines


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people (text) or for editors and CI (json).",
)
@click.option("--codes", is_flag=True, help="List every check code and what it means.")
@click.option("--library", metavar="DIR", type=click.Path(file_okay=False),
              help="A folder of shared .sop files that includes may also come from.")
def check(paths: tuple[str, ...], strict: bool, fmt: str, codes: bool,
          library: str | None) -> None:
    """Check .sop files (folders are searched recursively).

    Exits 0 when there are no errors, 1 when there are (with --strict,
    warnings count as errors).

    \b
    Examples:
      opsflow check sops/
      opsflow check --strict --format json sops/purchase-request.sop
      opsflow check --library sops/shared sops/
    """
    if codes:
        every = {**CODES, **LOADER_CODES}
        for code in sorted(every):
            click.echo(f"{code}  {every[code]}")
        return
    if not paths:
        raise click.UsageError("name at least one .sop file or folder, e.g. `opsflow check sops/`")
    report = check_paths(list(paths), library)
    if fmt == "json":
        click.echo(format_json(report.files, report.diagnostics))
    else:
        click.echo(term_lines(format_text(report.diagnostics, report.sources)), nl=False)
        click.echo(summary_line(len(report.files), len(report.errors), len(report.warnings)))
    failed = bool(report.errors) or (strict and bool(report.warnings))
    if failed:
        raise click.exceptions.Exit(1)
