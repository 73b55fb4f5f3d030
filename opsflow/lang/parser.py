"""Stage 1: text → parse tree → model.

One LALR parser is built from ``grammar/sop.lark`` the first time it is
needed and kept for the life of the process. Indentation becomes
``_INDENT``/``_DEDENT`` tokens in :class:`SopIndenter`. A syntax error is
turned into a :class:`~opsflow.errors.Diagnostic` that says what was
expected in the language's own words, never in Lark's terminal names.

This module does not resolve includes or check meaning: see
:mod:`opsflow.lang.loader` and :mod:`opsflow.lang.checks`.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
from collections.abc import Iterator
from typing import ClassVar

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.indenter import Indenter

from ..errors import Diagnostic, SopError
from ..resources import grammar_text
from .model import Sop, Span
from .transformer import SopTransformer

__all__ = ["parse_text"]

_WORD_CHAR = re.compile(r"[A-Za-z0-9_\-]")
_WORD = re.compile(r"[A-Za-z0-9_\-]+")
#: the deepest indentation a file may use (guards against pathological input)
MAX_INDENT_LEVELS = 12
#: the deepest nesting of `(` and `not` in one condition
MAX_CONDITION_NESTING = 40
_NESTING = {"LPAR": 1, "RPAR": -1, "NOT": 1}


class _Syntax(Exception):
    """A syntax problem found by the post-lexer, with its position."""

    def __init__(self, message: str, token: Token, hint: str = "", width: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.token = token
        self.hint = hint
        self.width = width or len(str(token))


class SopIndenter(Indenter):
    """Turns leading white space into ``_INDENT``/``_DEDENT`` tokens.

    It also refuses two words written together (``ownerwriter``): Lark's
    contextual lexer would otherwise split them at a keyword.
    """

    NL_type = "_NL"
    OPEN_PAREN_types: ClassVar[list[str]] = []
    CLOSE_PAREN_types: ClassVar[list[str]] = []
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4

    def handle_NL(self, token: Token) -> Iterator[Token]:
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        yield token
        if indent > self.indent_level[-1]:
            if len(self.indent_level) > MAX_INDENT_LEVELS:
                raise _Syntax(
                    f"indentation is nested more than {MAX_INDENT_LEVELS} levels deep",
                    _at_end(token),
                    "a .sop file needs at most three levels: phase, block, item",
                )
            self.indent_level.append(indent)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, _at_end(token))
        else:
            while indent < self.indent_level[-1]:
                self.indent_level.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, indent_str, _at_end(token))
            if indent != self.indent_level[-1]:
                raise _Syntax(
                    "this line's indentation matches no line above it",
                    _at_end(token),
                    "indent it exactly as far as the lines of the block it belongs to",
                )

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        self.paren_level = 0
        self.indent_level = [0]
        return self._process_all(stream)

    def _process_all(self, stream: Iterator[Token]) -> Iterator[Token]:
        previous: Token | None = None
        nesting = 0  # open `(` plus `not` on the current line
        for token in stream:
            kind = token.type
            if kind in _NESTING:
                nesting += _NESTING[kind]
                if nesting > MAX_CONDITION_NESTING:
                    raise _Syntax(
                        f"this condition is nested more than {MAX_CONDITION_NESTING} levels deep",
                        token,
                        "write it more simply: a route may have several `if` lines",
                    )
            elif kind == "_NL":
                nesting = 0
            if (
                previous is not None
                and token.start_pos == previous.end_pos
                and token.type != "_NL"
                and _WORD_CHAR.match(str(previous)[-1:] or " ")
                and _WORD_CHAR.match(str(token)[:1] or " ")
            ):
                word = f"{previous}{token}"
                close = difflib.get_close_matches(word, _all_keywords(), n=1, cutoff=0.6)
                raise _Syntax(
                    f"unknown word `{_shorten(word)}`",
                    previous,
                    f"did you mean `{close[0]}`?" if close else "put a space between words",
                    len(word),
                )
            previous = token
            if token.type == self.NL_type:
                yield from self.handle_NL(token)
            else:
                yield token
        while len(self.indent_level) > 1:
            self.indent_level.pop()
            yield Token(self.DEDENT_type, "")


def _at_end(token: Token) -> Token:
    """A zero-width token placed at the start of the line after ``token``."""
    return Token(
        "_POS",
        "",
        start_pos=token.end_pos,
        line=token.end_line,
        column=token.end_column,
        end_line=token.end_line,
        end_column=token.end_column,
        end_pos=token.end_pos,
    )


#: the transformer runs inside the parser; one parse at a time uses it
_TRANSFORMER = SopTransformer()
_PARSE_LOCK = threading.Lock()


@functools.cache
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        postlex=SopIndenter(),
        transformer=_TRANSFORMER,
        maybe_placeholders=True,
        cache=True,
    )


def _keyword_terminals() -> dict[str, str]:
    """Map Lark's names of keyword terminals (e.g. ``OWNER``) to the word."""
    words: dict[str, str] = {}
    for term in _lark().terminals:
        pattern = term.pattern
        if pattern.type == "str":
            words[term.name] = pattern.value
    return words


