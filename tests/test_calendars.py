"""Issue 10 (1, 2): team calendars — time zones, working hours, public holidays
(python-holidays), extra holidays and closures — and business time on them.

Properties (Hypothesis): adding working time then measuring gives it back;
measuring is additive over adjacent intervals; it agrees with a minute-by-minute
count on random intervals, across weekends, holidays and daylight-saving switches.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsflow.calendars import DEFAULT, WEEKDAYS, Calendar, CalendarError, calendar

UTC = dt.UTC
BERLIN = calendar({"timezone": "Europe/Berlin", "country": "DE", "subdivision": "BY",
                   "hours": "09:00-17:00", "holidays": ["2026-06-01"],
                   "closures": [["2026-12-28", "2026-12-31"]]})
NEW_YORK = calendar({"timezone": "America/New_York", "country": "US",
                     "hours": {"mon": ["08:30-12:00", "13:00-17:30"], "tue": "08:30-17:30",
                               "wed": "08:30-17:30", "thu": "08:30-17:30", "fri": "08:30-15:00",
                               "sat": "10:00-14:00"}})
CALENDARS = {"default": DEFAULT, "berlin": BERLIN, "new-york": NEW_YORK}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def test_business_days_skip_weekends_holidays_and_closures() -> None:
    friday = at("2026-03-06T15:00:00+00:00")
    assert DEFAULT.add_days(friday, 1) == at("2026-03-09T15:00:00+00:00")
    # Christmas Eve (Thu) + 1: the 25th and 26th are public holidays in Germany, then the
    # weekend, then the team's closure from the 28th to the 31st
    eve = at("2026-12-24T10:00:00+01:00")
    assert BERLIN.add_days(eve, 1) == at("2027-01-04T10:00:00+01:00")  # Jan 1: holiday
    assert BERLIN.holiday_name(dt.date(2026, 12, 25)) is not None
    assert BERLIN.is_working_day(dt.date(2026, 6, 1)) is False  # the team's own day off
    # across the spring switch the local time stays: 71 hours, not 72
    before = at("2026-03-27T09:00:00+01:00")
    after = BERLIN.add_days(before, 1)
    assert after == at("2026-03-30T09:00:00+02:00") and after - before == dt.timedelta(hours=71)


def test_business_hours_walk_the_working_intervals() -> None:
    # Friday 16:00 in Berlin + 2 working hours: one on Friday, one on Monday from 09:00
    start = at("2026-03-06T16:00:00+01:00")
    assert BERLIN.add_hours(start, dt.timedelta(hours=2)) == at("2026-03-09T10:00:00+01:00")
    assert BERLIN.working_time(start, at("2026-03-09T10:00:00+01:00")) == dt.timedelta(hours=2)
    # a lunch break and a short Friday in New York
    monday = at("2026-03-09T11:00:00-04:00")
    assert NEW_YORK.add_hours(monday, dt.timedelta(hours=2)) == at("2026-03-09T14:00:00-04:00")
    assert NEW_YORK.add_hours(monday, dt.timedelta(0)) == monday
    # the whole-day default counts the 23-hour day of a switch as 23 hours
    assert DEFAULT.working_time(at("2026-03-30T00:00:00+00:00"),
                                at("2026-03-31T00:00:00+00:00")) == dt.timedelta(hours=24)
    day = calendar({"timezone": "Europe/Berlin",  # every day, whole days: Sunday the 29th
                    "hours": {d: "00:00-24:00" for d in WEEKDAYS}})
    assert day.working_time(at("2026-03-29T00:00:00+01:00"),
                            at("2026-03-30T00:00:00+02:00")) == dt.timedelta(hours=23)


def oracle(cal: Calendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working minutes counted one by one (the minute starting at each instant)."""
    minutes, moment = 0, start
    while moment < end:
        local = moment.astimezone(cal.zone)
        of_day = local.hour * 60 + local.minute
        if cal.is_working_day(local.date()) and any(
                begin <= of_day < finish for begin, finish in cal.hours.get(local.weekday(), ())):
            minutes += 1
        moment += dt.timedelta(minutes=1)
    return dt.timedelta(minutes=minutes)


#: instants of 2026 at whole minutes, DST switches and holidays included
INSTANTS = st.integers(0, 365 * 24 * 60).map(
    lambda m: dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=m))
NAMES = st.sampled_from(sorted(CALENDARS))


@settings(max_examples=150, deadline=None)
@given(NAMES, INSTANTS, st.integers(0, 120 * 60))
def test_adding_then_measuring_gives_the_duration_back(name: str, start: dt.datetime,
                                                       minutes: int) -> None:
    cal = CALENDARS[name]
    duration = dt.timedelta(minutes=minutes)
    end = cal.add_hours(start, duration)
    assert end >= start and cal.working_time(start, end) == duration


