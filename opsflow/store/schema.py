"""The tables of the opsflow database, as typed SQLAlchemy 2 models.

* ``sops``: one row per exact SOP version a run was started from (hash =
  sha256 of the source text), with its source and the engine's compiled dict.
* ``runs``: the current state row of each run. ``state`` is the engine's
  opaque dict; ``status``, ``phases`` and ``due_at`` are copies kept for
  listing; ``version`` is the optimistic-concurrency counter; ``last_seq``
  and ``last_hash`` are the head of the run's event chain; ``work_digest`` and
  ``assignments_digest`` fingerprint the run's work items and assignments so
  an update rewrites them only when they changed.
* ``events``: the append-only, hash-chained log, primary key (run_id, seq).
* ``work_items``: what waits on whom, indexed on (person, due_at) so a
  person's inbox is one indexed query.
* ``assignments``: role -> person bindings, indexed on person.

The schema is created and changed only by the Alembic migrations in
``opsflow/store/migrations`` (never ``create_all``); a test checks that these
models and the migrations agree. The store's statements
(:mod:`opsflow.store.queries`) use these tables' columns as plain Core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .coltypes import JSONDict, UTCDateTime

__all__ = ["AssignmentRow", "Base", "EventRow", "PersonRow", "RunRow", "SopRow",
           "WorkItemRow"]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base of every opsflow table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDict(),
    }


class SopRow(Base):
    __tablename__ = "sops"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sop_id: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)  # as written in the SOP ("3", "1.2", "")
    path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    compiled: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    #: the SOP file's path relative to its workspace, when it was started from one
    workspace_path: Mapped[str | None] = mapped_column(Text)


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index(None, "sop_id", "status"),
        Index(None, "status"),
        Index(None, "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sop_hash: Mapped[str] = mapped_column(String(64), ForeignKey("sops.hash"))
    sop_id: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    phases: Mapped[str] = mapped_column(Text)
    state: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None]
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    work_digest: Mapped[str] = mapped_column(String(64))
    assignments_digest: Mapped[str] = mapped_column(String(64), server_default="")


class EventRow(Base):
    __tablename__ = "events"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    from_phase: Mapped[str | None] = mapped_column(Text)
    to_phase: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class WorkItemRow(Base):
    __tablename__ = "work_items"
    __table_args__ = (Index(None, "person", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    person: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]


class MarkRow(Base):
    """Facts about the database itself, each recorded once (``movable-clock``: an
    engine with a clock tests move wrote to it, so its event times are not evidence)."""

    __tablename__ = "marks"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class AssignmentRow(Base):
    __tablename__ = "assignments"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    role: Mapped[str] = mapped_column(Text, primary_key=True)
    person: Mapped[str] = mapped_column(Text, primary_key=True, index=True)


class PersonRow(Base):
    """The people directory: who may hold a role (see :mod:`opsflow.run.directory`).

    ``key`` is the canonical person key (:func:`opsflow.run.people.person_key`) that
    events and assignments keep; ``teams`` is a comma-separated, sorted list of team
    names. A person is never deleted, only made inactive, so history keeps meaning."""

    __tablename__ = "people"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(Text)
    teams: Mapped[str] = mapped_column(Text)
    active: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TokenRow(Base):
    """Personal tokens (:mod:`opsflow.identity`): only a hash of each is kept."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    person: Mapped[str] = mapped_column(Text, index=True)
    hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class PasswordRow(Base):
    """The web app's local accounts: an Argon2id hash per person (``opsflow.web``)."""

    __tablename__ = "passwords"

    person: Mapped[str] = mapped_column(Text, primary_key=True)
    hash: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SigninFailureRow(Base):
    """Failed web sign-ins, per person (``opsflow.web.accounts`` limits them)."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_person_at", "person", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
