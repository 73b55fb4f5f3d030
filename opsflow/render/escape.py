"""Escaping text from ``.sop`` files for each output dialect.

Titles, role names, criteria and condition values are *text*: whatever they
contain (pipes, backticks, ``<script>``, ``{{ }}``) must show as written in
Markdown, CSV, Mermaid and DOT output. Each function here turns such text into
a safe literal of one dialect. Descriptions (the ``>`` lines) are Markdown on
purpose; :func:`markdown_block` keeps their Markdown but neutralises raw HTML
and unclosed code fences.

Control characters (C0, C1, DEL) and the bidi controls that reorder a line
are never copied into any output: :func:`one_line` (which every one-line
dialect here uses) and :func:`csv_field` replace each with U+FFFD, so an
escape sequence in a title cannot reach a terminal that shows the output,
and a right-to-left override cannot make a label read differently.

HTML is not here: HTML templates autoescape (Jinja2/markupsafe), and
Markdown becomes HTML only through :mod:`opsflow.render.markdown`.
"""

from __future__ import annotations

import re

__all__ = [
    "csv_field",
    "dot_text",
    "markdown_block",
    "md_cell",
    "md_inline",
    "mermaid_text",
    "one_line",
]

_WHITESPACE = re.compile(r"\s+")
# controls that are not whitespace (whitespace is collapsed first) and bidi controls
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f"
                       "\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"
# Markdown punctuation that can start a construct anywhere in a line; `{}` and
# `$` too, so that Liquid/Jinja (`{{ }}`) and GitHub math (`$x$`) stay text.
# `(`, `)` and `!` need no escape: `[` and `]` are, so no link or image can form.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&$])")
# `<` starts raw HTML in Markdown when followed by a letter, `/`, `!` or `?`.
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")
_AUTOLINK = re.compile(r"<(?:https?|mailto|ftp):[^\s<>]*>", re.IGNORECASE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) into one space; controls
    and bidi controls become U+FFFD."""
    return _CONTROLS.sub(REPLACEMENT, _WHITESPACE.sub(" ", text).strip())


def md_inline(text: str) -> str:
    """Plain text as a Markdown inline literal: every special character escaped.

    Meant for inline positions (after ``# ``, ``- ``, ``| ``…); a leading
    ``-``, ``+`` or ``=`` is escaped too, so the text cannot turn a line into
    a list item or a heading underline.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(text))
    return "\\" + escaped if escaped[:1] in ("-", "+", "=") else escaped


def md_cell(markdown: str) -> str:
    """Markdown (a description) squeezed into one table cell: one line, pipes escaped."""
    text = one_line(_neutralise_html(markdown))
    return re.sub(r"(?<!\\)\|", r"\\|", text)


def markdown_block(markdown: str) -> str:
    """A description's Markdown, safe to embed: raw HTML shown as text, fences closed."""
    lines = markdown.split("\n")
    out: list[str] = []
    fence = ""
    for line in lines:
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            out.append(line)
            continue
        if match:
            fence = match.group(1)
            out.append(line)
            continue
        out.append(_neutralise_html(line))
    if fence:
        out.append(fence)
    return "\n".join(out)


def _neutralise_html(line: str) -> str:
    """Replace the ``<`` of raw HTML outside code spans with ``&lt;`` (autolinks stay)."""
    parts: list[str] = []
    i = 0
    while i < len(line):
        tick = line.find("`", i)
        if tick < 0:
            parts.append(_escape_tags(line[i:]))
            break
        parts.append(_escape_tags(line[i:tick]))
        run = len(line[tick:]) - len(line[tick:].lstrip("`"))
        close = _find_run(line, "`" * run, tick + run)
        if close < 0:
            parts.append(line[tick : tick + run])
            i = tick + run
        else:
            parts.append(line[tick : close + run])
            i = close + run
    return "".join(parts)


def _find_run(line: str, run: str, start: int) -> int:
    """Index of the next backtick run of exactly ``len(run)`` characters, or -1."""
    pos = line.find(run, start)
    while pos >= 0:
        end = pos + len(run)
        if (end >= len(line) or line[end] != "`") and line[pos - 1] != "`":
            return pos
        while end < len(line) and line[end] == "`":
            end += 1
        pos = line.find(run, end)
    return -1


def _escape_tags(text: str) -> str:
    pieces: list[str] = []
    last = 0
    for link in _AUTOLINK.finditer(text):
        pieces.append(_HTML_START.sub("&lt;", text[last : link.start()]))
        pieces.append(link.group(0))
        last = link.end()
    pieces.append(_HTML_START.sub("&lt;", text[last:]))
    return "".join(pieces)


def csv_field(value: str) -> str:
    """One CSV field (RFC 4180 quoting); a leading ``= + - @`` is neutralised with ``'``
    so spreadsheets show the text instead of running it as a formula."""
    text = _CONTROLS.sub(REPLACEMENT, str(value))
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    if any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


_MERMAID = {"#": "#35;", '"': "#34;", "&": "#38;", "<": "#60;", ">": "#62;", "`": "#96;"}
_MERMAID_RE = re.compile("[" + re.escape("".join(_MERMAID)) + "]")


def mermaid_text(text: str) -> str:
    """Text for inside a double-quoted Mermaid label (entity codes for specials)."""
    return _MERMAID_RE.sub(lambda m: _MERMAID[m.group(0)], one_line(text))


def dot_text(text: str) -> str:
    """Text for inside a double-quoted Graphviz DOT string."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')
