"""Typed run data: checking a field value a user gives, and reading it back.

A run stores every field value as canonical text (so run state stays plain
JSON): numbers as decimal text, dates as ``YYYY-MM-DD``, choices and text as
written. :func:`parse_value` checks a user's text against the field's type
(from the compiled SOP: ``{"title", "type", "choices"}``) and returns the
canonical text or raises :class:`FieldValueError`; :func:`typed` turns
stored text into the Python value conditions compare (``Decimal``,
``date`` or ``str``).

This module does not evaluate conditions or know about runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Protocol

from ..errors import OpsflowError

__all__ = ["FieldValueError", "Scalar", "parse_value", "typed", "typed_fields"]

Scalar = Decimal | dt.date | str


class FieldLike(Protocol):
    """A field's type as the compiled SOP gives it (``FieldSpec`` has these)."""

    @property
    def type(self) -> str: ...

    @property
    def choices(self) -> Sequence[str]: ...


class FieldValueError(OpsflowError):
    """A field value that does not fit the field's type."""


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


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
            raise FieldValueError(f"field {name} is a number; {text!r} is not one "
                                  "(write digits like 12000 or 12.5)")
        return format(number, "f")
    if kind == "date":
        date = _date(text)
        if date is None:
            raise FieldValueError(f"field {name} is a date; {text!r} is not one "
                                  "(write it as YYYY-MM-DD, like 2027-03-01)")
        return date.isoformat()
    if kind == "choice":
        choices = list(spec.choices)
        if text.strip() not in choices:
            raise FieldValueError(f"field {name} is one of {', '.join(choices)}; "
                                  f"{text!r} is not one of them (pick one of those)")
        return text.strip()
    return text


def typed(spec: FieldLike, text: str) -> Scalar:
    """The value conditions compare, from a stored canonical text."""
    if spec.type == "number":
        return _number(text) or Decimal(0)
    if spec.type == "date":
        return _date(text) or text
    return text


def typed_fields(specs: Mapping[str, FieldLike],
                 values: Mapping[str, str]) -> dict[str, Scalar]:
    """Every set field of a run as its typed value (unknown names are skipped)."""
    return {name: typed(specs[name], text) for name, text in values.items() if name in specs}
