"""The opsflow exception root and the diagnostic record.

Every error opsflow raises for a user's mistake is an :class:`OpsflowError`:
the CLI prints its message and exits non-zero, never a traceback. Problems
found in a ``.sop`` file are :class:`Diagnostic` records (with a stable code
and a source span); :class:`SopError` carries all of a file's diagnostics
at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # keep `import opsflow.errors` cheap: the CLI's start-up depends on it
    from .lang.model import Span

Severity = Literal["error", "warning"]


class OpsflowError(Exception):
    """The root of every error opsflow reports to a user.

    ``exit_code`` is what the CLI exits with (1 unless a subclass says
    otherwise). The message names the problem and the fix.
    """

    exit_code = 1


class ArgumentError(OpsflowError, TypeError):
    """A library function was called with an argument of the wrong type; nothing was
    read, stored or changed."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a ``.sop`` file: where, what, and how to fix it."""

    code: str
    severity: Severity
    message: str
    span: Span
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.column, self.code)


class SopError(OpsflowError):
    """A ``.sop`` file (or several) has errors; ``diagnostics`` lists them all."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else self.diagnostics[0]
        more = len(errors) - 1
        text = f"{first.span}: error[{first.code}]: {first.message}"
        if more > 0:
            text += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(text)
