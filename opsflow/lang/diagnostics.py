"""Turning diagnostics into text for people and JSON for tools.

The text form is the one compilers use::

    sops/x.sop:12:9: error[E210]: unknown role `wirter` in phase `draft`
       12 |   owner wirter
          |         ^^^^^^
          = hint: did you mean `writer`?

This module only formats; finding problems is :mod:`opsflow.lang.checks`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..errors import Diagnostic

__all__ = ["format_diagnostic", "format_json", "format_text", "summary_line"]

#: source lines longer than this are cut around the caret
_MAX_SHOWN = 120


def _source_excerpt(line_text: str, column: int, end_column: int) -> tuple[str, int, int]:
    """Cut a long line around the caret; returns (text, caret start, caret width)."""
    line_text = line_text.replace("\t", " ")
    start = max(column - 1, 0)
    width = max(1, min(end_column, len(line_text) + 1) - column) if end_column > column else 1
    if len(line_text) <= _MAX_SHOWN:
        return line_text, start, width
    left = max(0, start - _MAX_SHOWN // 2)
    shown = line_text[left : left + _MAX_SHOWN]
    prefix = "..." if left else ""
    suffix = "..." if left + _MAX_SHOWN < len(line_text) else ""
    return prefix + shown + suffix, start - left + len(prefix), min(width, _MAX_SHOWN)


def format_diagnostic(diag: Diagnostic, source: str | list[str] | None) -> str:
    """One diagnostic: header line, the source line with a caret, and the hint.

    ``source`` is the file's text, or its lines already split (faster when
    one file has many diagnostics).
    """
    span = diag.span
    lines = [f"{span.file}:{span.line}:{span.column}: {diag.severity}[{diag.code}]: {diag.message}"]
    if isinstance(source, str):
        source_lines = source.splitlines()
    else:
        source_lines = source or []
    if 1 <= span.line <= len(source_lines):
        text = source_lines[span.line - 1]
        end = span.end_column if span.end_line == span.line else len(text) + 1
        shown, caret_at, width = _source_excerpt(text, span.column, end)
        gutter = " " * len(str(span.line))
        lines.append(f" {span.line} | {shown}")
        lines.append(f" {gutter} | {' ' * caret_at}{'^' * width}")
        if diag.hint:
            lines.append(f" {gutter} = hint: {diag.hint}")
    elif diag.hint:
        lines.append(f"  = hint: {diag.hint}")
    return "\n".join(lines)


def format_text(
    diagnostics: Iterable[Diagnostic], sources: dict[str, str], limit_per_file: int = 200
) -> str:
    """Every diagnostic, each followed by a blank line.

    After ``limit_per_file`` diagnostics of one file, the rest are counted in
    one line instead of printed (``--format json`` always has them all).
    """
    split: dict[str, list[str]] = {}
    shown: dict[str, int] = {}
    out: list[str] = []
    for diag in diagnostics:
        name = diag.span.file
        shown[name] = shown.get(name, 0) + 1
        if shown[name] > limit_per_file:
            continue
        if name not in split:
            split[name] = sources.get(name, "").splitlines()
        out.append(format_diagnostic(diag, split[name]) + "\n\n")
    for name, count in shown.items():
        if count > limit_per_file:
            out.append(f"{name}: ... and {count - limit_per_file} more problems "
                       "(use --format json to see them all)\n\n")
    return "".join(out)


def format_json(files: list[str], diagnostics: list[Diagnostic]) -> str:
    """A JSON document for editors and CI: files checked, every diagnostic, counts."""
    payload = {
        "files": files,
        "diagnostics": [
            {
                "file": d.span.file,
                "line": d.span.line,
                "column": d.span.column,
                "end_line": d.span.end_line,
                "end_column": d.span.end_column,
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "hint": d.hint,
            }
            for d in diagnostics
        ],
        "errors": sum(1 for d in diagnostics if d.is_error),
        "warnings": sum(1 for d in diagnostics if not d.is_error),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(files: int, errors: int, warnings: int) -> str:
    return (
        f"checked {_plural(files, 'file')}: {_plural(errors, 'error')}, "
        f"{_plural(warnings, 'warning')}"
    )
