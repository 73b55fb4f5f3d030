"""Reading ``.sop`` files: bytes → text → model, with includes merged.

This is where file-system problems (missing path, a folder, binary or
non-UTF-8 content, a pipe or device, an include that cannot be found,
includes itself, or is refused) become diagnostics. Parsing is
:mod:`opsflow.lang.parser`; meaning is checked by :mod:`opsflow.lang.checks`.

The rules, because a ``.sop`` file (or a pull request adding one) is
untrusted input:

* A file is opened non-blocking and read only if it is a regular file, so a
  pipe or a device named ``x.sop`` never hangs a command.
* An include is a relative path ending in ``.sop``. It resolves against the
  including file and must stay inside a *root*: the folder of the top-level
  file, or the library folder the caller configures (an include not found
  next to its includer is looked up there). Absolute paths, ``..`` out of
  the root and symbolic links to files outside it are refused (E104), as is
  nesting deeper than :data:`MAX_INCLUDE_DEPTH`.
* Each file is read and merged once per load: including a file twice, or
  through two paths, adds its declarations once (so no chain of includes
  can make a load grow exponentially).
* With ``files`` (resolved path → text, e.g. the texts stored with a pinned
  run) includes come from that mapping only; the disk is never touched.
* A folder search does not follow symbolic links out of the folder and
  skips anything that is not a regular ``.sop`` file, each with a warning
  (W100).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Diagnostic, SopError
from .model import Event, Field, Include, Role, Sop, Span
from .parser import parse_text

__all__ = [
    "CODES",
    "MAX_BYTES",
    "MAX_INCLUDE_DEPTH",
    "excerpt_source",
    "find_sop_files",
    "load_model",
    "parse_source",
    "read_source",
]

#: files larger than this are refused before parsing (about 40x the
#: largest realistic SOP library file; the 10,000-phase benchmark is ~4 MB)
MAX_BYTES = 64 * 1024 * 1024

#: how many includes deep a chain may go (a procedure including a shared
#: file that includes another is depth 2)
MAX_INCLUDE_DEPTH = 16

#: codes reported by this module besides the parser's and the checks' own
CODES: dict[str, str] = {
    "E104": "an include that is refused: an absolute path, a path outside the folder, "
            "a file that is not .sop, or nesting deeper than 16",
    "W100": "a symbolic link or special file skipped when searching a folder",
}


def _file_span(path: str) -> Span:
    return Span(path, 1, 1, 1, 1)


def _problem(code: str, message: str, path: str, hint: str, span: Span | None = None) -> SopError:
    return SopError([Diagnostic(code, "error", message, span or _file_span(path), hint)])


def _open_regular(path: str) -> int | None:
    """A read-only descriptor of ``path`` if it is a regular file, else None.

    Opened non-blocking (a pipe never waits for a writer) and checked with
    ``fstat`` on the descriptor itself, so a file swapped after a check is
    still refused.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    if stat.S_ISREG(os.fstat(fd).st_mode):
        return fd
    os.close(fd)
    return None


def _read_fd(fd: int, limit: int) -> bytes:
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def _unreadable(name: str, exc: OSError) -> SopError:
    hint = ("a file or folder name may be at most 255 bytes and a path 4096; shorten it"
            if exc.errno == errno.ENAMETOOLONG else
            "check that the file exists and that you may read it")
    return _problem("E100", f"cannot read {name}: {exc.strerror or exc}", name, hint)


def read_source(path: str | os.PathLike[str]) -> str:
    """The text of a ``.sop`` file, or a :class:`SopError` saying why not."""
    name = str(path)
    try:
        return _read_source(name)
    except OSError as exc:  # a name too long, a folder we may not search, …
        raise _unreadable(name, exc) from None


