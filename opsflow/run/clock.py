"""Time for the run engine: the clock object and due-time arithmetic.

Every time the engine uses comes from one :class:`Clock`. In use that is a
*trusted* clock: :class:`StoreClock`, the database server's clock on
PostgreSQL (one clock for every member of a team, whatever their machines
say) and the system clock on SQLite. Tests move a :class:`FixedClock`,
which is not trusted: an engine that writes with it marks the database, and
``verify`` says so. Times are timezone-aware UTC datetimes.
:func:`add_duration` turns an SOP duration (``4 hours``, ``2 business
days``, ``8 business hours``) into a due time on opsflow's default calendar
(:data:`opsflow.calendars.DEFAULT`): business days skip Saturdays and Sundays,
business hours count only the hours of Mondays to Fridays (in UTC; team
calendars with time zones, working hours and holidays are in
:mod:`opsflow.calendars`).

This module does not know about runs, phases or the database, and does not
import the model (``opsflow status`` imports it, and it must start fast).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

__all__ = ["Clock", "FixedClock", "StoreClock", "SystemClock", "add_duration", "from_iso",
           "to_iso", "utc"]

_PLAIN_UNITS = {
    "minutes": dt.timedelta(minutes=1),
    "hours": dt.timedelta(hours=1),
    "days": dt.timedelta(days=1),
    "weeks": dt.timedelta(weeks=1),
}


class DurationLike(Protocol):
    """An SOP duration: :class:`opsflow.lang.model.Duration` has these attributes."""

    @property
    def amount(self) -> int: ...

    @property
    def unit(self) -> str: ...


class Clock(Protocol):
    """Where the engine gets the current time from."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock of this machine."""

    trusted = True

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class _HasNow(Protocol):
    def now(self) -> dt.datetime: ...


class StoreClock:
    """The clock of the store's database: the server's on PostgreSQL, the system's on
    SQLite (``Store.now``); the engine's default."""

    trusted = True

    def __init__(self, store: _HasNow) -> None:
        self.store = store

    def now(self) -> dt.datetime:
        return utc(self.store.now())


class FixedClock:
    """A clock that stands still until a test moves it (not trusted: see the module
    docstring)."""

    trusted = False

    def __init__(self, start: dt.datetime) -> None:
        self._now = utc(start)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = utc(when)

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by ``timedelta(**delta)`` and return the new time."""
        self._now += dt.timedelta(**delta)
        return self._now


def utc(when: dt.datetime) -> dt.datetime:
    """``when`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def to_iso(when: dt.datetime) -> str:
    """The canonical text of a time in run state and events."""
    return utc(when).isoformat()


def from_iso(text: str) -> dt.datetime:
    """The inverse of :func:`to_iso`."""
    return utc(dt.datetime.fromisoformat(text))


def add_duration(start: dt.datetime, duration: DurationLike | Mapping[str, object]
                 ) -> dt.datetime:
    """``start`` plus a duration given as a model :class:`~opsflow.lang.model.Duration` or
    its compiled form ``{"amount": 2, "unit": "business_days"}``.

    Business days count only Mondays to Fridays: Friday 15:00 plus one
    business day is Monday 15:00, and so is Saturday 15:00 plus one
    business day (each step moves one calendar day; only weekdays count).
    Business hours count only the time of Mondays to Fridays: Friday 23:00 plus two
    business hours is Monday 01:00.
    """
    if isinstance(duration, Mapping):
        amount, unit = int(str(duration["amount"])), str(duration["unit"])
    else:
        amount, unit = duration.amount, str(duration.unit)
    start = utc(start)
    if unit in _PLAIN_UNITS:
        return start + amount * _PLAIN_UNITS[unit]
    if unit == "business_hours":
        from ..calendars import DEFAULT

        return DEFAULT.add_hours(start, dt.timedelta(hours=amount))
    if unit != "business_days":
        raise ValueError(f"unknown duration unit {unit!r}")
    when = start
    left = amount
    while left > 0:
        when += dt.timedelta(days=1)
        if when.weekday() < 5:
            left -= 1
    return when