@settings(max_examples=150, deadline=None)
@given(NAMES, INSTANTS, st.integers(0, 20 * 24 * 60), st.integers(0, 20 * 24 * 60))
def test_measuring_is_additive(name: str, a: dt.datetime, gap: int, more: int) -> None:
    cal = CALENDARS[name]
    b, c = a + dt.timedelta(minutes=gap), a + dt.timedelta(minutes=gap + more)
    assert cal.working_time(a, b) + cal.working_time(b, c) == cal.working_time(a, c)


@settings(max_examples=40, deadline=None)
@given(NAMES, INSTANTS, st.integers(0, 3 * 24 * 60))
def test_measuring_agrees_with_counting_minutes(name: str, start: dt.datetime,
                                                minutes: int) -> None:
    cal = CALENDARS[name]
    end = start + dt.timedelta(minutes=minutes)
    assert cal.working_time(start, end) == oracle(cal, start, end)


@pytest.mark.parametrize("switch", ["2026-03-29T00:30:00+00:00", "2026-10-25T00:30:00+00:00",
                                    "2026-03-08T06:30:00+00:00", "2026-11-01T05:30:00+00:00"])
def test_the_oracle_holds_across_each_switch(switch: str) -> None:
    start = at(switch) - dt.timedelta(days=1)
    for cal in CALENDARS.values():
        end = start + dt.timedelta(days=3)
        assert cal.working_time(start, end) == oracle(cal, start, end)


@pytest.mark.parametrize(("settings_", "message"), [
    ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone"),
    ({"country": "XX"}, "knows no public holidays of country 'XX'"),
    ({"country": "DE", "subdivision": "ZZ"}, "DE has no region 'ZZ'; its regions: BB, BE"),
    ({"subdivision": "BY"}, "a subdivision needs its country"),
    ({"country": 7}, "country must be an ISO 3166 code"),
    ({"hours": "9 to 5"}, "'9 to 5' is not working hours"),
    ({"hours": "17:00-09:00"}, "is not a span of one day"),
    ({"hours": ["09:00-13:00", "12:00-17:00"]}, "the working hours overlap"),
    ({"hours": {"monday": "09:00-17:00"}}, "'monday' is not a day"),
    ({"holidays": ["24.12.2026"]}, "'24.12.2026' is not a date"),
    ({"closures": [["2026-12-31", "2026-12-27"]]}, "ends before it starts"),
    ({"timzone": "UTC"}, "unknown setting 'timzone'"),
])
def test_bad_settings_are_refused_clearly(settings_: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message.replace("(", r"\(").replace(")", r"\)")):
        calendar(settings_)


def test_a_calendar_without_working_time_stops_with_a_message() -> None:
    never = calendar({"hours": {}})
    with pytest.raises(CalendarError, match="no 1 working days"):
        never.add_days(at("2026-01-01T00:00:00+00:00"), 1)
    with pytest.raises(CalendarError, match="working time"):
        never.add_hours(at("2026-01-01T00:00:00+00:00"), dt.timedelta(hours=1))


def test_business_hours_in_the_language(tmp_path: Path) -> None:
    import opsflow
    from opsflow.run.clock import FixedClock
    from opsflow.run.engine import Engine
    from opsflow.store import Store

    path = tmp_path / "hours.sop"
    path.write_text('sop hours "Hours"\n  owner lead\nrole lead "Lead"\n'
                    'phase a "A"\n  owner lead\n  due 8 business hours\n  handoff to b\n'
                    'phase b "B"\n  owner lead\n  due 1 business hour\n  end\n', "utf-8")
    sop = opsflow.load(path)
    assert [str(p.due) for p in sop.phases] == ["8 business hours", "1 business hour"]
    friday_evening = at("2026-12-04T20:00:00+00:00")
    with Engine(Store.open(f"sqlite:///{tmp_path / 'h.db'}"), FixedClock(friday_evening)) as e:
        run = e.start(path, "Hours", {"lead": ["lee"]}, actor="lee")
        assert e.status(run).phases[0].due_at == at("2026-12-07T04:00:00+00:00")


def test_a_time_zone_this_machine_lacks_shows_utc() -> None:
    from opsflow.run.status import when

    moment = at("2026-01-01T08:00:00+00:00")
    assert when(moment, "Europe/Berlin") == "2026-01-01 09:00 CET"
    assert when(moment, "Nowhere/Land") == "2026-01-01 08:00 UTC"  # never a traceback
