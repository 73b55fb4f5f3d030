"""Markdown → HTML, only through markdown-it-py.

One configured parser: CommonMark with GitHub tables, task lists
(``- [ ]``/``- [x]`` become disabled checkboxes) and heading anchors. Raw HTML
is *not* passed through (``html=False``): ``<script>`` in a description shows
as text. Links keep markdown-it's safe-URL check (no ``javascript:``).
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

__all__ = ["parser", "to_html"]


@cache
def parser() -> MarkdownIt:
    """The shared markdown-it parser (tables, task lists, anchors; no raw HTML)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    # label=True: each checkbox is labelled by its text (screen readers say what it is)
    md.use(tasklists_plugin, label=True).use(anchors_plugin, min_level=2, max_level=3)
    return md


def to_html(markdown: str) -> Markup:
    """Markdown text as HTML, safe to embed in an autoescaped template."""
    return Markup(parser().render(markdown))
