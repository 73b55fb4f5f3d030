"""Field values are bounded (issue 8, item 7): numbers by size, digits and
decimals, read without letting Decimal work on a huge exponent; text by length.
Every refusal names the limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opsflow.run.compiled import FieldSpec
from opsflow.run.fieldvalues import FieldValueError, parse_value, typed

NUMBER = FieldSpec("n", "N", "number")
TEXT = FieldSpec("t", "T", "text")
LIMITS = ("more than any procedure needs (write a number up to 1e15 in size, with at most 30 "
          "significant digits and 15 after the point)")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("12000", "12000"),
        ("1_000_000", "1000000"),
        ("12.50", "12.50"),
        (".5", "0.5"),
        ("-2.5e3", "-2500"),
        ("1e15", "1000000000000000"),
        ("-1E15", "-1000000000000000"),
        ("999999999999999.999999999999999", "999999999999999.999999999999999"),
        ("0.000000000000001", "0.000000000000001"),
        ("0e99999999999999999999", "0"),
        ("0.00", "0.00"),
    ],
)
def test_numbers_within_the_limits(text: str, canonical: str) -> None:
    assert parse_value("budget", NUMBER, text) == canonical
    assert typed(NUMBER, canonical) == Decimal(canonical)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1e999999999999999999", "'1e999999999999999999' is larger than 1e15 in size"),
        ("1e100000000", "'1e100000000' is larger than 1e15 in size"),
        ("1000000000000000.5", "'1000000000000000.5' is larger than 1e15 in size"),
        ("2e15", "'2e15' is larger than 1e15 in size"),
        ("1e-100000000", "'1e-100000000' has more than 15 digits after the decimal point"),
        ("0e-100000000", "'0e-100000000' has more than 15 digits after the decimal point"),
        ("0." + "1" * 31, "'0.1111111111111111111111111111111' has more than 30 significant "
                          "digits"),
        ("1" * 101, f"'{'1' * 40}'… is longer than 100 characters"),
    ],
)
def test_numbers_beyond_the_limits_name_them(text: str, problem: str) -> None:
    with pytest.raises(FieldValueError) as caught:
        parse_value("budget", NUMBER, text)
    assert str(caught.value) == f"field budget is a number; {problem}, {LIMITS}"


@pytest.mark.parametrize("text", ["Infinity", "NaN", "1e", "e5", ".", "--1", "1.2.3", "١٢"])
def test_what_is_no_number(text: str) -> None:
    with pytest.raises(FieldValueError) as caught:
        parse_value("budget", NUMBER, text)
    assert str(caught.value) == (f"field budget is a number; {text!r} is not one "
                                 "(write digits like 12000 or 12.5)")


def test_text_is_at_most_ten_thousand_characters() -> None:
    assert parse_value("note", TEXT, "x" * 10_000) == "x" * 10_000
    with pytest.raises(FieldValueError) as caught:
        parse_value("note", TEXT, "x" * 10_001)
    assert str(caught.value) == ("field note is text of at most 10,000 characters; the value "
                                 "has 10,001 (shorten it)")


def test_a_refused_value_is_quoted_short() -> None:
    with pytest.raises(FieldValueError) as caught:
        parse_value("when", FieldSpec("when", "When", "date"), "y" * 5000)
    assert str(caught.value) == (f"field when is a date; {'y' * 40!r}… is not one "
                                 "(write it as YYYY-MM-DD, like 2027-03-01)")