_TERMINAL_WORDS = {
    "_NL": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the indented block",
    "$END": "the end of the file",
    "NAME": "a name",
    "STRING": 'a quoted title like "Brief"',
    "INT": "a whole number",
    "NUMBER": "a number",
    "VERSION": "a version number like 3 or 1.2",
    "FRACTION": "a fraction like 2/3",
    "DATE": "a date like 2027-03-01",
    "QUORUM_WORD": "`all` or `majority`",
    "UNIT": "a unit (minutes, hours, days or weeks)",
    "BUSINESS_UNIT": "`days`",
    "COMPARE_OP": "a comparison (=, !=, <, <=, >, >=)",
    "DOC_LINE": "a description line starting with `>`",
    "CRITERION": "a checklist item starting with `-`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
}


def _all_keywords() -> list[str]:
    return sorted(w for w in _keyword_terminals().values() if w.isalpha())


def _describe_expected(names: set[str]) -> str:
    keywords = _keyword_terminals()
    words: list[str] = []
    if len(names) > 1:
        names = names - {"_DEDENT"}
    for name in sorted(names):
        if name in keywords and keywords[name].isalpha():
            words.append(f"`{keywords[name]}`")
        elif name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
        elif name in keywords:
            words.append(f"`{keywords[name]}`")
        else:
            words.append(name.lower().strip("_"))
    words = sorted(dict.fromkeys(words), key=lambda w: (not w.startswith("`"), w))
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    if len(words) > 16:
        return ", ".join(words[:16]) + f" or one of {len(words) - 16} more"
    return ", ".join(words[:-1]) + " or " + words[-1]


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_token(token: Token) -> str:
    keywords = _keyword_terminals()
    if token.type in keywords:
        return f"`{keywords[token.type]}`"
    if token.type == "NAME":
        return f"the word `{_shorten(str(token))}`"
    if token.type in ("_NL", "_INDENT", "_DEDENT", "$END"):
        return {
            "_NL": "the end of the line",
            "_INDENT": "an indented line",
            "_DEDENT": "the end of the indented block",
            "$END": "the end of the file",
        }[token.type]
    if token.type == "STRING":
        return f"the text {_shorten(str(token))}"
    text = str(token)
    if len(text) > 30:
        text = text[:27] + "..."
    return f"`{text}`"


def _span_of(filename: str, line: int, column: int, width: int = 1) -> Span:
    return Span(filename, line, column, line, column + max(width, 1))


def _did_you_mean(word: str, expected: set[str]) -> str:
    keywords = _keyword_terminals()
    candidates = [keywords[n] for n in expected if n in keywords and keywords[n].isalpha()]
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def _hint_for(found: str, expected: set[str]) -> str:
    if found == "_INDENT":
        return (
            "this line is indented more than the line above it; indent only the lines "
            "that belong to a `sop`, `phase`, `parallel`, `done when` or `approval` block"
        )
    if expected == {"_INDENT"}:
        return "indent the lines that belong to this block under it"
    if found == "COMMA" and "AND" in expected:
        return "write numbers without separators (10000); list values with `is one of a, b`"
    if "_NL" in expected and len(expected) <= 3:
        return "end the line here, or put the rest on a line of its own"
    return ""


def _acceptable(exc: UnexpectedInput, fallback: set[str]) -> set[str]:
    """What the parser itself accepts where it stopped (the lexer's set is wider)."""
    state = getattr(exc, "state", None)
    try:
        table = state.parse_conf.states[state.position]  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError):
        return fallback
    # the table also holds the grammar's rules (lower case); only terminals can come next
    return {name for name in table if name == name.upper()}


