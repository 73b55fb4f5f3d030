"""Column types shared by the tables and the migrations.

:class:`UTCDateTime` makes every datetime come back timezone-aware in UTC on
every backend: PostgreSQL stores ``timestamp with time zone``; SQLite (which
has no datetime type) stores fixed-width ISO 8601 text in UTC, so that text
order is time order and ``<``/``ORDER BY`` work in SQL. Naive datetimes are
refused (a programming error, not a user error): the engine's clock is
always aware.

:data:`JSONDict` is SQLAlchemy's portable JSON type. These are types only;
the tables are in :mod:`opsflow.store.schema`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["JSONDict", "UTCDateTime", "iso_utc", "to_utc"]

JSONDict = JSON


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

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return to_utc(value)
