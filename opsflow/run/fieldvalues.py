"""Typed run data: checking a field value a user gives, and reading it back.

A run stores every field value as canonical text (so run state stays plain
JSON): numbers as decimal text, dates as ``YYYY-MM-DD``, choices and text as
written. :func:`parse_value` checks a user's text against the field's type
(a compiled ``FieldSpec``: its ``type`` and ``choices``) and returns the
canonical text or raises :class:`FieldValueError`; :func:`typed` turns
stored text into the Python value conditions compare (``Decimal``,
``date`` or ``str``).

Values are bounded, with limits a real procedure never meets, so that hostile
input costs neither time nor space (a number like ``1e100000000`` would
otherwise take a minute to write out and a 100 MB state row):

* a number has at most :data:`MAX_DIGITS` significant digits, at most
  :data:`MAX_DECIMALS` digits after the point, and a magnitude of at most
  ``10 ** MAX_MAGNITUDE``; it is read by a pattern with plain integers
  (:func:`_number`), so a huge exponent is refused before ``Decimal`` does any
  work on it, and its text is at most :data:`MAX_NUMBER_TEXT` characters;
* a text value has at most :data:`MAX_TEXT` characters.

Every refusal names the limit. This module does not evaluate conditions or
know about runs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from ..errors import OpsflowError

__all__ = [
    "MAX_DECIMALS",
    "MAX_DIGITS",
    "MAX_MAGNITUDE",
    "MAX_TEXT",
    "FieldValueError",
    "Scalar",
    "parse_value",
    "typed",
    "typed_fields",
]

Scalar = Decimal | dt.date | str

MAX_MAGNITUDE = 15  # numbers up to 1e15 (a quadrillion) in size
MAX_DIGITS = 30  # significant digits
MAX_DECIMALS = 15  # digits after the decimal point
MAX_NUMBER_TEXT = 100  # characters of a number as written (after dropping `_`)
MAX_TEXT = 10_000  # characters of a text field
SHOWN = 40  # characters of a refused value quoted in a message

NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")


class FieldLike(Protocol):
    """A field's type as the compiled SOP gives it (``FieldSpec`` has these)."""

    @property
    def type(self) -> str: ...

    @property
    def choices(self) -> Sequence[str]: ...


class FieldValueError(OpsflowError):
    """A field value that does not fit the field's type."""


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to :data:`SHOWN` characters."""
    return repr(text) if len(text) <= SHOWN else repr(text[:SHOWN]) + "…"


def _number(text: str) -> Decimal | str | None:
    """The number ``text`` writes, the limit it breaks (``"is larger than …"``), or
    ``None`` if it writes no number."""
    written = text.strip().replace("_", "")
    if len(written) > MAX_NUMBER_TEXT:
        return f"is longer than {MAX_NUMBER_TEXT} characters"
    match = NUMBER.fullmatch(written)
    if match is None or not (match.group(2) or match.group(3)):
        return None
    sign, whole, fraction, exponent = match.groups(default="")
    digits = whole + fraction
    scale = int(exponent or "0") - len(fraction)  # the value is int(digits) * 10 ** scale
    significant = digits.lstrip("0")
    if len(significant) > MAX_DIGITS:
        return f"has more than {MAX_DIGITS} significant digits"
    if -scale > MAX_DECIMALS:
        return f"has more than {MAX_DECIMALS} digits after the decimal point"
    magnitude = len(significant) - 1 + scale  # the power of ten of the first digit
    if significant and (magnitude > MAX_MAGNITUDE
                        or (magnitude == MAX_MAGNITUDE and significant.rstrip("0") != "1")):
        return f"is larger than 1e{MAX_MAGNITUDE} in size"
    if not significant:  # zero: keep its decimals (0.00), never a huge exponent
        return Decimal((1 if sign == "-" else 0, (0,), min(scale, 0)))
    return Decimal((1 if sign == "-" else 0, tuple(int(d) for d in significant), scale))


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_value(name: str, spec: FieldLike, text: str) -> str:
    """Check ``text`` for field ``name`` of type ``spec``; return canonical text."""
    kind = spec.type
    if kind == "number":
        number = _number(text)
        if number is None:
            raise FieldValueError(f"field {name} is a number; {_shown(text)} is not one "
                                  "(write digits like 12000 or 12.5)")
        if isinstance(number, str):
            raise FieldValueError(
                f"field {name} is a number; {_shown(text)} {number}, more than any procedure "
                f"needs (write a number up to 1e{MAX_MAGNITUDE} in size, with at most "
                f"{MAX_DIGITS} significant digits and {MAX_DECIMALS} after the point)"
            )
        return format(number, "f")
    if kind == "date":
        date = _date(text)
        if date is None:
            raise FieldValueError(f"field {name} is a date; {_shown(text)} is not one "
                                  "(write it as YYYY-MM-DD, like 2027-03-01)")
        return date.isoformat()
    if kind == "choice":
        choices = list(spec.choices)
        if text.strip() not in choices:
            raise FieldValueError(f"field {name} is one of {', '.join(choices)}; "
                                  f"{_shown(text)} is not one of them (pick one of those)")
        return text.strip()
    if len(text) > MAX_TEXT:
        raise FieldValueError(f"field {name} is text of at most {MAX_TEXT:,} characters; "
                              f"the value has {len(text):,} (shorten it)")
    return text


def typed(spec: FieldLike, text: str) -> Scalar:
    """The value conditions compare, from a stored canonical text."""
    if spec.type == "number":
        number = _number(text)
        return number if isinstance(number, Decimal) else Decimal(0)
    if spec.type == "date":
        return _date(text) or text
    return text


def typed_fields(specs: Mapping[str, FieldLike],
                 values: Mapping[str, str]) -> dict[str, Scalar]:
    """Every set field of a run as its typed value (unknown names are skipped)."""
    return {name: typed(specs[name], text) for name, text in values.items() if name in specs}