def _read_source(name: str) -> str:
    p = Path(name)
    if not p.exists():
        raise _problem("E100", f"no such file: {name}", name, "check the path and its spelling")
    if p.is_dir():
        raise _problem("E100", f"{name} is a folder, not a .sop file", name,
                       "name a .sop file, or use `opsflow check FOLDER` to check a whole folder")
    not_regular = _problem("E101", f"{name} is not a regular file", name,
                           "name a .sop text file (not a device, socket or pipe)")
    if not p.is_file():
        raise not_regular
    if not os.path.realpath(name).endswith(".sop"):
        linked = " is a symbolic link to a file that" if p.is_symlink() else ""
        raise _problem("E101", f"{name}{linked} is not a .sop file", name,
                       "opsflow reads only files whose names end in .sop; rename the file")
    try:
        fd = _open_regular(name)
        if fd is None:
            raise not_regular
        data = _read_fd(fd, MAX_BYTES + 1)  # never more, whatever the file claims
    except OSError as exc:
        raise _unreadable(name, exc) from None
    if len(data) > MAX_BYTES:
        raise _problem("E101", f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MiB",
                       name, "split the procedure into several files")
    return decode(data, name)


def excerpt_source(path: str) -> str:
    """The text of ``path`` for showing source lines under a diagnostic, or ``""``.

    Only a regular file whose real name ends in ``.sop`` is read (never a
    secret a symbolic link or a diagnostic points at, never a pipe).
    """
    try:
        if not os.path.realpath(path).endswith(".sop"):
            return ""
        fd = _open_regular(path)
        if fd is None:
            return ""
        return _read_fd(fd, MAX_BYTES).decode("utf-8")
    except (OSError, ValueError):
        return ""


