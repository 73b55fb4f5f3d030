"""The start-a-run form, made from an SOP: a title, a person picker per role and a
typed input per field.

This module only turns the SOP into form inputs and the submitted form back into
:meth:`opsflow.run.engine.Engine.start`'s arguments; every rule (a title is
needed, required fields, who must be bound, a value of the wrong type, people
outside the directory) is the engine's, so the form refuses exactly what
``opsflow start`` refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..lang.model import Sop
from ..store.records import PersonRecord as Person

__all__ = ["FieldInput", "RoleInput", "StartForm", "form_for", "submitted"]

#: the HTML input for each field type (``choice`` is a select)
INPUT_TYPES = {"text": "text", "number": "number", "date": "date", "choice": "select"}


@dataclass(frozen=True)
class RoleInput:
    id: str
    title: str
    description: str
    chosen: tuple[str, ...]


@dataclass(frozen=True)
class FieldInput:
    id: str
    title: str
    description: str
    input: str
    choices: tuple[str, ...]
    required: bool
    value: str


@dataclass(frozen=True)
class StartForm:
    sop_id: str
    sop_title: str
    title: str
    roles: tuple[RoleInput, ...]
    fields: tuple[FieldInput, ...]
    people: tuple[Person, ...]


def form_for(sop: Sop, people: Sequence[Person], title: str = "",
             chosen: Mapping[str, Sequence[str]] | None = None,
             values: Mapping[str, str] | None = None) -> StartForm:
    """The form for ``sop``, filled with what was sent (after a refusal)."""
    chosen, values = chosen or {}, values or {}
    roles = tuple(RoleInput(r.id, r.title, r.description, tuple(chosen.get(r.id, ())))
                  for r in sop.roles)
    fields = tuple(FieldInput(f.id, f.title, f.description, INPUT_TYPES[f.type.kind],
                              f.type.choices, f.required, values.get(f.id, ""))
                   for f in sop.fields)
    active = tuple(sorted((p for p in people if p.active),
                          key=lambda p: ((p.name or p.key).casefold(), p.key)))
    return StartForm(sop.id, sop.title, title, roles, fields, active)


def submitted(sop: Sop, form: Mapping[str, Sequence[str]]
              ) -> tuple[str, dict[str, list[str]], dict[str, str]]:
    """Title, role -> people and field -> value from a posted form (``role.ID`` may be
    sent several times, ``field.ID`` once). Empty choices are left out; names the SOP
    does not declare are ignored (the form never sends them)."""
    title = " ".join(form.get("title", [""])[0].split())
    assignments: dict[str, list[str]] = {}
    for role in sop.roles:
        people = [p.strip() for p in form.get(f"role.{role.id}", []) if p.strip()]
        if people:
            assignments[role.id] = list(dict.fromkeys(people))
    fields: dict[str, str] = {}
    for declared in sop.fields:
        value = (form.get(f"field.{declared.id}") or [""])[0].strip()
        if value:
            fields[declared.id] = value
    return title, assignments, fields
