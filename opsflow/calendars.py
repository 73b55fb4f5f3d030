"""Team calendars: when a team works, so that due times count business time.

A :class:`Calendar` has a time zone (an IANA name, through :mod:`zoneinfo`),
working hours per weekday, public holidays of a country (and region) from the
``holidays`` package (python-holidays, kept up to date by its maintainers for
well over a hundred countries), explicit extra holidays and closures (a date
range the team does not work, e.g. between Christmas and New Year).

Two kinds of business time:

* **Business days** step through the calendar's local days: ``start`` plus N
  business days is the same local wall-clock time on the Nth later day that is
  a working day (one with working hours that is no holiday or closure) —
  Friday 15:00 plus one business day is Monday 15:00, or Tuesday 15:00 when
  Monday is a holiday. Across a daylight-saving switch the local time stays,
  so the UTC distance is 23 or 25 hours.
* **Business hours** count working time only: :meth:`Calendar.add_hours` walks
  forward through the working intervals, :meth:`Calendar.working_time`
  measures the working time between two instants. Both work in UTC between
  interval ends built in local time, so an interval across a DST switch has its
  real length. Adding then measuring gives the duration back, and measuring is
  additive over adjacent intervals (the tests check both, and agree with a
  minute-by-minute count).

:data:`DEFAULT` is opsflow's behaviour without a calendar: Monday to Friday,
whole days, UTC, no holidays.

Bad settings (an unknown time zone, country or region, hours that are not
``HH:MM-HH:MM``) are one :class:`CalendarError` naming the setting and the fix.
This module knows nothing of runs or SOPs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import OpsflowError

__all__ = ["DEFAULT", "WEEKDAYS", "Calendar", "CalendarError", "calendar"]

#: weekday names as settings spell them, Monday first (``date.weekday()`` order)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = 24 * 60
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: the longest span measured or walked, in days (a due time is never decades away;
#: a calendar with no working time at all must not loop forever)
MAX_DAYS = 366 * 20


class CalendarError(OpsflowError):
    """A calendar setting opsflow cannot use; the message names it and the fix."""


#: minutes from local midnight: (start, end), end after start, at most 24:00
Interval = tuple[int, int]


@dataclass(frozen=True)
class Calendar:
    """When a team works (see the module docstring)."""

    timezone: str = "UTC"
    #: weekday (0 = Monday) -> working intervals, in minutes from local midnight
    hours: Mapping[int, tuple[Interval, ...]] = field(default_factory=lambda: {
        day: ((0, _DAY),) for day in range(5)})
    #: ISO country code for public holidays (``"DE"``), and a region (``"BY"``)
    country: str | None = None
    subdivision: str | None = None
    #: extra days off, and closed ranges (first, last), both inclusive
    holidays: frozenset[dt.date] = frozenset()
    closures: tuple[tuple[dt.date, dt.date], ...] = ()

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _public(self) -> Any:
        if self.country is None:
            return None
        import holidays

        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether the team works on local date ``day`` (it has hours, and is no holiday
        or closure)."""
        if not self.hours.get(day.weekday()) or day in self.holidays:
            return False
        if any(first <= day <= last for first, last in self.closures):
            return False
        return self._public is None or day not in self._public

    def holiday_name(self, day: dt.date) -> str | None:
        """The public holiday on ``day``, if the country has one then."""
        if self._public is None:
            return None
        name = self._public.get(day)
        return str(name) if name else None

    # ---- business days ----------------------------------------------------------

    def add_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """``start`` plus ``days`` business days (see the module docstring), in UTC."""
        local = _aware(start).astimezone(self.zone)
        day, left = local.date(), days
        for _ in range(MAX_DAYS):
            if left <= 0:
                break
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        else:
            raise CalendarError(f"the calendar has no {days} working days in the "
                                f"{MAX_DAYS // 366} years after {start:%Y-%m-%d}; give it "
                                "working hours")
        wall = dt.datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=self.zone)
        return _utc_of(wall)

    # ---- business hours -----------------------------------------------------------

    def _intervals(self, first: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The working intervals in UTC from local date ``first`` on, in order."""
        for offset in range(MAX_DAYS):
            day = first + dt.timedelta(days=offset)
            if not self.is_working_day(day):
                continue
            for begin, end in self.hours.get(day.weekday(), ()):
                yield self._instant(day, begin), self._instant(day, end)

    def _instant(self, day: dt.date, minutes: int) -> dt.datetime:
        day += dt.timedelta(days=minutes // _DAY)
        minutes %= _DAY
        wall = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return _utc_of(wall)

    def working_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """The working time between two instants (zero when ``end`` is not after
        ``start``)."""
        start, end = _aware(start), _aware(end)
        total = dt.timedelta()
        if end <= start:
            return total
        first = start.astimezone(self.zone).date() - dt.timedelta(days=1)
        last = end.astimezone(self.zone).date() + dt.timedelta(days=1)
        for begin, finish in self._intervals(first):
            if begin.astimezone(self.zone).date() > last:
                break
            low, high = max(begin, start), min(finish, end)
            if high > low:
                total += high - low
        return total

    def add_hours(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The instant when ``duration`` of working time after ``start`` has passed (the
        end of that working time; ``start`` itself for a zero duration)."""
        start = _aware(start)
        left = duration
        if left <= dt.timedelta():
            return _utc_of(start)
        first = start.astimezone(self.zone).date() - dt.timedelta(days=1)
        for begin, finish in self._intervals(first):
            low = max(begin, start)
            if finish <= low:
                continue
            if finish - low >= left:
                return _utc_of(low + left)
            left -= finish - low
        raise CalendarError(f"the calendar has no {duration} of working time in the "
                            f"{MAX_DAYS // 366} years after {start:%Y-%m-%d}; give it working "
                            "hours")


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _utc_of(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


#: opsflow without a calendar: Monday to Friday, whole days, UTC
DEFAULT = Calendar()


# ---- settings ------------------------------------------------------------------------


def _interval(text: str, where: str) -> Interval:
    found = _HOURS.match(text)
    if found is None:
        raise CalendarError(f"{where}: {text[:40]!r} is not working hours; write them like "
                            '"09:00-17:00"')
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    begin, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or h1 > 23 or end > _DAY or end <= begin:
        raise CalendarError(f"{where}: {text!r} is not a span of one day; write it like "
                            '"09:00-17:00" (ending after it starts, at most 24:00)')
    return begin, end


def _day_hours(value: object, where: str) -> tuple[Interval, ...]:
    spans = [value] if isinstance(value, str) else value
    if not isinstance(spans, list | tuple) or not all(isinstance(s, str) for s in spans):
        raise CalendarError(f'{where} must be hours like "09:00-17:00" or a list of them, '
                            'like ["09:00-12:00", "13:00-17:00"]')
    intervals = sorted(_interval(s, where) for s in spans if s.strip())
    for (_, end), (begin, _) in pairwise(intervals):
        if begin < end:
            raise CalendarError(f"{where}: the working hours overlap; list each span once")
    return tuple(intervals)


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarError(f"{where}: {str(value)[:40]!r} is not a date; write it like "
                        "2026-12-24")


def calendar(settings: Mapping[str, Any], where: str = "calendar") -> Calendar:
    """A checked :class:`Calendar` from settings (as ``opsflow.toml`` holds them)::

        timezone = "Europe/Berlin"
        country = "DE"              # public holidays (python-holidays)
        subdivision = "BY"          # and a region's
        hours = "09:00-17:00"       # Monday to Friday; or per day:
        # hours = {mon = "09:00-17:00", fri = ["09:00-12:00"], sat = ""}
        holidays = ["2026-12-24"]
        closures = [["2026-12-27", "2026-12-31"]]
    """
    known = ("timezone", "country", "subdivision", "hours", "holidays", "closures")
    for key in settings:
        if key not in known:
            raise CalendarError(f"{where}: unknown setting {str(key)[:40]!r}; the settings "
                                f"are {', '.join(known)}")
    zone = settings.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{where}: {str(zone)[:60]!r} is not a time zone; use an IANA "
                            'name, like timezone = "Europe/Berlin"') from None
    hours = _hours(settings.get("hours", "00:00-24:00"), where)
    country, subdivision = settings.get("country"), settings.get("subdivision")
    if country is not None or subdivision is not None:
        _check_country(country, subdivision, where)
    holidays = frozenset(_date(d, f"{where}.holidays") for d in _list(
        settings.get("holidays", []), f"{where}.holidays", '["2026-12-24"]'))
    closures = []
    for pair in _list(settings.get("closures", []), f"{where}.closures",
                      '[["2026-12-27", "2026-12-31"]]'):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise CalendarError(f"{where}.closures: each closure is [first, last], like "
                                '["2026-12-27", "2026-12-31"]')
        first, last = (_date(d, f"{where}.closures") for d in pair)
        if last < first:
            raise CalendarError(f"{where}.closures: {first} to {last} ends before it starts")
        closures.append((first, last))
    return Calendar(str(zone), hours, country, subdivision, holidays, tuple(closures))


def _list(value: object, where: str, example: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise CalendarError(f"{where} must be a list, like {example}")
    return value


def _hours(value: object, where: str) -> dict[int, tuple[Interval, ...]]:
    if isinstance(value, str | list | tuple):
        week = _day_hours(value, f"{where}.hours")
        return {day: week for day in range(5)}
    if not isinstance(value, Mapping):
        raise CalendarError(f'{where}.hours must be hours like "09:00-17:00" (Monday to '
                            'Friday) or a table by day, like {mon = "09:00-17:00"}')
    days: dict[int, tuple[Interval, ...]] = {}
    for name, spans in value.items():
        if name not in WEEKDAYS:
            raise CalendarError(f"{where}.hours: {str(name)[:20]!r} is not a day; the days "
                                f"are {', '.join(WEEKDAYS)}")
        days[WEEKDAYS.index(name)] = _day_hours(spans, f"{where}.hours.{name}")
    return days


def _check_country(country: object, subdivision: object, where: str) -> None:
    import holidays

    if country is None:
        raise CalendarError(f"{where}: a subdivision needs its country, like country = \"DE\"")
    if not isinstance(country, str) or not country.strip():
        raise CalendarError(f'{where}.country must be an ISO 3166 code, like country = "DE"')
    if subdivision is not None and not isinstance(subdivision, str):
        raise CalendarError(f'{where}.subdivision must be text, like subdivision = "BY"')
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        supported = holidays.list_supported_countries()
        if country not in supported:
            raise CalendarError(f"{where}: opsflow knows no public holidays of country "
                                f"{country[:10]!r}; use an ISO 3166 code such as DE, FR, "
                                "US or GB") from None
        regions = ", ".join(supported[country][:12]) or "none"
        raise CalendarError(f"{where}: {country} has no region {str(subdivision)[:10]!r}; "
                            f"its regions: {regions}") from None

