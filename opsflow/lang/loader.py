"""Reading ``.sop`` files: bytes → text → model, with includes merged.

This is where file-system problems (missing path, a folder, binary or
non-UTF-8 content, an include that cannot be found or includes itself)
become diagnostics. Parsing is :mod:`opsflow.lang.parser`; meaning is checked
by :mod:`opsflow.lang.checks`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..errors import Diagnostic, SopError
from .model import Event, Field, Include, Role, Sop, Span
from .parser import parse_text

__all__ = ["MAX_BYTES", "find_sop_files", "load_model", "parse_source", "read_source"]

#: files larger than this are refused before parsing (about 40x the
#: largest realistic SOP library file; the 10,000-phase benchmark is ~4 MB)
MAX_BYTES = 64 * 1024 * 1024


def _file_span(path: str) -> Span:
    return Span(path, 1, 1, 1, 1)


def _problem(code: str, message: str, path: str, hint: str, span: Span | None = None) -> SopError:
    return SopError([Diagnostic(code, "error", message, span or _file_span(path), hint)])


def read_source(path: str | os.PathLike[str]) -> str:
    """The text of a ``.sop`` file, or a :class:`SopError` saying why not."""
    name = str(path)
    p = Path(path)
    if not p.exists():
        raise _problem("E100", f"no such file: {name}", name, "check the path and its spelling")
    if p.is_dir():
        raise _problem("E100", f"{name} is a folder, not a .sop file", name,
                       "name a .sop file, or use `opsflow check FOLDER` to check a whole folder")
    if not p.is_file():
        raise _problem("E101", f"{name} is not a regular file", name,
                       "name a .sop text file (not a device, socket or pipe)")
    try:
        with p.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # never more, whatever the file claims
    except OSError as exc:
        raise _problem("E100", f"cannot read {name}: {exc.strerror or exc}", name,
                       "check that the file exists and that you may read it") from None
    if len(data) > MAX_BYTES:
        raise _problem("E101", f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MiB",
                       name, "split the procedure into several files")
    return decode(data, name)


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


def parse_source(text: str, filename: str) -> tuple[Sop | None, list[Diagnostic]]:
    """Parse one file's text and merge its includes; never raises for user mistakes."""
    try:
        sop = parse_text(text, filename)
    except SopError as exc:
        return None, exc.diagnostics
    diagnostics: list[Diagnostic] = []
    sop = _merge_includes(sop, diagnostics, (os.path.abspath(filename),))
    return sop, diagnostics


def load_model(path: str | os.PathLike[str]) -> tuple[Sop | None, list[Diagnostic]]:
    """Read and parse one file; problems come back as diagnostics."""
    try:
        text = read_source(path)
    except SopError as exc:
        return None, exc.diagnostics
    return parse_source(text, str(path))


def _merge_includes(sop: Sop, diagnostics: list[Diagnostic], stack: tuple[str, ...]) -> Sop:
    if not sop.includes:
        return sop
    base = os.path.dirname(os.path.abspath(sop.path)) if sop.path else os.getcwd()
    roles: list[Role] = []
    fields: list[Field] = []
    events: list[Event] = []
    includes: list[Include] = []
    for inc in sop.includes:
        target = os.path.normpath(os.path.join(base, inc.path))
        shown = _display(target, sop.path, inc.path)
        if target in stack:
            diagnostics.append(Diagnostic("E102", "error", f"`{inc.path}` includes itself "
                                          "(directly or through other files)", inc.span,
                                          "remove one of the include lines that form the loop"))
            includes.append(inc)
            continue
        try:
            text = read_source(target)
        except SopError as exc:
            reason = exc.diagnostics[0].message.replace(target, shown)
            diagnostics.append(Diagnostic("E102", "error", f"cannot include `{inc.path}`: {reason}",
                                          inc.span, "the path is relative to the including file"))
            includes.append(inc)
            continue
        try:
            shared = parse_text(text, shown)
        except SopError as exc:
            diagnostics.extend(exc.diagnostics)
            includes.append(dataclasses.replace(inc, resolved=target))
            continue
        shared = _merge_includes(shared, diagnostics, (*stack, target))
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
    return target


def find_sop_files(paths: list[str]) -> tuple[list[str], list[Diagnostic]]:
    """Expand files and folders (recursively) into ``.sop`` files, sorted.

    A missing path or a folder without any ``.sop`` file is a diagnostic.
    """
    files: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*.sop") if f.is_file())
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

