"""Publishing SOPs: Markdown playbooks, RACI charts, diagrams and a static site.

The public functions of the render stage. Each takes a checked
:class:`~opsflow.lang.model.Sop` (from :func:`opsflow.load`), builds the
view-model (:mod:`.viewmodel`) and renders it through the Jinja2 templates in
``renderers/``:

* :func:`render_playbook` — the Markdown playbook, optionally for a run
  (a :class:`RunView`, filled by the run engine);
* :func:`render_raci` — the RACI chart as ``md``, ``csv`` or ``html``;
* :func:`render_diagram` — ``mermaid`` or ``dot`` source, or ``svg`` via
  Graphviz;
* :func:`publish` — a static HTML site of many SOPs, rebuilt incrementally.

Nothing here prints; errors are :class:`~opsflow.errors.OpsflowError`.
"""

from __future__ import annotations

from ..lang.model import Sop
from . import diagram as _diagram
from . import documents as _documents
from .documents import RenderError
from .files import PublishError
from .runview import PhaseRun, RunView, Vote
from .site import Progress, PublishReport, publish
from .viewmodel import build_view

__all__ = [
    "DIAGRAM_FORMATS",
    "RACI_FORMATS",
    "PhaseRun",
    "Progress",
    "PublishError",
    "PublishReport",
    "RenderError",
    "RunView",
    "Vote",
    "build_view",
    "publish",
    "render_diagram",
    "render_playbook",
    "render_raci",
]

RACI_FORMATS = ("md", "csv", "html")
DIAGRAM_FORMATS = ("mermaid", "dot", "svg")


def _procedure(sop: Sop) -> Sop:
    if sop.is_library:
        raise RenderError(f"{sop.path} is a shared file (no `sop` header), not a procedure; "
                          "render one of the procedures that include it")
    return sop


def render_playbook(sop: Sop, run: RunView | None = None) -> str:
    """The Markdown playbook of ``sop`` (with ``run``'s state when given)."""
    view = build_view(_procedure(sop), run)
    return _documents.playbook(view, _diagram.build_diagram(sop, view))


def render_raci(sop: Sop, fmt: str = "md") -> str:
    """The RACI chart of ``sop`` as ``md``, ``csv`` or ``html``."""
    _documents.check_format(fmt, RACI_FORMATS, "RACI")
    return _documents.raci(build_view(_procedure(sop)), fmt)


def render_diagram(sop: Sop, fmt: str = "mermaid") -> str:
    """The flow diagram as ``mermaid`` or ``dot`` source, or ``svg`` (needs Graphviz)."""
    _documents.check_format(fmt, DIAGRAM_FORMATS, "diagram")
    view = build_view(_procedure(sop))
    drawing = _diagram.build_diagram(sop, view)
    if fmt != "svg":
        return _documents.diagram_source(drawing, fmt)
    svg = _diagram.svg(_diagram.dot(drawing))
    if svg is None:
        raise RenderError(_documents.NO_DOT if not _diagram.dot_available() else
                          "Graphviz's `dot` failed to draw the diagram; use --format dot "
                          "and run `dot -Tsvg` yourself to see its message")
    return svg
