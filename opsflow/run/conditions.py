"""Route conditions at run time: typed values, a safe evaluator, plain words.

The compiler turns the model's condition nodes (:class:`~opsflow.lang.model.Compare`,
``Member``, ``And``, ``Or``, ``Not``) into the small frozen classes here
(:class:`Compare`, :class:`OneOf`, :class:`AllOf`, :class:`AnyOf`,
:class:`Negate`), which carry no source positions and store as plain JSON::

    {"compare": "budget", "op": ">", "value": {"kind": "number", "value": "10000"}}
    {"member": "risk", "values": [{"kind": "word", "value": "high"}], "negated": false}
    {"and": [...]}   {"or": [...]}   {"not": {...}}

:func:`evaluate` walks a condition against a run's typed field values: no
``eval``, no text from a ``.sop`` file is ever executed. A comparison with a
field that is not set is *unknown*; unknowns combine with three-valued
logic (``false and unknown`` is false, ``true or unknown`` is true). The run
core refuses to decide a route whose condition is unknown (it names the
fields, :func:`unset_fields`); it never lets an unknown fall through to the
next route.

This module does not choose routes or read the database, and does not import
the model (``opsflow status`` uses it and must start fast).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .fieldvalues import Scalar

__all__ = [
    "AllOf",
    "AnyOf",
    "Compare",
    "Condition",
    "Literal",
    "Negate",
    "OneOf",
    "describe",
    "evaluate",
    "fields_of",
    "from_json",
    "holds",
    "to_json",
    "unset_fields",
]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Literal:
    """A value written in a condition: ``kind`` is number, text, date or word."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Compare:
    """``FIELD OP VALUE``."""

    field: str
    op: str
    value: Literal


@dataclass(frozen=True, slots=True)
class OneOf:
    """``FIELD is [not] one of A, B``."""

    field: str
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Negate:
    item: Condition


Condition = Compare | OneOf | AllOf | AnyOf | Negate


# ---- plain JSON -------------------------------------------------------------------------
def _literal_json(value: Literal) -> dict[str, str]:
    return {"kind": value.kind, "value": value.text}


def to_json(cond: Condition) -> dict[str, Any]:
    """The condition as plain JSON data (the stored compiled form)."""
    if isinstance(cond, Compare):
        return {"compare": cond.field, "op": cond.op, "value": _literal_json(cond.value)}
    if isinstance(cond, OneOf):
        return {"member": cond.field, "values": [_literal_json(v) for v in cond.values],
                "negated": cond.negated}
    if isinstance(cond, AllOf):
        return {"and": [to_json(c) for c in cond.items]}
    if isinstance(cond, AnyOf):
        return {"or": [to_json(c) for c in cond.items]}
    return {"not": to_json(cond.item)}


def _literal(data: Mapping[str, Any]) -> Literal:
    return Literal(str(data["kind"]), str(data["value"]))


def from_json(data: Mapping[str, Any]) -> Condition:
    """The condition stored as :func:`to_json` data (``KeyError``/``TypeError`` if malformed)."""
    if "compare" in data:
        if data["op"] not in _OPS:
            raise ValueError(f"unknown operator {data['op']!r}")
        return Compare(str(data["compare"]), str(data["op"]), _literal(data["value"]))
    if "member" in data:
        return OneOf(str(data["member"]), tuple(_literal(v) for v in data["values"]),
                     bool(data["negated"]))
    if "and" in data:
        return AllOf(tuple(from_json(c) for c in data["and"]))
    if "or" in data:
        return AnyOf(tuple(from_json(c) for c in data["or"]))
    return Negate(from_json(data["not"]))


# ---- evaluation -------------------------------------------------------------------------
def _typed_literal(value: Literal, like: Scalar) -> Scalar | None:
    """A literal typed like the field value it is compared with (None: cannot be)."""
    try:
        if isinstance(like, Decimal):
            return Decimal(value.text)
        if isinstance(like, dt.date):
            return dt.date.fromisoformat(value.text)
    except (InvalidOperation, ValueError):
        return None
    return value.text


def _compare(op: str, left: Scalar, right: Scalar | None) -> bool | None:
    if right is None:
        return None
    try:
        return _OPS[op](left, right)
    except TypeError:
        return None


def evaluate(cond: Condition, values: Mapping[str, Scalar]) -> bool | None:
    """True, False, or None (unknown: a field it needs is not set)."""
    if isinstance(cond, Compare):
        left = values.get(cond.field)
        if left is None:
            return None
        return _compare(cond.op, left, _typed_literal(cond.value, left))
    if isinstance(cond, OneOf):
        left = values.get(cond.field)
        if left is None:
            return None
        found = any(_compare("=", left, _typed_literal(v, left)) for v in cond.values)
        return found != cond.negated
    if isinstance(cond, Negate):
        inner = evaluate(cond.item, values)
        return None if inner is None else not inner
    results = [evaluate(c, values) for c in cond.items]
    decisive = isinstance(cond, AnyOf)  # True decides an `or`, False decides an `and`
    if decisive in results:
        return decisive
    if None in results:
        return None
    return not decisive


def holds(cond: Condition | None, values: Mapping[str, Scalar]) -> bool:
    """Whether a condition holds (no condition always holds; unknown does not)."""
    return cond is None or evaluate(cond, values) is True


def fields_of(cond: Condition) -> Iterator[str]:
    """Every field a condition reads, in order of appearance."""
    if isinstance(cond, Compare | OneOf):
        yield cond.field
    elif isinstance(cond, Negate):
        yield from fields_of(cond.item)
    else:
        for item in cond.items:
            yield from fields_of(item)


def unset_fields(cond: Condition | None, values: Mapping[str, Scalar]) -> list[str]:
    """The fields the condition reads that are not set, without repeats."""
    if cond is None:
        return []
    return [f for f in dict.fromkeys(fields_of(cond)) if f not in values]


def _literal_text(value: Literal) -> str:
    return f'"{value.text}"' if value.kind == "text" else value.text


def describe(cond: Condition, nested: bool = False) -> str:
    """The condition in the words of the ``.sop`` language, e.g. ``budget > 10000``."""
    if isinstance(cond, Compare):
        return f"{cond.field} {cond.op} {_literal_text(cond.value)}"
    if isinstance(cond, OneOf):
        verb = "is not one of" if cond.negated else "is one of"
        return f"{cond.field} {verb} " + ", ".join(_literal_text(v) for v in cond.values)
    if isinstance(cond, Negate):
        return "not " + describe(cond.item, nested=True)
    key = "or" if isinstance(cond, AnyOf) else "and"
    text = f" {key} ".join(describe(c, nested=True) for c in cond.items)
    return f"({text})" if nested else text
