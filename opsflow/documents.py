"""Machine-readable documents of what the reading commands show (``--format json``).

Each function turns what the library returns into one JSON object with a
``schema`` field (``"opsflow/status/1"``: the document's kind and version; a
version changes only when a field changes meaning or goes away). The
schemas are JSON Schema files shipped in ``opsflow/schemas/`` and described
in ``docs/json.md``; the tests validate real output against them. Times are
ISO 8601 with their offset (UTC). A person is ``{"key", "name", "active"}``:
the key events keep, and the display name and state from the people
directory (``null`` when the directory does not have them).

No printing and no argument parsing here: the CLI and the web app call these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run.engine import InboxItem, VerifyReport
    from .run.status import RunStatus
    from .store import PersonRecord, RunRecord
    from .store.admin import SchemaState

__all__ = ["SCHEMAS", "db_status", "directory", "inbox", "person", "runs", "status", "verify"]

#: document kind -> its current schema id
SCHEMAS = {kind: f"opsflow/{kind}/1" for kind in
           ("status", "inbox", "list", "history", "verify", "people", "db-status")}

People = Mapping[str, "PersonRecord"]


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def person(key: str, people: People) -> dict[str, Any]:
    """A person as documents show them: key, display name and whether active."""
    found = people.get(key)
    return {"key": key, "name": found.name if found else None,
            "active": found.active if found else None}


def _persons(keys: Iterable[str], people: People) -> list[dict[str, Any]]:
    return [person(k, people) for k in keys]


def status(run: RunStatus, people: People) -> dict[str, Any]:
    """What ``opsflow status`` shows."""
    return {
        "schema": SCHEMAS["status"],
        "run": run.run_id,
        "title": run.title,
        "sop": {"id": run.sop_id, "version": run.sop_version, "path": run.sop_path,
                "file": run.sop_file},
        "status": run.status,
        "outcome": run.outcome,
        "started_at": _time(run.started_at),
        "finished_at": _time(run.finished_at),
        "now": _time(run.now),
        "fields": dict(run.fields),
        "assignments": {role: _persons(keys, people) for role, keys in run.assignments.items()},
        "phases": [{
            "phase": p.phase,
            "title": p.title,
            "owner_role": p.owner_role,
            "owners": _persons(p.owners, people),
            "entered_at": _time(p.entered_at),
            "due_at": _time(p.due_at),
            "overdue": p.overdue,
            "checklist": [{"number": n, "text": text, "done": done}
                          for n, text, done in p.checklist],
            "votes": [{"person": person(who, people), "decision": decision,
                       "comment": comment} for who, decision, comment in p.votes],
            "policy": p.policy,
            "up_next": _persons(p.up_next, people),
            "next_step": p.next_step,
            "notes": list(p.notes),
        } for p in run.phases],
        "milestones": [{
            "id": m.id,
            "title": m.title,
            "owner_role": m.owner_role,
            "owners": _persons(m.owners, people),
            "due_at": _time(m.due_at),
            "reached_at": _time(m.reached_at),
            "overdue": m.overdue,
        } for m in run.milestones],
    }


def inbox(who: str, items: Sequence[InboxItem], people: People) -> dict[str, Any]:
    """What ``opsflow inbox`` shows: everything waiting on ``who``, overdue first."""
    return {
        "schema": SCHEMAS["inbox"],
        "person": person(who, people),
        "items": [{
            "run": entry.item.run_id,
            "run_title": entry.item.run_title,
            "sop": entry.item.sop_id,
            "kind": entry.item.kind,
            "phase": entry.item.phase,
            "title": entry.item.title,
            "due_at": _time(entry.item.due_at),
            "overdue": entry.overdue,
        } for entry in items],
    }


def runs(records: Sequence[RunRecord], now: dt.datetime,
         deactivated: Mapping[int, Sequence[str]] | None = None) -> dict[str, Any]:
    """What ``opsflow list`` shows; ``deactivated``: run -> the deactivated people its
    work waits on."""
    gone = deactivated or {}
    return {
        "schema": SCHEMAS["list"],
        "runs": [{
            "run": r.id,
            "title": r.title,
            "sop": r.sop_id,
            "status": r.status,
            "phases": list(r.phases),
            "started_at": _time(r.started_at),
            "updated_at": _time(r.updated_at),
            "due_at": _time(r.due_at),
            "overdue": r.due_at is not None and r.due_at < now,
            "waits_on_deactivated": list(gone.get(r.id, ())),
        } for r in records],
    }


def verify(reports: Sequence[VerifyReport], problems: Sequence[str] = ()) -> dict[str, Any]:
    """What ``opsflow verify`` finds: per run, and ``problems`` of the whole check."""
    return {
        "schema": SCHEMAS["verify"],
        "ok": not problems and all(r.ok for r in reports),
        "problems": list(problems),
        "runs": [{"run": r.run_id, "events": r.events, "ok": r.ok,
                  "problems": list(r.problems), "notes": list(r.notes)} for r in reports],
    }


def directory(everyone: Sequence[PersonRecord]) -> dict[str, Any]:
    """What ``opsflow people list`` shows."""
    return {
        "schema": SCHEMAS["people"],
        "people": [{"key": p.key, "name": p.name, "email": p.email, "timezone": p.timezone,
                    "teams": list(p.teams), "active": p.active} for p in everyone],
    }


def db_status(state: SchemaState) -> dict[str, Any]:
    """What ``opsflow db status`` shows."""
    return {
        "schema": SCHEMAS["db-status"],
        "source": state.source,
        "database": state.url_display,
        "revision": state.after,
        "head": state.head,
        "current": state.current,
    }


def history(run_id: int, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What ``opsflow history`` shows: the typed events as :func:`opsflow.run.events.to_json`
    gives them."""
    return {"schema": SCHEMAS["history"], "run": run_id, "events": list(events)}


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows of a document as CSV with a header (lists joined by ``;``, a person by their
    key, ``true``/``false``, empty for null); every cell escaped for spreadsheets."""
    from .render.escape import csv_field

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Mapping) and "key" in value:
            return str(value["key"])
        if isinstance(value, list):
            return ";".join(cell(v) for v in value)
        return str(value)

    lines = [",".join(columns)]
    lines += [",".join(csv_field(cell(row.get(c))) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


#: the CSV columns of the tabular documents
INBOX_COLUMNS = ("run", "run_title", "sop", "kind", "phase", "title", "due_at", "overdue")
LIST_COLUMNS = ("run", "title", "sop", "status", "phases", "started_at", "updated_at",
                "due_at", "overdue", "waits_on_deactivated")
PEOPLE_COLUMNS = ("key", "name", "email", "timezone", "teams", "active")
