"""The public entry points for reading and checking SOPs.

``load``/``loads`` give a checked model or raise :class:`SopError` with every
error in the file; ``check_paths`` checks files and folders and returns all
diagnostics (errors and warnings) without raising, for the CLI and editors.
``load_with_files`` also returns the texts of every included file, so that
``loads(sop.source, sop.path, files=texts)`` rebuilds the same model later
without reading the disk (a pinned run's SOP version).

Where includes may come from (the file's own folder, an optional
``library`` folder) and what is refused: :mod:`opsflow.lang.loader`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from .errors import ArgumentError, Diagnostic, SopError
from .lang.checks import run_checks
from .lang.loader import find_sop_files, parse_source, read_source
from .lang.model import Sop

__all__ = ["CheckReport", "check_paths", "check_text", "load", "load_with_files", "loads",
           "read_checked"]

Library = str | os.PathLike[str] | None


@contextmanager
def _paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is parsed and checked.

    Parsing allocates hundreds of thousands of small objects that all stay
    alive; with the collector on, its full passes make the time grow faster
    than the file (measured: 10x the phases took 12-15x the time; paused,
    9-10x). Nothing here creates reference cycles that must be freed early.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _typed(value: object, name: str, *, path: bool = False, optional: bool = False) -> None:
    """Refuse an argument of the wrong type with one clear error (never coerce it)."""
    if optional and value is None:
        return
    if isinstance(value, str) or (path and isinstance(value, os.PathLike)):
        return
    wanted = "a path (a str or an os.PathLike)" if path else "a str"
    raise ArgumentError(f"{name} must be {wanted}, not {type(value).__name__}")


def _read(text: str, filename: str, library: Library = None,
          files: Mapping[str, str] | None = None, texts: dict[str, str] | None = None
          ) -> tuple[Sop | None, list[Diagnostic]]:
    with _paused_gc():
        sop, diagnostics = parse_source(text, filename, library, files, texts)
        if sop is not None:
            diagnostics += run_checks(sop)
    return sop, diagnostics


def _raise_on_errors(sop: Sop | None, diagnostics: list[Diagnostic]) -> Sop:
    if sop is None or any(d.is_error for d in diagnostics):
        raise SopError(diagnostics)
    return sop


def loads(text: str, filename: str = "<text>", library: Library = None,
          files: Mapping[str, str] | None = None) -> Sop:
    """Parse and check SOP text; includes resolve relative to ``filename``.

    ``library``: a folder includes may also come from. ``files``: the texts of
    the included files by resolved path (as :func:`load_with_files` returns
    them); given, includes are taken from it and never from the disk.
    Returns the model, or raises :class:`SopError` listing every error (an argument of
    the wrong type: :class:`ArgumentError`).
    """
    _typed(text, "text")
    _typed(filename, "filename")
    _typed(library, "library", path=True, optional=True)
    return _raise_on_errors(*_read(text, filename, library, files))


def load(path: str | os.PathLike[str], library: Library = None) -> Sop:
    """Read, parse and check one ``.sop`` file (see :func:`loads`)."""
    return load_with_files(path, library)[0]


def load_with_files(path: str | os.PathLike[str], library: Library = None
                    ) -> tuple[Sop, dict[str, str]]:
    """:func:`load`, and the text of every file it included, by resolved path."""
    _typed(path, "path", path=True)
    _typed(library, "library", path=True, optional=True)
    try:
        text = read_source(path)
    except SopError as exc:
        raise SopError(exc.diagnostics) from None
    texts: dict[str, str] = {}
    sop = _raise_on_errors(*_read(text, str(path), library, None, texts))
    return sop, texts


def read_checked(path: str | os.PathLike[str], library: Library = None
                 ) -> tuple[Sop | None, list[Diagnostic], dict[str, str]]:
    """Read and check one file without raising for what is wrong in it: the model
    (``None`` when it could not be parsed; it may still have errors), every
    diagnostic, sorted, and the texts of the files it included."""
    _typed(path, "path", path=True)
    _typed(library, "library", path=True, optional=True)
    try:
        text = read_source(path)
    except SopError as exc:
        return None, list(exc.diagnostics), {}
    texts: dict[str, str] = {}
    sop, diagnostics = _read(text, str(path), library, None, texts)
    return sop, sorted(diagnostics, key=Diagnostic.sort_key), texts


def check_text(text: str, filename: str = "<text>", library: Library = None) -> list[Diagnostic]:
    """Every diagnostic (errors and warnings) for one file's text."""
    _typed(text, "text")
    _typed(filename, "filename")
    _typed(library, "library", path=True, optional=True)
    return sorted(_read(text, filename, library)[1], key=Diagnostic.sort_key)


@dataclass
class CheckReport:
    """What ``opsflow check`` found: the files read and every diagnostic."""

    files: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]


def check_paths(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                library: Library = None) -> CheckReport:
    """Check files and folders (recursively): one path or a list of them; never raises
    for user mistakes (an argument of the wrong type: :class:`ArgumentError`).

    ``sources`` holds the text of each file checked whose real name ends in
    ``.sop`` (others are checked but their lines are never shown).
    """
    given = [paths] if isinstance(paths, str | os.PathLike) else paths
    if not isinstance(given, list | tuple):
        raise ArgumentError(f"paths must be a path or a list of paths, not "
                            f"{type(paths).__name__}")
    for item in given:
        _typed(item, "each of paths", path=True)
    _typed(library, "library", path=True, optional=True)
    files, problems = find_sop_files([os.fspath(p) for p in given])
    report = CheckReport(files=files, diagnostics=list(problems))
    for path in files:
        try:
            text = read_source(path)
        except SopError as exc:
            report.diagnostics.extend(exc.diagnostics)
            continue
        if os.path.realpath(path).endswith(".sop"):
            report.sources[path] = text
        report.diagnostics.extend(_read(text, path, library)[1])
    report.diagnostics.sort(key=Diagnostic.sort_key)
    return report
