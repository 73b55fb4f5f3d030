"""The single-SOP documents: playbook, RACI chart and diagram source.

Each function takes a built view-model (see :mod:`opsflow.render.viewmodel`)
and returns text; :mod:`opsflow.render` wraps them for callers holding a
model, and :mod:`opsflow.render.site` reuses them for the site's pages and
downloads. Nothing here touches files.
"""

from __future__ import annotations

from typing import Literal, get_args

from ..errors import OpsflowError
from .diagram import DiagramView, dot, mermaid
from .markdown import to_html
from .templates import Raw, render
from .viewmodel import SopView

__all__ = [
    "NO_DOT",
    "PARTS",
    "DiagramFormat",
    "RaciFormat",
    "RenderError",
    "check_format",
    "diagram_source",
    "playbook",
    "playbook_html",
    "playbook_parts",
    "raci",
]

RaciFormat = Literal["md", "csv", "html"]
DiagramFormat = Literal["mermaid", "dot", "svg"]


NO_DOT = ("SVG needs Graphviz's `dot`, which is not installed; install the `graphviz` "
          "package (e.g. `apt-get install graphviz`) or use --format mermaid or dot")


class RenderError(OpsflowError):
    """A request the renderers cannot honour (unknown format, no Graphviz)."""


def check_format(fmt: str, allowed: tuple[str, ...], what: str) -> None:
    if fmt not in allowed:
        raise RenderError(f"unknown {what} format `{fmt}`; use one of: {', '.join(allowed)}")


PARTS = ("intro", "roles", "phases")


def playbook_parts(view: SopView) -> dict[str, str]:
    """The playbook's Markdown parts: ``intro`` (title, summary, the run),
    ``roles`` (roles and run data) and ``phases``."""
    return {part: render(f"playbook/{part}.md", sop=view) for part in PARTS}


def playbook(view: SopView, diagram: DiagramView, parts: dict[str, str] | None = None) -> str:
    """The Markdown playbook (with a Mermaid flowchart), from its parts."""
    parts = parts if parts is not None else playbook_parts(view)
    return render("playbook.md", mermaid=Raw(mermaid(diagram).rstrip("\n")),
                  **{part: Raw(text.rstrip("\n")) for part, text in parts.items()})


def playbook_html(parts: dict[str, str]) -> dict[str, Raw]:
    """The playbook's Markdown parts as HTML (through markdown-it)."""
    return {part: to_html(text) for part, text in parts.items()}


def raci(view: SopView, fmt: str) -> str:
    """The RACI chart as ``md``, ``csv`` or ``html``."""
    check_format(fmt, get_args(RaciFormat), "RACI")
    return render(f"raci.{fmt}", sop=view, raci=view.raci)


def diagram_source(diagram: DiagramView, fmt: str) -> str:
    """Mermaid or DOT source of a diagram."""
    check_format(fmt, ("mermaid", "dot"), "diagram source")
    return mermaid(diagram) if fmt == "mermaid" else dot(diagram)
