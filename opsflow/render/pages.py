"""The pages of the static site: one per SOP, one per shared file, the index.

Given a view-model and where the page sits in the site (its links, its
downloads, its diagram), render the HTML with the templates in
``renderers/web/``. Paths in the site are POSIX paths relative to the output
folder; links between pages are relative and URL-quoted, so the site works
from any folder or web server, and nothing is loaded from the network.
Choosing what to render and writing files is :mod:`opsflow.render.site`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from urllib.parse import quote

from markupsafe import Markup

from ..lang.model import Sop
from ..resources import templates_root
from .documents import playbook_html, playbook_parts
from .templates import render
from .viewmodel import SopView, build_view

__all__ = [
    "STYLESHEET",
    "IndexEntry",
    "Link",
    "PageInfo",
    "SopParts",
    "flow_dot",
    "href",
    "index_page",
    "library_page",
    "page_base",
    "sop_page",
    "sop_parts",
    "stylesheet",
]

#: the stylesheet every page links to (relative to the site root)
STYLESHEET = "style.css"


@dataclass(frozen=True)
class Link:
    text: str
    href: str = ""  # "" when the target is not part of the site


@dataclass(frozen=True)
class PageInfo:
    """Where a page sits and what it links to."""

    source: str  # the .sop file, relative to the published folder
    path: str  # the page, relative to the site root
    includes: tuple[Link, ...] = ()
    included_by: tuple[Link, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # download kind -> href
    svg: str = ""  # href of the diagram, "" for the text fallback

    @property
    def root(self) -> str:
        """The relative way back to the site root (``""``, ``"../"``, …)."""
        return "../" * self.path.count("/")


@dataclass(frozen=True)
class IndexEntry:
    title: str
    owner: str
    phases: int
    changed: str  # YYYY-MM-DD
    source: str
    href: str


def page_base(source: str) -> str:
    """``shared/roles.sop`` → ``pages/shared/roles`` (add the extension)."""
    stem = source[:-4] if source.endswith(".sop") else source
    return "pages/" + stem


def href(from_page: str, target: str) -> str:
    """A relative, URL-quoted link from one site file to another."""
    return quote(posixpath.relpath(target, posixpath.dirname(from_page) or "."))


def sop_page(view: SopView, info: PageInfo, parts: dict[str, str] | None = None) -> str:
    """The page of one SOP; ``parts``: its playbook's Markdown, if already rendered."""
    html = playbook_html(parts if parts is not None else playbook_parts(view))
    return render("web/sop.html", sop=view, raci=view.raci, page=info, root=info.root, **html)


@dataclass(frozen=True)
class SopParts:
    """One SOP's playbook as HTML fragments, for a page of another site (the web app):
    the same renderers and templates as the published page."""

    view: SopView
    intro: Markup
    roles: Markup
    phases: Markup
    raci: Markup
    #: the flow diagram's DOT source (``opsflow.render.diagram.svg`` draws it)
    dot: str


def flow_dot(sop: Sop, view: SopView | None = None) -> str:
    """The DOT source of a checked SOP's flow diagram, as publish draws it."""
    from . import diagram as dg

    return dg.dot(dg.build_diagram(sop, view if view is not None else build_view(sop)))


def sop_parts(sop: Sop) -> SopParts:
    """:class:`SopParts` of a checked SOP."""
    view = build_view(sop)
    html = playbook_html(playbook_parts(view))
    return SopParts(view, html["intro"], html["roles"], html["phases"],
                    Markup(render("html/raci_table.html", raci=view.raci)),  # autoescaped template
                    flow_dot(sop, view))


def library_page(view: SopView, info: PageInfo) -> str:
    return render("web/library.html", sop=view, page=info, root=info.root)


def index_page(sops: list[IndexEntry], libraries: list[IndexEntry]) -> str:
    return render("web/index.html", sops=sops, libraries=libraries, root="")


def stylesheet() -> str:
    """The site's stylesheet (shipped in ``renderers/web/``)."""
    return templates_root().joinpath("web", STYLESHEET).read_text("utf-8")
