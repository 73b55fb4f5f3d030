"""Files that ship inside the package: the grammar and the Jinja2 templates.

They live in the top-level ``grammar/`` and ``renderers/`` folders of the
source tree and are installed as the ``opsflow.grammar`` and
``opsflow.renderers`` packages (see ``pyproject.toml``), so they are always
found through :mod:`importlib.resources`, never through the working
directory.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def grammar_text() -> str:
    """The text of the ``.sop`` grammar."""
    return resources.files("opsflow.grammar").joinpath("sop.lark").read_text("utf-8")


def templates_root() -> Traversable:
    """The folder of Jinja2 templates used by the renderers."""
    return resources.files("opsflow.renderers")
