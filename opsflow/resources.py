"""Files that ship inside the package: the grammar and the Jinja2 templates.

They live in the top-level ``grammar/`` and ``renderers/`` folders of the
source tree and are installed as the ``opsflow.grammar`` and
``opsflow.renderers`` packages (see ``pyproject.toml``), so they are found
through :mod:`importlib.resources`, never through the working directory.
When ``opsflow`` is imported from a source checkout (say, ``python -m
pytest`` in the checkout after a plain ``pip install .``: the checkout's
``opsflow/`` shadows the installed copy and has no ``grammar`` inside it),
the folders beside the package in that checkout are used instead.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["grammar_text", "templates_root"]


def _shipped(package: str, folder: str) -> Traversable:
    try:
        return resources.files(package)
    except ModuleNotFoundError:
        source = Path(__file__).resolve().parent.parent / folder
        if not source.is_dir():
            raise
        return source


def grammar_text() -> str:
    """The text of the ``.sop`` grammar."""
    return _shipped("opsflow.grammar", "grammar").joinpath("sop.lark").read_text("utf-8")


def templates_root() -> Traversable:
    """The folder of Jinja2 templates used by the renderers."""
    return _shipped("opsflow.renderers", "renderers")