def _syntax_diagnostic(exc: UnexpectedInput, text: str, filename: str) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        start = pos
        while start > 0 and _WORD_CHAR.match(text[start - 1]):
            start -= 1
        word_match = _WORD.match(text, start)
        expected = _acceptable(exc, set(exc.allowed or ()))
        line_start = text.rfind("\n", 0, start) + 1
        column = start - line_start + 1
        if word_match and _WORD_CHAR.match(text[pos]):
            word = word_match.group()
            hint = _did_you_mean(word, expected) or f"write {_describe_expected(expected)} here"
            return Diagnostic(
                "E001",
                "error",
                f"expected {_describe_expected(expected)}, found the unknown word "
                f"`{_shorten(word)}`",
                _span_of(filename, exc.line, column, len(word)),
                hint,
            )
        char = text[pos]
        shown = repr(char) if not char.isprintable() else f"`{char}`"
        return Diagnostic(
            "E001",
            "error",
            f"expected {_describe_expected(expected)}, found the character {shown}",
            _span_of(filename, exc.line, exc.column),
            'titles and other free text go between double quotes: "like this"'
            if char in "'`" or not char.isascii()
            else "",
        )
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = _acceptable(exc, set(exc.expected or ()))
        if token.type == "$END" or token.line is None:
            line, column = _end_position(text)
        else:
            line, column = token.line, token.column
        found = token.type
        hint = _hint_for(found, expected)
        if token.type == "NAME":
            hint = _did_you_mean(str(token), expected) or hint
        return Diagnostic(
            "E001",
            "error",
            "unexpected indentation"
            if found == "_INDENT"
            else f"expected {_describe_expected(expected)}, found {_describe_token(token)}",
            _span_of(filename, line, column, len(str(token)) if token.type != "_NL" else 1),
            hint,
        )
    if isinstance(exc, UnexpectedEOF):
        line, column = _end_position(text)
        return Diagnostic(
            "E001",
            "error",
            f"the file ends too early; expected {_describe_expected(set(exc.expected))}",
            _span_of(filename, line, column),
            "",
        )
    return Diagnostic("E001", "error", str(exc).splitlines()[0], _span_of(filename, 1, 1), "")


def _end_position(text: str) -> tuple[int, int]:
    lines = text.rstrip("\n").split("\n")
    return len(lines), len(lines[-1]) + 1


#: a line that starts a top-level construct: where reading resumes after a syntax error
_TOP_LEVEL = re.compile(r"(?:sop|include|role|field|event|phase|parallel)\b")
#: syntax errors reported per file before giving up
MAX_SYNTAX_ERRORS = 20


def _parse_once(text: str, filename: str) -> tuple[Sop | None, list[Diagnostic]]:
    """One attempt: the model, or ``None`` and the problems found up to the first error."""
    with _PARSE_LOCK:
        _TRANSFORMER.reset(filename, text)
        try:
            sop: Sop = _lark().parse(text)  # type: ignore[assignment]
            return sop, list(_TRANSFORMER.problems)
        except _Syntax as exc:
            span = _span_of(filename, exc.token.line or 1, exc.token.column or 1, exc.width)
            error = Diagnostic("E001", "error", exc.message, span, exc.hint)
        except UnexpectedInput as exc:
            error = _syntax_diagnostic(exc, text, filename)
        except (RecursionError, MemoryError):
            error = Diagnostic("E001", "error", "the file is nested too deeply to read",
                               _span_of(filename, 1, 1),
                               "split deeply nested conditions into simpler ones")
        return None, [*_TRANSFORMER.problems, error]


def _resume_line(lines: list[str], after: int) -> int | None:
    """The index of the first top-level line after line number ``after`` (1-based)."""
    for index in range(max(after, 0), len(lines)):
        if _TOP_LEVEL.match(lines[index]):
            return index
    return None


def parse_text(text: str, filename: str = "<text>") -> Sop:
    """Parse one file's text into a :class:`~opsflow.lang.model.Sop` (includes not merged).

    Raises :class:`~opsflow.errors.SopError` listing every syntax problem: after
    an error, reading resumes at the next top-level line (``phase``, ``role``, …),
    so each broken block is reported once. The line numbers stay those of the file.
    """
    if not text.endswith("\n"):
        text += "\n"
    sop, problems = _parse_once(text, filename)
    if sop is not None and not problems:
        return sop
    if sop is not None:  # a complete parse with problems such as impossible dates
        raise SopError(problems)
    lines = text.split("\n")
    found = list(problems)
    while len(found) < MAX_SYNTAX_ERRORS:
        resume = _resume_line(lines, max(p.span.line for p in found))
        if resume is None:
            break
        # keep line numbers: the skipped part becomes empty lines
        rest = "\n" * resume + "\n".join(lines[resume:])
        sop, problems = _parse_once(rest, filename)
        found.extend(p for p in problems if p not in found)
        if sop is not None or not problems:
            break
    raise SopError(found)
