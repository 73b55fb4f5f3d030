"""Errors the store reports to users.

Each is an :class:`~opsflow.errors.OpsflowError` whose message names the
problem and the fix in one line (the CLI prints it as ``error: …``). Database
URLs in messages never contain a password.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import OpsflowError

__all__ = [
    "ConflictError",
    "CorruptRowError",
    "DatabaseUnavailableError",
    "EventTimeBehindError",
    "ForeignDatabaseError",
    "PersonExistsError",
    "RunBusyError",
    "RunIdError",
    "SchemaError",
    "StoreError",
    "UnknownRunError",
    "UnknownSopError",
]


class StoreError(OpsflowError):
    """The root of the store's errors."""


class ConflictError(StoreError):
    """Someone else changed the run between our read and our write."""

    def __init__(self, run_id: int, expected_version: int, actual_version: int) -> None:
        self.run_id = run_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"run {run_id} was changed by someone else while you were acting; run the command again"
        )


class RunBusyError(StoreError):
    """The run stayed locked by another action for longer than the store waits (nothing
    was written)."""

    def __init__(self, run_id: int, waited: float) -> None:
        self.run_id = run_id
        self.waited = waited
        super().__init__(f"run {run_id} is busy: another action on it held it for more than "
                         f"{waited:g} s; nothing was done, try again")


class RunIdError(StoreError, TypeError):
    """A run id that is not a whole number (a library caller's mistake)."""

    def __init__(self, run_id: object) -> None:
        self.run_id = run_id
        super().__init__(f"a run id is a whole number, not {type(run_id).__name__}; give it "
                         "as an int, like 12")


class EventTimeBehindError(ConflictError):
    """The events to append are older than the run's last event, which another
    process recorded after the caller took its time: nothing was written.

    The engine retries with a time no earlier than ``last_at`` (so event times
    never go backwards along a run's chain); a caller of the store does the same.
    """

    def __init__(self, run_id: int, version: int, last_at: datetime) -> None:
        super().__init__(run_id, version, version)
        self.last_at = last_at


class PersonExistsError(StoreError):
    """A person added to the directory is there already (nothing was written)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"'{key}' is in the people directory already; change them with "
                         "`opsflow people edit` instead")


class UnknownRunError(StoreError):
    """No run with that id."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id}; list runs with `opsflow list`")


class UnknownSopError(StoreError):
    """No stored SOP version with that hash."""

    def __init__(self, sop_hash: str, url_display: str) -> None:
        self.sop_hash = sop_hash
        super().__init__(
            f"no SOP version {sop_hash[:12]} is stored in the database at {url_display}; "
            "check that OPSFLOW_DATABASE_URL (or --db) points at the database the run "
            "was started in"
        )


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached, opened or written."""


class SchemaError(StoreError):
    """The database has no opsflow schema, an old one, or a newer one."""


class ForeignDatabaseError(SchemaError):
    """The database holds tables but no opsflow schema revision: another program's data.

    opsflow refuses it and changes nothing (it never adds its tables to it).
    """

    def __init__(self, url_display: str) -> None:
        super().__init__(
            f"the database at {url_display} is not an opsflow database (it has tables but "
            "no opsflow schema revision), so opsflow did not change it; point "
            "OPSFLOW_DATABASE_URL (or --db) at an opsflow database or at a new, empty one"
        )


class CorruptRowError(StoreError):
    """A stored row cannot be read back: a value of the wrong type, not JSON, not a time.

    ``table`` and ``row`` name it (``row`` as a person reads it, e.g. ``run 5``
    or ``event 3 of run 5``), ``column`` and ``problem`` say what is wrong. The
    stored value itself is never shown (it may be huge or hostile).
    """

    def __init__(self, table: str, row: str, column: str, problem: str) -> None:
        self.table = table
        self.row = row
        self.column = column
        self.problem = problem
        super().__init__(
            f"the database is damaged: table {table}, {row}: column {column} {problem}; "
            "restore the database from a backup"
        )
