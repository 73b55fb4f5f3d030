"""Whether route conditions cover every case: a value for each field where none holds.

Each leaf of a condition compares one field with a constant (``amount > 1000``,
``risk is one of low, medium``), so a condition's truth changes only at the
constants it names. Trying, for each field, every constant it is compared with
and one value between and beyond them (every choice of a choice field; for a
text field one text unlike all of them) decides the question exactly: if no
condition holds for one combination of those values, it fails for a real run;
if one holds for every combination, it holds for every value a run can have.

Only fields that are set are considered: a route reading a field that is not
set waits for it (the run core never lets an unknown fall through).

This module reads no run and decides nothing about one; :mod:`.checks` uses it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from . import model as m

__all__ = ["OtherText", "leaves", "shown_value", "uncovered"]

#: above this many combinations the question is left unanswered (None)
LIMIT = 4096

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


class OtherText(NamedTuple):
    """A text unlike every constant a text field is compared with."""

    besides: tuple[str, ...]


def leaves(cond: m.Condition) -> Iterator[m.Compare | m.Member]:
    """The comparisons a condition is made of, in source order."""
    if isinstance(cond, (m.Compare, m.Member)):
        yield cond
    elif isinstance(cond, m.Not):
        yield from leaves(cond.item)
    else:
        for item in cond.items:
            yield from leaves(item)


def _constants(cond: m.Condition) -> Iterator[tuple[str, Any]]:
    for leaf in leaves(cond):
        values = leaf.values if isinstance(leaf, m.Member) else (leaf.value,)
        for value in values:
            yield leaf.field.name, value.value


def _samples(field: m.Field, constants: set[Any]) -> list[Any] | None:
    kind = field.type.kind
    if kind == "choice":
        return list(field.type.choices)
    if kind == "text":
        texts = sorted(c for c in constants if isinstance(c, str))
        return [*texts, OtherText(tuple(texts))]
    if kind == "number":
        points = sorted(c for c in constants if isinstance(c, Decimal))
        if not points:
            return [Decimal(0)]
        between = [(a + b) / 2 for a, b in itertools.pairwise(points)]
        return sorted({points[0] - 1, *points, *between, points[-1] + 1})
    if kind == "date":
        days = sorted(c for c in constants if isinstance(c, dt.date))
        if not days:
            return [dt.date(2000, 1, 1)]
        one = dt.timedelta(days=1)
        return sorted({d + step for d in days for step in (-one, dt.timedelta(0), one)})
    return None


def _holds(cond: m.Condition, values: Mapping[str, Any]) -> bool:
    if isinstance(cond, m.Compare):
        return _OPS[cond.op](values[cond.field.name], cond.value.value)
    if isinstance(cond, m.Member):
        inside = values[cond.field.name] in {v.value for v in cond.values}
        return inside != cond.negated
    if isinstance(cond, m.Not):
        return not _holds(cond.item, values)
    if isinstance(cond, m.And):
        return all(_holds(item, values) for item in cond.items)
    return any(_holds(item, values) for item in cond.items)


def uncovered(conditions: Sequence[m.Condition],
              fields: Mapping[str, m.Field]) -> dict[str, Any] | None:
    """Values of the fields ``conditions`` read for which none of them holds, or None
    when one holds in every case (or the question is too large, or the conditions do
    not fit their fields' types, which other checks report)."""
    constants: dict[str, set[Any]] = {}
    for cond in conditions:
        for name, value in _constants(cond):
            constants.setdefault(name, set()).add(value)
    names = sorted(constants)
    samples = []
    for name in names:
        field = fields.get(name)
        found = None if field is None else _samples(field, constants[name])
        if not found:
            return None
        samples.append(found)
    total = 1
    for found in samples:
        total *= len(found)
    if total > LIMIT:
        return None
    try:
        for combination in itertools.product(*samples):
            values = dict(zip(names, combination, strict=True))
            if not any(_holds(cond, values) for cond in conditions):
                return values
    except TypeError:  # a comparison of the wrong type (E250)
        return None
    return None


def shown_value(value: Any) -> str:
    """A sample value as a condition would write it (``is`` and what follows)."""
    if isinstance(value, OtherText):
        quoted = ", ".join(f'"{text}"' for text in value.besides)
        return f"not {quoted}" if len(value.besides) == 1 else f"none of {quoted}"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
