"""Column types shared by the tables and the migrations.

:class:`UTCDateTime` makes every datetime come back timezone-aware in UTC on
every backend: PostgreSQL stores ``timestamp with time zone``; SQLite (which
has no datetime type) stores fixed-width ISO 8601 text in UTC, so that text
order is time order and ``<``/``ORDER BY`` work in SQL. Naive datetimes are
refused (a programming error, not a user error): the engine's clock is
always aware.

:class:`JSONDict` is SQLAlchemy's portable JSON type, holding a JSON object.

Reading never raises on a damaged value (text that is not JSON or not a
time, JSON that is not an object, a value of another type in SQLite's
untyped columns): the column comes back as a :class:`Corrupt` marker that
says what is wrong, and :mod:`opsflow.store.queries`, which knows the row,
turns it into a :class:`~opsflow.store.errors.CorruptRowError`. These are
types only; the tables are in :mod:`opsflow.store.schema`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["Corrupt", "JSONDict", "UTCDateTime", "iso_utc", "to_utc"]


class Corrupt(NamedTuple):
    """A stored value that cannot be read back; ``problem`` completes "column X …"."""

    problem: str


class JSONDict(TypeDecorator[dict[str, Any]]):
    """A JSON object; a damaged stored value reads back as :class:`Corrupt`."""

    impl = JSON
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        decode = self.impl_instance.result_processor(dialect, coltype)

        def process(value: Any) -> Any:
            if value is None:
                return None
            try:
                result = decode(value) if decode is not None else value
            except (ValueError, TypeError, RecursionError):
                return Corrupt("is not JSON")
            return result if isinstance(result, dict) else Corrupt("is not a JSON object")

        return process


def to_utc(value: datetime) -> datetime:
    """``value`` converted to UTC; naive datetimes are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """Fixed-width ISO 8601 text in UTC with microseconds (sorts as time sorts)."""
    return to_utc(value).isoformat(timespec="microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {value!r}")
        return iso_utc(value) if dialect.name == "sqlite" else to_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return Corrupt("is not a time")
        if not isinstance(value, datetime):
            return Corrupt("is not a time")
        if value.tzinfo is None or value.utcoffset() is None:
            return Corrupt("is a time without a time zone")
        try:
            return to_utc(value)
        except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 has no UTC datetime
            return Corrupt("is not a time")
