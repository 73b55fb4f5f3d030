"""opsflow's persistence layer: runs, hash-chained events and SOP versions.

``Store.open()`` connects to SQLite (the default, in ``<workspace>/.opsflow/``)
or PostgreSQL (``OPSFLOW_DATABASE_URL``) and checks the schema revision. The
engine reads and writes runs only through :class:`Store` and the records
below. Importing this package loads SQLAlchemy but not Alembic (only needed
when migrating), Lark or Jinja2.
"""

from __future__ import annotations

from .database import ENV_VAR
from .errors import (
    ConflictError,
    CorruptRowError,
    DatabaseUnavailableError,
    EventTimeBehindError,
    ForeignDatabaseError,
    PersonExistsError,
    RunBusyError,
    RunIdError,
    SchemaError,
    StoreError,
    UnknownRunError,
    UnknownSopError,
)
from .records import (
    EventDraft,
    EventRecord,
    JsonDict,
    NewRun,
    PersonRecord,
    Refusal,
    RunRecord,
    SopRecord,
    StateChange,
    WorkItem,
    WorkItemRecord,
)
from .store import Store

__all__ = [
    "ENV_VAR",
    "ConflictError",
    "CorruptRowError",
    "DatabaseUnavailableError",
    "EventDraft",
    "EventRecord",
    "EventTimeBehindError",
    "ForeignDatabaseError",
    "JsonDict",
    "NewRun",
    "PersonExistsError",
    "PersonRecord",
    "Refusal",
    "RunBusyError",
    "RunIdError",
    "RunRecord",
    "SchemaError",
    "SopRecord",
    "StateChange",
    "Store",
    "StoreError",
    "UnknownRunError",
    "UnknownSopError",
    "WorkItem",
    "WorkItemRecord",
]
