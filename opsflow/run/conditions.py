"""Route conditions at run time: plain data, a safe evaluator, plain words.

The compiler turns the model's condition nodes (:class:`~opsflow.lang.model.Compare`,
:class:`~opsflow.lang.model.Member`, :class:`~opsflow.lang.model.And`, ``Or``, ``Not``)
into plain JSON data (:func:`opsflow.run.compiler.condition_data`)::

    {"compare": "budget", "op": ">", "value": {"kind": "number", "value": "10000"}}
    {"member": "risk", "values": [{"kind": "word", "value": "high"}], "negated": false}
    {"and": [...]}   {"or": [...]}   {"not": {...}}

:func:`evaluate` walks that data against a run's typed field values: no
``eval``, no text from a ``.sop`` file is ever executed. A comparison with a
field that is not set is *unknown*; unknowns combine with three-valued
logic (``false and unknown`` is false, ``true or unknown`` is true), and a
condition that ends up unknown does not hold. :func:`unset_fields` names the
fields that made it unknown, so status can say why a route did not apply.

This module does not choose routes or read the database, and does not import
the model (``opsflow status`` uses it and must start fast).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .fieldvalues import Scalar

__all__ = ["describe", "evaluate", "fields_of", "holds", "unset_fields"]

CondData = Mapping[str, Any]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _literal(data: Mapping[str, str], like: Scalar) -> Scalar | None:
    """A literal typed like the field value it is compared with (None: cannot be)."""
    text = data["value"]
    try:
        if isinstance(like, Decimal):
            return Decimal(text)
        if isinstance(like, dt.date):
            return dt.date.fromisoformat(text)
    except (InvalidOperation, ValueError):
        return None
    return text


def _compare(op: str, left: Scalar, right: Scalar | None) -> bool | None:
    if right is None:
        return None
    try:
        return _OPS[op](left, right)
    except TypeError:
        return None


def evaluate(cond: CondData, values: Mapping[str, Scalar]) -> bool | None:
    """True, False, or None (unknown: a field it needs is not set)."""
    if "compare" in cond:
        left = values.get(cond["compare"])
        if left is None:
            return None
        return _compare(cond["op"], left, _literal(cond["value"], left))
    if "member" in cond:
        left = values.get(cond["member"])
        if left is None:
            return None
        found = any(_compare("=", left, _literal(v, left)) for v in cond["values"])
        return found != bool(cond["negated"])
    if "not" in cond:
        inner = evaluate(cond["not"], values)
        return None if inner is None else not inner
    key = "and" if "and" in cond else "or"
    results = [evaluate(c, values) for c in cond[key]]
    decisive = key == "or"  # True decides an `or`, False decides an `and`
    if decisive in results:
        return decisive
    if None in results:
        return None
    return not decisive


def holds(cond: CondData | None, values: Mapping[str, Scalar]) -> bool:
    """Whether a route's condition holds (no condition always holds)."""
    return cond is None or evaluate(cond, values) is True


def fields_of(cond: CondData) -> Iterator[str]:
    """Every field a condition reads, in order of appearance."""
    for key in ("compare", "member"):
        if key in cond:
            yield cond[key]
            return
    if "not" in cond:
        yield from fields_of(cond["not"])
        return
    for item in cond.get("and", cond.get("or", [])):
        yield from fields_of(item)


def unset_fields(cond: CondData | None, values: Mapping[str, Scalar]) -> list[str]:
    """The fields the condition reads that are not set, without repeats."""
    if cond is None:
        return []
    return [f for f in dict.fromkeys(fields_of(cond)) if f not in values]


def _literal_text(data: Mapping[str, str]) -> str:
    return f'"{data["value"]}"' if data["kind"] == "text" else data["value"]


def describe(cond: CondData, nested: bool = False) -> str:
    """The condition in the words of the ``.sop`` language, e.g. ``budget > 10000``."""
    if "compare" in cond:
        return f"{cond['compare']} {cond['op']} {_literal_text(cond['value'])}"
    if "member" in cond:
        verb = "is not one of" if cond["negated"] else "is one of"
        return f"{cond['member']} {verb} " + ", ".join(_literal_text(v) for v in cond["values"])
    if "not" in cond:
        return "not " + describe(cond["not"], nested=True)
    key = "and" if "and" in cond else "or"
    text = f" {key} ".join(describe(c, nested=True) for c in cond[key])
    return f"({text})" if nested else text
