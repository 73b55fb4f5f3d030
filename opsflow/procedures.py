"""A workspace's procedures: every SOP in its folder, read and checked.

The web app lists them, starts runs of them and shows their playbooks from
here; the folder is the workspace's ``sops`` setting. Nothing is cached: each
call reads the folder as it is now (a team edits its SOPs in git, and a page
must never show a version that is gone), which costs a few milliseconds per
file.

A procedure is named by its ``sop`` id, never by a path a client sent: a
request for an id parses only the files found inside the folder whose header
names that id (:func:`opsflow.lang.loader.find_sop_files` skips links out of it). Shared
files (no ``sop`` header) are not procedures; a file with errors is listed
with its diagnostics and cannot be started.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .api import read_checked
from .errors import Diagnostic, OpsflowError, SopError
from .lang.loader import find_sop_files, read_source
from .lang.model import Sop

__all__ = ["Procedure", "UnknownProcedureError", "catalogue", "procedure"]


class UnknownProcedureError(OpsflowError):
    """No procedure of the workspace has that id, or two files claim it."""


@dataclass(frozen=True)
class Procedure:
    """One ``.sop`` file of the folder with a ``sop`` header (or with errors)."""

    #: the file, relative to the folder, with ``/`` between folders
    path: str
    #: the checked model; ``None`` when the file has errors
    sop: Sop | None
    diagnostics: tuple[Diagnostic, ...] = ()
    #: the texts of the files it includes (pinned with each run started from it)
    files: Mapping[str, str] = field(default_factory=dict)
    #: the id and title the file declares (from the model, else from its path)
    id: str = ""
    title: str = ""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def _read(folder: Path, path: str) -> Procedure | None:
    sop, diagnostics, files = read_checked(path)
    rel = Path(path).relative_to(folder).as_posix()
    if sop is not None and sop.is_library:
        return None
    if sop is None or any(d.is_error for d in diagnostics):
        stem = Path(rel).stem
        return Procedure(rel, None, tuple(diagnostics), {}, sop.id if sop else stem,
                         (sop.title if sop else "") or stem)
    return Procedure(rel, sop, tuple(diagnostics), files, sop.id, sop.title)


def _paths(folder: str | os.PathLike[str]) -> tuple[Path, list[str]]:
    root = Path(folder)
    if not root.is_dir():
        return root, []
    return root, find_sop_files([os.fspath(root)])[0]


def catalogue(folder: str | os.PathLike[str]) -> list[Procedure]:
    """Every procedure in ``folder`` (recursively), by title; shared files left out.
    A missing folder or one without ``.sop`` files gives an empty list."""
    root, paths = _paths(folder)
    found = [p for p in (_read(root, path) for path in paths) if p is not None]
    return sorted(found, key=lambda p: (p.title.casefold(), p.id, p.path))


def _may_declare(path: str, sop_id: str) -> bool:
    """Whether the file at ``path`` may be procedure ``sop_id``: its header names it, or it
    is named after it (a file whose header cannot be read is known by its name). Only
    these are parsed, so finding one procedure does not check every file."""
    if Path(path).stem == sop_id:
        return True
    try:
        text = read_source(path)
    except SopError:
        return False
    return re.search(rf"^[ \t]*sop[ \t]+{re.escape(sop_id)}(?=\s|$)", text, re.M) is not None


def procedure(folder: str | os.PathLike[str], sop_id: str) -> Procedure:
    """The procedure whose ``sop`` id is ``sop_id``; :class:`UnknownProcedureError` when
    none has it or two files do."""
    root, paths = _paths(folder)
    read = (_read(root, path) for path in paths if _may_declare(path, sop_id))
    found = [p for p in read if p is not None and p.id == sop_id]
    if not found:
        raise UnknownProcedureError(f"there is no procedure {sop_id!r} in {folder}; pick one "
                                    "from the list of procedures")
    if len(found) > 1:
        raise UnknownProcedureError(
            f"{len(found)} files declare procedure {sop_id!r} "
            f"({', '.join(p.path for p in found)}); give one of them another id")
    return found[0]
