"""The runs tracker's query: filters and sort order read from the URL.

Anything the URL holds is a wish, not a command: an unknown status, sort or a
value too long is ignored (the page shows every run instead), never an error
page and never a query built from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..store.records import RunRecord

__all__ = ["SORTS", "STATUSES", "RunFilter", "sort_runs"]

STATUSES = ("active", "done", "cancelled")
_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)
_KEYS: dict[str, Callable[[RunRecord], Any]] = {
    "due": lambda r: (r.due_at or _FAR, r.id),
    "newest": lambda r: -r.id,
    "oldest": lambda r: r.id,
    "updated": lambda r: (-r.updated_at.timestamp(), r.id),
    "title": lambda r: (r.title.casefold(), r.id),
}
#: sort key -> what the page calls it
SORTS = {"due": "due first", "newest": "newest", "oldest": "oldest",
         "updated": "recently changed", "title": "title"}
_LONGEST = 200


def _one(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name, "").strip()
    return value if value and len(value) <= _LONGEST else None


@dataclass(frozen=True)
class RunFilter:
    status: str | None = None
    sop: str | None = None
    phase: str | None = None
    person: str | None = None
    overdue: bool = False
    sort: str = "due"

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> RunFilter:
        status = _one(query, "status")
        sort = _one(query, "sort") or "due"
        return cls(status=status if status in STATUSES else None, sop=_one(query, "sop"),
                   phase=_one(query, "phase"), person=_one(query, "person"),
                   overdue=query.get("overdue") == "1",
                   sort=sort if sort in _KEYS else "due")


def sort_runs(runs: Sequence[RunRecord], sort: str) -> list[RunRecord]:
    """``runs`` in the order ``sort`` names (``due``: earliest due first, undated last)."""
    return sorted(runs, key=_KEYS.get(sort, _KEYS["due"]))