def decode(data: bytes, name: str) -> str:
    """Bytes of a ``.sop`` file → text; binary or non-UTF-8 content is refused."""
    if b"\x00" in data:
        raise _problem("E101", f"{name} is a binary file, not a .sop text file", name,
                       "a .sop file is plain text in UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        span = Span(name, line, column, line, column + 1)
        raise _problem("E101", f"{name} is not valid UTF-8 text (byte 0x{data[exc.start]:02x})",
                       name, "save the file as UTF-8", span) from None
    return text.removeprefix("\ufeff")


@dataclass
class _Load:
    """One load: where includes may come from, and what was read so far."""

    roots: tuple[str, ...]  # absolute, normalised; the top-level file's folder first
    library: str | None  # the library folder as the caller wrote it
    files: Mapping[str, str] | None  # resolved path -> text; None: read the disk
    texts: dict[str, str] = field(default_factory=dict)  # every included file read
    merged: set[str] = field(default_factory=set)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def parse_source(text: str, filename: str, library: str | os.PathLike[str] | None = None,
                 files: Mapping[str, str] | None = None,
                 texts: dict[str, str] | None = None) -> tuple[Sop | None, list[Diagnostic]]:
    """Parse one file's text and merge its includes; never raises for user mistakes.

    ``library``: a second folder includes may come from. ``files``: the texts
    of included files by resolved path (then the disk is not read).
    ``texts``: filled with every included file's text, by resolved path.
    """
    try:
        sop = parse_text(text, filename)
    except SopError as exc:
        return None, exc.diagnostics
    top = os.path.abspath(filename)
    roots = [os.path.dirname(top)]
    shown_library = os.fspath(library) if library is not None else None
    if shown_library is not None:
        roots.append(os.path.abspath(shown_library))
    load = _Load(tuple(roots), shown_library, dict(files) if files is not None else None)
    diagnostics: list[Diagnostic] = []
    sop = _merge_includes(sop, top, diagnostics, (top,), load)
    if texts is not None:
        texts.update(load.texts)
    return sop, diagnostics


def load_model(path: str | os.PathLike[str], library: str | os.PathLike[str] | None = None
               ) -> tuple[Sop | None, list[Diagnostic]]:
    """Read and parse one file; problems come back as diagnostics."""
    try:
        text = read_source(path)
    except SopError as exc:
        return None, exc.diagnostics
    return parse_source(text, str(path), library)


def _refuse(inc: Include, message: str, hint: str) -> Diagnostic:
    return Diagnostic("E104", "error", f"cannot include `{inc.path}`: {message}", inc.span, hint)


def _resolve(inc: Include, including: str, shown_by: str, load: _Load
             ) -> tuple[str, str] | Diagnostic:
    """``(resolved path, name shown in messages)`` of an include, or why it is refused."""
    written = inc.path
    folders = " or ".join(load.roots)
    if "\x00" in written or os.path.isabs(written) or written.startswith("~"):
        return _refuse(inc, "an include must be a path relative to the including file",
                       f"write the path relative to the including file, inside {folders}")
    if not written.endswith(".sop"):
        return _refuse(inc, "only .sop files can be included",
                       "put the shared roles, fields and events in a file whose name "
                       "ends in .sop")
    candidates = [(os.path.normpath(os.path.join(os.path.dirname(including), written)),
                   _display(os.path.join(os.path.dirname(including), written), shown_by, written))]
    if load.library is not None:
        candidates.append((os.path.normpath(os.path.join(load.roots[-1], written)),
                           os.path.normpath(os.path.join(load.library, written))))
    inside = [(target, shown, root) for target, shown in candidates for root in load.roots
              if _inside(target, root)]
    if not inside:
        return _refuse(inc, f"the path leads outside {folders}",
                       f"include only files inside {folders}"
                       + ("" if load.library else " (or name a library folder with --library)"))
    found = [c for c in inside if _exists(c[0], load)]
    target, shown, root = (found or inside)[0]
    if load.files is None and found:
        real = os.path.realpath(target)
        if not (_inside(real, os.path.realpath(root)) and real.endswith(".sop")):
            return _refuse(inc, f"{shown} is a symbolic link to a file outside {root}",
                           "copy the shared file into the folder instead of linking to it")
    return target, shown


def _exists(target: str, load: _Load) -> bool:
    if load.files is not None:
        return target in load.files
    return os.path.lexists(target)


def _read_include(target: str, shown: str, load: _Load) -> str:
    """The text of an included file (read once per load), or a :class:`SopError`."""
    if target in load.texts:
        return load.texts[target]
    if load.files is not None:
        if target not in load.files:
            raise _problem("E102", f"{shown} is not among the stored files", shown,
                           "the texts stored with this SOP version do not include it")
        text = load.files[target]
    else:
        try:
            text = read_source(target)
        except SopError as exc:
            raise _problem("E102", exc.diagnostics[0].message.replace(target, shown), shown,
                           "the path is relative to the including file") from None
    load.texts[target] = text
    return text


def _merge_includes(sop: Sop, including: str, diagnostics: list[Diagnostic],
                    stack: tuple[str, ...], load: _Load) -> Sop:
    if not sop.includes:
        return sop
    roles: list[Role] = []
    fields: list[Field] = []
    events: list[Event] = []
    includes: list[Include] = []
    for inc in sop.includes:
        resolved = _resolve(inc, including, sop.path, load)
        if isinstance(resolved, Diagnostic):
            diagnostics.append(resolved)
            includes.append(inc)
            continue
        target, shown = resolved
        if target in stack:
            diagnostics.append(Diagnostic("E102", "error", f"`{inc.path}` includes itself "
                                          "(directly or through other files)", inc.span,
                                          "remove one of the include lines that form the loop"))
            includes.append(inc)
            continue
        if len(stack) > MAX_INCLUDE_DEPTH:
            diagnostics.append(_refuse(inc, f"includes are nested more than {MAX_INCLUDE_DEPTH} "
                                       "files deep", "include the shared files directly from "
                                       "the procedure instead of through a long chain"))
            includes.append(inc)
            continue
        if target in load.merged:  # already merged in this load: its declarations count once
            includes.append(dataclasses.replace(inc, resolved=target))
            continue
        try:
            text = _read_include(target, shown, load)
        except SopError as exc:
            message = exc.diagnostics[0].message
            diagnostics.append(Diagnostic("E102", "error", f"cannot include `{inc.path}`: "
                                          f"{message}", inc.span, exc.diagnostics[0].hint))
            includes.append(inc)
            continue
        load.merged.add(target)
        try:
            shared = parse_text(text, shown)
        except SopError as exc:
            diagnostics.extend(exc.diagnostics)
            includes.append(dataclasses.replace(inc, resolved=target))
            continue
        shared = _merge_includes(shared, target, diagnostics, (*stack, target), load)
        if shared.phases:
            diagnostics.append(Diagnostic("E103", "error", f"`{inc.path}` has phases; an included "
                                          "file may only declare roles, fields and events",
                                          inc.span,
                                          "move the shared roles into a file of their own"))
        roles.extend(shared.roles)
        fields.extend(shared.fields)
        events.extend(shared.events)
        includes.append(dataclasses.replace(inc, resolved=target))
    return dataclasses.replace(
        sop,
        roles=tuple(roles) + sop.roles,
        fields=tuple(fields) + sop.fields,
        events=tuple(events) + sop.events,
        includes=tuple(includes),
    )


def _display(target: str, including: str, written: str) -> str:
    """How an included file is named in messages: relative like its includer."""
    if including and not os.path.isabs(including):
        return os.path.normpath(os.path.join(os.path.dirname(including), written))
    return os.path.normpath(target)


def _skipped(path: str, why: str) -> Diagnostic:
    return Diagnostic("W100", "warning", f"skipped {path}: {why}", _file_span(path),
                      "opsflow reads only regular .sop files inside the folder it is given; "
                      "copy the file into the folder instead of linking to it")


def _search(folder: str) -> tuple[list[str], list[Diagnostic]]:
    """The regular ``.sop`` files under ``folder``, never leaving it."""
    root = os.path.realpath(folder)
    found: list[str] = []
    skipped: list[Diagnostic] = []
    for dirpath, dirnames, filenames in os.walk(folder):  # symlinked folders are not entered
        for name in sorted(dirnames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) and not _inside(os.path.realpath(path), root):
                skipped.append(_skipped(str(Path(path)), "a symbolic link to a folder outside "
                                        f"{folder}"))
        for name in filenames:
            if not name.endswith(".sop"):
                continue
            path = str(Path(dirpath, name))
            real = os.path.realpath(path)
            if os.path.islink(path) and not (_inside(real, root) and real.endswith(".sop")):
                skipped.append(_skipped(path, f"a symbolic link to a file outside {folder}"))
            elif not os.path.isfile(path):
                skipped.append(_skipped(path, "not a regular file"))
            else:
                found.append(path)
    return sorted(found), skipped


def find_sop_files(paths: list[str]) -> tuple[list[str], list[Diagnostic]]:
    """Expand files and folders (recursively) into ``.sop`` files, sorted.

    A missing path or a folder without any ``.sop`` file is an error; a link
    out of a folder, or a pipe or device named ``*.sop`` in it, is skipped
    with a warning.
    """
    files: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        p = Path(raw)
        try:
            p.lstat()
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                problems.extend(_unreadable(raw, exc).diagnostics)
                continue
        if p.is_dir():
            found, skipped = _search(raw)
            problems.extend(skipped)
            if not found:
                problems.append(Diagnostic("E100", "error", f"no .sop files in {raw}",
                                           _file_span(raw),
                                           "point at a folder that holds .sop files"))
            files.extend(found)
        elif p.exists():
            files.append(raw)
        else:
            problems.append(Diagnostic("E100", "error", f"no such file or folder: {raw}",
                                       _file_span(raw), "check the path and its spelling"))
    return list(dict.fromkeys(files)), problems
