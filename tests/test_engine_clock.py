"""The clock and due-time arithmetic (business days skip weekends)."""

from __future__ import annotations

import datetime as dt

import pytest

from opsflow.lang.model import Duration
from opsflow.run.clock import FixedClock, SystemClock, add_duration, from_iso, to_iso, utc

UTC = dt.UTC
FRI_15 = dt.datetime(2025, 1, 3, 15, 0, tzinfo=UTC)  # a Friday


def test_fri_plus_one_business_day_is_monday_same_time() -> None:
    assert add_duration(FRI_15, Duration(1, "business_days")) == dt.datetime(
        2025, 1, 6, 15, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("start_day", "amount", "expected_day"),
    [
        (2, 2, 6),  # Thursday + 2 -> Monday
        (6, 5, 13),  # Monday + 5 -> next Monday
        (4, 1, 6),  # Saturday + 1 -> Monday
        (5, 1, 6),  # Sunday + 1 -> Monday
        (6, 10, 20),  # two full weeks
        (6, 0, 6),
    ],
)
def test_business_days(start_day: int, amount: int, expected_day: int) -> None:
    start = dt.datetime(2025, 1, start_day, 10, 30, tzinfo=UTC)
    due = add_duration(start, {"amount": amount, "unit": "business_days"})
    assert due == dt.datetime(2025, 1, expected_day, 10, 30, tzinfo=UTC)
    assert due.weekday() < 5 or amount == 0


@pytest.mark.parametrize(
    ("unit", "delta"),
    [
        ("minutes", dt.timedelta(minutes=30)),
        ("hours", dt.timedelta(hours=30)),
        ("days", dt.timedelta(days=30)),
        ("weeks", dt.timedelta(weeks=30)),
    ],
)
def test_plain_units_count_calendar_time(unit: str, delta: dt.timedelta) -> None:
    assert add_duration(FRI_15, {"amount": 30, "unit": unit}) == FRI_15 + delta
    assert add_duration(FRI_15, Duration(30, unit)) == FRI_15 + delta  # type: ignore[arg-type]


def test_unknown_unit_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="fortnights"):
        add_duration(FRI_15, {"amount": 1, "unit": "fortnights"})


def test_naive_times_are_taken_as_utc_and_other_zones_converted() -> None:
    naive = dt.datetime(2025, 1, 3, 15, 0)
    assert utc(naive) == FRI_15
    paris = dt.datetime(2025, 1, 3, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert utc(paris) == FRI_15 and utc(paris).tzinfo == UTC
    assert add_duration(naive, Duration(1, "hours")).tzinfo == UTC


def test_iso_round_trip() -> None:
    assert to_iso(FRI_15) == "2025-01-03T15:00:00+00:00"
    assert from_iso(to_iso(FRI_15)) == FRI_15


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(FRI_15)
    assert clock.now() == FRI_15 == clock.now()
    assert clock.advance(hours=2) == FRI_15 + dt.timedelta(hours=2)
    clock.set(dt.datetime(2030, 1, 1))
    assert clock.now() == dt.datetime(2030, 1, 1, tzinfo=UTC)


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == dt.timedelta(0)
