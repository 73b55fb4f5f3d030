"""What a store remembers of each run it last read or wrote: the run's head.

A :class:`Head` is the part of a run row an update builds on: the version,
the event chain's head (``last_seq``, ``last_hash``), the fingerprints of the
work items and assignments (and, when this store wrote them, the items
themselves, so an unchanged list is not fingerprinted again) and the fields
that never change after a run is created.

A remembered head is only a guess about the database, never trusted: the
store's update writes ``… WHERE id = :id AND version = :v AND last_seq = :s
AND last_hash = :h AND work_digest = :w AND assignments_digest = :a``, so it
changes the row only if the row is exactly the remembered head; otherwise
nothing is written and the store locks and reads the row as if it had
remembered nothing (see :meth:`opsflow.store.Store.update_run`). That saves
the locking ``SELECT`` on the common path (one run acted on repeatedly, or a
``get_run`` followed by an update) without weakening any check. An action
under the run's lock (:meth:`opsflow.store.Store.act`) compares the locked
row with the remembered head and, if it is the same row version, reuses the
remembered run (its state kept as JSON text) instead of reading it again.

:class:`Heads` is a small bounded map; it is safe to share between threads
(a stale or lost entry only costs the locked read). No SQL here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from .records import RunRecord, WorkItem

__all__ = ["Head", "Heads"]


class Head(NamedTuple):
    """A run row's head as this store last saw it (see the module docstring)."""

    id: int
    sop_hash: str
    sop_id: str
    title: str
    started_at: datetime
    version: int
    last_seq: int
    last_hash: str
    work_digest: str
    assignments_digest: str
    #: the work items and assignments written with this head, if this store wrote them
    work: tuple[WorkItem, ...] | None = None
    assignments: tuple[tuple[str, str], ...] | None = None
    #: the run as this store last wrote it at this head, its state as JSON text (so that
    #: nobody holding the record can change what the next action decides on)
    run: RunRecord | None = None
    state_json: str | None = None

    def same_row(self, other: Head) -> bool:
        """Whether ``other`` is the same row version (what the version-checked update
        compares)."""
        return (self.version, self.last_seq, self.last_hash, self.work_digest,
                self.assignments_digest) == (other.version, other.last_seq, other.last_hash,
                                             other.work_digest, other.assignments_digest)

    @classmethod
    def of(cls, row: Any) -> Head:
        """The head in a row that has (at least) the head columns."""
        return cls(
            row.id,
            row.sop_hash,
            row.sop_id,
            row.title,
            row.started_at,
            row.version,
            row.last_seq,
            row.last_hash,
            row.work_digest,
            row.assignments_digest,
        )


class Heads:
    """The heads of at most ``limit`` runs (all forgotten at once when full)."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._heads: dict[int, Head] = {}

    def latest(self, run_id: int) -> Head | None:
        """The remembered head of ``run_id``, whatever its version."""
        return self._heads.get(run_id)

    def get(self, run_id: int, version: int) -> Head | None:
        """The remembered head of ``run_id`` if it is at ``version``."""
        head = self._heads.get(run_id)
        return head if head is not None and head.version == version else None

    def put(self, head: Head) -> None:
        if len(self._heads) >= self.limit and head.id not in self._heads:
            self._heads.clear()  # cheaper than LRU bookkeeping, and thread-safe
        self._heads[head.id] = head

    def forget(self, run_id: int) -> None:
        self._heads.pop(run_id, None)
