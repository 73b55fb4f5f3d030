"""``opsflow render`` (playbook, raci, diagram) and ``opsflow publish``.

Thin commands over :mod:`opsflow.render`: they load the SOP (an SOP with
errors is refused with the checker's diagnostics, nothing is written), call
one library function and print or write the result. ``--run`` asks the run
engine for the run's state through ``opsflow.run.engine.run_view`` when the
engine provides it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import click

from ..api import load
from ..errors import Diagnostic, SopError
from ..lang.diagnostics import format_text
from ..lang.model import Sop
from ..render import (
    DIAGRAM_FORMATS,
    RACI_FORMATS,
    publish,
    render_diagram,
    render_playbook,
    render_raci,
)
from ..render.files import write_atomic
from ..render.from_run import load_run_view
from .common import format_sop_error
from .db_cmd import database_options

F = TypeVar("F", bound=Callable[..., Any])

#: libraries with fewer SOPs than this publish without a progress bar
PROGRESS_FROM = 20


def _refuse(exc: SopError) -> click.exceptions.Exit:
    """Print every diagnostic of a refused SOP; the caller raises the result."""
    details, summary = format_sop_error(exc)
    click.echo(details, nl=False, err=True)
    click.echo(f"error: nothing was written: {summary}", err=True)
    return click.exceptions.Exit(1)


def _count(errors: list[Diagnostic]) -> str:
    return f"{len(errors)} error" + ("" if len(errors) == 1 else "s")


def _load(path: str, library: str | None) -> Sop:
    try:
        return load(path, library)
    except SopError as exc:
        raise _refuse(exc) from None


def _emit(text: str, output: str | None) -> None:
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    write_atomic(Path(output), text.encode("utf-8"))
    click.echo(f"wrote {output}", err=True)


_OUTPUT = click.option("-o", "--output", metavar="FILE",
                       help="Write to FILE instead of standard output.")
_SOP = click.argument("sop", type=click.Path(dir_okay=False))
_LIBRARY = click.option("--library", metavar="DIR", type=click.Path(file_okay=False),
                        help="A folder of shared .sop files that includes may also come from.")


def _format(choices: tuple[str, ...], help: str) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True, help=help)


@click.group("render")
def render() -> None:
    """Render one SOP as a playbook, a RACI chart or a flow diagram.

    \b
    Examples:
      opsflow render playbook sops/content-publishing.sop -o PLAYBOOK.md
      opsflow render raci sops/content-publishing.sop --format csv
      opsflow render diagram sops/content-publishing.sop --format svg -o flow.svg
    """


@render.command("playbook")
@click.argument("sop", type=click.Path(dir_okay=False), required=False)
@click.option("--run", "run", metavar="RUN", help="Show the state of this run (ticks, votes, "
              "current phase, what is overdue), on the SOP version the run started with.")
@_OUTPUT
@_LIBRARY
@database_options
def playbook(sop: str | None, run: str | None, output: str | None, library: str | None,
             db_url: str | None, workspace: str | None) -> None:
    """Render the Markdown playbook of SOP, or of the SOP a run follows (--run).

    \b
    Examples:
      opsflow render playbook sops/content-publishing.sop -o PLAYBOOK.md
      opsflow render playbook --run 42
    """
    if run:
        try:
            model, view = load_run_view(run, db_url=db_url, workspace=workspace)
        except SopError as exc:
            raise _refuse(exc) from None
    elif sop:
        model, view = _load(sop, library), None
    else:
        raise click.UsageError("name an SOP file, or a run with --run RUN")
    _emit(render_playbook(model, view), output)


@render.command("raci")
@_SOP
@_format(RACI_FORMATS, "Markdown table, CSV for spreadsheets, or an HTML page.")
@_OUTPUT
@_LIBRARY
def raci(sop: str, fmt: str, output: str | None, library: str | None) -> None:
    """Render the RACI chart of SOP: phases by roles, a legend and a RACI check.

    \b
    Example:
      opsflow render raci sops/content-publishing.sop --format csv -o raci.csv
    """
    _emit(render_raci(_load(sop, library), fmt), output)


@render.command("diagram")
@_SOP
@_format(DIAGRAM_FORMATS, "Mermaid or Graphviz DOT source, or SVG (needs `dot`).")
@_OUTPUT
@_LIBRARY
def diagram(sop: str, fmt: str, output: str | None, library: str | None) -> None:
    """Render the flow diagram of SOP.

    \b
    Example:
      opsflow render diagram sops/content-publishing.sop --format dot
    """
    _emit(render_diagram(_load(sop, library), fmt), output)


class _Bars:
    """click progress bars for :func:`opsflow.render.publish`, one per stage."""

    def __init__(self) -> None:
        self.stage = ""
        self.bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < PROGRESS_FROM:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = click.progressbar(length=total, label=stage.ljust(9), file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> _Bars:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


@click.command("publish")
@click.argument("sops", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              metavar="DIR", help="Folder to write the site to (created if needed).")
@click.option("--svg/--no-svg", default=None,
              help="Draw diagrams with Graphviz [default: when `dot` is installed].")
@click.option("--force", is_flag=True,
              help="Publish into a non-empty folder that opsflow did not make (its "
                   "index.html, style.css and pages/ are overwritten).")
@_LIBRARY
def publish_cmd(sops: tuple[str, ...], out: str, svg: bool | None, force: bool,
                library: str | None) -> None:
    """Publish SOPs (files or folders) as a static HTML site.

    Only pages whose source changed are written again. Open DIR/index.html
    in a browser; nothing is loaded from the network. DIR must be new, empty
    or made by an earlier publish (else --force); publish writes only
    inside it and never through a symbolic link.

    \b
    Example:
      opsflow publish sops/ --out site/
    """
    try:
        with _Bars() as bars:
            report = publish(list(sops), out, progress=bars, svg=svg, force=force,
                             library=library)
    except SopError as exc:
        raise _refuse(exc) from None
    if report.warnings:  # skipped files: named, never shown
        click.echo(format_text(report.warnings, {}), nl=False, err=True)
    drawn = ("diagrams drawn with Graphviz" if report.svg else
             "Graphviz `dot` not used: diagrams shown in words (install graphviz to draw them)")
    click.echo(f"published {_plural(report.procedures, 'procedure')} and "
               f"{_plural(report.shared, 'shared file')} to {out}: "
               f"{_plural(len(report.rendered), 'source')} rebuilt, "
               f"{len(report.unchanged)} unchanged, {_plural(len(report.written), 'file')} "
               f"written, {len(report.removed)} removed; {drawn}")
