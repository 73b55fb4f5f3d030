"""The Jinja2 environments that render the templates in ``renderers/``.

Templates are read through :func:`opsflow.resources.templates_root` (package
data ``opsflow.renderers``), never from the working directory. Every
environment uses ``StrictUndefined`` (a missing variable is an error, not a
blank) and ``keep_trailing_newline``. Each output dialect escapes *every*
printed value by default, chosen by the template's file extension:

* ``.html``: HTML autoescape (markupsafe); pass ``Markup`` for trusted HTML;
* ``.md``: Markdown inline escaping; ``.csv``: CSV field quoting;
  ``.mmd``: Mermaid label escaping; ``.dot``: DOT string escaping.

All dialects run with autoescape on and a ``finalize`` that applies the
dialect's escaper, so macros and ``{% set %}`` blocks (which autoescape
marks as ``Markup``) are not escaped twice. ``Markup`` is the marker for
text already valid in the dialect (e.g. a description's Markdown after the
``md_block`` filter). Templates avoid ``join`` and ``~`` on raw values (they
would HTML-escape): the view-model hands them finished strings.

:func:`template_version` fingerprints the templates and the render code, so a
published site knows when every page must be rebuilt.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jinja2
from markupsafe import Markup

from ..resources import templates_root
from . import escape

__all__ = ["Raw", "render", "template_version"]


#: text already valid in the template's dialect; printed as is
Raw = Markup


_DIALECTS: dict[str, Callable[[str], str]] = {
    "md": escape.md_inline,
    "csv": escape.csv_field,
    "mmd": escape.mermaid_text,
    "dot": escape.dot_text,
}


def _finalizer(escaper: Callable[[str], str]) -> Callable[[Any], Markup]:
    def finalize(value: Any) -> Markup:
        if isinstance(value, Markup):
            return value
        return Markup(escaper(str(value)))

    return finalize


def _load(name: str) -> tuple[str, str, Callable[[], bool]]:
    node: Traversable = templates_root()
    for part in name.split("/"):
        node = node.joinpath(part)
    if not node.is_file():
        raise jinja2.TemplateNotFound(name)
    return node.read_text("utf-8"), name, lambda: True


def _md_html(text: str) -> Markup:
    from .markdown import to_html

    return to_html(text)


def _filters() -> dict[str, Callable[..., Any]]:
    return {"md_cell": lambda text: Raw(escape.md_cell(text)),
            "md_block": lambda text: Raw(escape.markdown_block(text)),
            "md_html": _md_html}


@cache
def _environment(dialect: str) -> jinja2.Environment:
    options: dict[str, Any] = {}
    if dialect != "html":
        options["finalize"] = _finalizer(_DIALECTS[dialect])
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )
    env.filters.update(_filters())
    return env


def render(name: str, **context: Any) -> str:
    """Render template ``name`` (e.g. ``"raci.md"``) with the dialect of its extension."""
    dialect = name.rsplit(".", 1)[-1]
    if dialect not in _DIALECTS and dialect != "html":
        raise ValueError(f"no output dialect for template {name!r}")
    text = _environment(dialect).get_template(name).render(**context)
    return _tidy(text) if dialect == "md" else text


def _tidy(markdown: str) -> str:
    """At most one blank line in a row, one newline at the end."""
    return re.sub(r"\n{3,}", "\n\n", markdown).strip("\n") + "\n"


def _files(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for child in node.iterdir():
        name = prefix + child.name
        if child.is_dir():
            if child.name != "__pycache__":
                found.extend(_files(child, name + "/"))
        elif not child.name.endswith((".pyc", ".pyo")):
            found.append((name, child))
    return found


@cache
def template_version() -> str:
    """A fingerprint of the templates, the render code and the opsflow version."""
    from .. import __version__

    digest = hashlib.sha256(__version__.encode())
    for root in (templates_root(), resources.files("opsflow.render")):
        for name, node in sorted(_files(root), key=lambda item: item[0]):
            digest.update(name.encode() + b"\0" + node.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
