"""Route conditions: compiled to plain data, evaluated without eval, described."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import opsflow
from opsflow.run import conditions
from opsflow.run.compiled import FieldSpec
from opsflow.run.compiler import condition_of
from opsflow.run.fieldvalues import FieldValueError, parse_value, typed_fields

FIELDS = """\
field budget "Budget" number
field risk "Risk" one of low, medium, high, critical
field start "Start" date
field note "Note" text
"""
SPECS = {
    "budget": FieldSpec("budget", "Budget", "number"),
    "risk": FieldSpec("risk", "Risk", "choice", ("low", "medium", "high", "critical")),
    "start": FieldSpec("start", "Start", "date"),
    "note": FieldSpec("note", "Note", "text"),
}


def cond(text: str) -> conditions.Condition:
    """The compiled condition of one written in the language."""
    sop = opsflow.loads(
        f'sop t "T"\n  owner r\nrole r "R"\n{FIELDS}'
        f'phase a "A"\n  owner r\n  handoff to b if {text}\n  handoff to b\n'
        'phase b "B"\n  owner r\n  end\n',
        "t.sop",
    )
    route = sop.phases[0].routes[0]
    assert route.condition is not None
    return condition_of(route.condition)


def values(**given: str) -> dict[str, Any]:
    return typed_fields(SPECS, {k: parse_value(k, SPECS[k], v) for k, v in given.items()})


@pytest.mark.parametrize(
    ("text", "given", "expected"),
    [
        ("budget > 10000", {"budget": "10000.01"}, True),
        ("budget > 10000", {"budget": "10000"}, False),
        ("budget >= 10000", {"budget": "10000"}, True),
        ("budget < 5", {"budget": "-1"}, True),
        ("budget <= 5", {"budget": "5.0"}, True),
        ("budget = 5", {"budget": "5.00"}, True),
        ("budget != 5", {"budget": "5"}, False),
        ("risk is high", {"risk": "high"}, True),
        ("risk is not low", {"risk": "low"}, False),
        ("risk = high", {"risk": "medium"}, False),
        ("risk is one of high, critical", {"risk": "critical"}, True),
        ("risk is one of high, critical", {"risk": "low"}, False),
        ("risk is not one of high, critical", {"risk": "low"}, True),
        ("start >= 2026-12-14", {"start": "2026-12-14"}, True),
        ("start < 2026-12-14", {"start": "2027-01-01"}, False),
        ('note = "ok"', {"note": "ok"}, True),
        ("risk is high and budget > 10", {"risk": "high", "budget": "11"}, True),
        ("risk is high and budget > 10", {"risk": "high", "budget": "9"}, False),
        ("risk is low or budget > 10", {"risk": "high", "budget": "11"}, True),
        ("not (risk is low or budget > 10)", {"risk": "high", "budget": "1"}, True),
        (
            "(risk is low or risk is high) and not budget > 10",
            {"risk": "high", "budget": "1"},
            True,
        ),
    ],
)
def test_evaluate(text: str, given: dict[str, str], expected: bool) -> None:
    data = cond(text)
    assert conditions.evaluate(data, values(**given)) is expected
    assert conditions.holds(data, values(**given)) is expected


@pytest.mark.parametrize(
    ("text", "given", "expected"),
    [
        ("budget > 10", {}, None),
        ("not budget > 10", {}, None),
        ("budget > 10 and risk is high", {"risk": "low"}, False),  # false decides an `and`
        ("budget > 10 and risk is high", {"risk": "high"}, None),
        ("budget > 10 or risk is high", {"risk": "high"}, True),  # true decides an `or`
        ("budget > 10 or risk is high", {"risk": "low"}, None),
    ],
)
def test_unset_fields_make_a_condition_unknown_which_does_not_hold(
    text: str, given: dict[str, str], expected: bool | None
) -> None:
    data = cond(text)
    assert conditions.evaluate(data, values(**given)) is expected
    assert conditions.holds(data, values(**given)) is (expected is True)


def test_unset_fields_are_named_once_in_order() -> None:
    data = cond("budget > 10 and (risk is high or budget < 5) and start > 2020-01-01")
    assert conditions.unset_fields(data, values(risk="low")) == ["budget", "start"]
    assert conditions.unset_fields(None, {}) == []
    assert conditions.holds(None, {}) is True


def test_stored_form_is_plain_json_and_reads_back() -> None:
    compiled = cond("risk is one of high, critical and budget > 10000")
    assert conditions.from_json(conditions.to_json(compiled)) == compiled
    assert conditions.to_json(compiled) == {
        "and": [
            {
                "member": "risk",
                "values": [
                    {"kind": "word", "value": "high"},
                    {"kind": "word", "value": "critical"},
                ],
                "negated": False,
            },
            {"compare": "budget", "op": ">", "value": {"kind": "number", "value": "10000"}},
        ]
    }


@pytest.mark.parametrize(
    "text",
    [
        "budget > 10000",
        "risk is one of high, critical",
        "risk is not one of low",
        'note = "a b"',
        "not budget > 3",
        "risk = high and (budget > 1 or start >= 2027-03-01)",
    ],
)
def test_describe_reads_like_the_language(text: str) -> None:
    described = conditions.describe(cond(text))
    assert described == text
    assert cond(described) == cond(text)  # and it parses back to the same thing


def test_text_from_a_sop_is_never_executed() -> None:
    sneaky = cond("note = \"__import__('os').system('false')\"")
    assert conditions.evaluate(sneaky, values(note="x")) is False
    assert conditions.evaluate(sneaky, values(note="__import__('os').system('false')")) is True


@pytest.mark.parametrize(
    ("name", "text", "canonical"),
    [
        ("budget", " 12_000 ", "12000"),
        ("budget", "12.50", "12.50"),
        ("start", "2027-03-01", "2027-03-01"),
        ("risk", "high", "high"),
        ("note", "anything at all", "anything at all"),
    ],
)
def test_field_values_are_checked_and_canonical(name: str, text: str, canonical: str) -> None:
    assert parse_value(name, SPECS[name], text) == canonical


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "budget",
            "lots",
            "field budget is a number; 'lots' is not one (write digits like 12000 or 12.5)",
        ),
        (
            "budget",
            "NaN",
            "field budget is a number; 'NaN' is not one (write digits like 12000 or 12.5)",
        ),
        (
            "start",
            "01/03/2027",
            "field start is a date; '01/03/2027' is not one "
            "(write it as YYYY-MM-DD, like 2027-03-01)",
        ),
        (
            "risk",
            "huge",
            "field risk is one of low, medium, high, critical; 'huge' is not one of "
            "them (pick one of those)",
        ),
    ],
)
def test_bad_field_values_are_refused_with_the_fix(name: str, text: str, message: str) -> None:
    with pytest.raises(FieldValueError) as info:
        parse_value(name, SPECS[name], text)
    assert str(info.value) == message


def test_typed_values() -> None:
    assert values(budget="12.5")["budget"] == Decimal("12.5")
    assert str(values(start="2027-03-01")["start"]) == "2027-03-01"
