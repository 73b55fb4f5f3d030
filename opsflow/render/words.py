"""Plain English for the parts of an SOP that are written as code.

Conditions (``budget > 10000``), approval policies (``quorum 2/3``, ``veto``,
``not by``), due times and routes become sentences a new team member can
read: "needs 2 approvals from Finance controller; a Requester may not
approve; open at least 72 hours". Names are shown by their titles.

The sentences are plain text; each renderer escapes them for its own output.
This module does not decide anything about a run (that is the engine's job).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from ..lang import model as m

__all__ = [
    "Namer",
    "approval_text",
    "condition_text",
    "due_text",
    "event_text",
    "field_rules_text",
    "join_and",
    "join_or",
    "milestone_due_text",
]

_OPS = {"=": "is", "!=": "is not", "<": "is less than", "<=": "is at most",
        ">": "is more than", ">=": "is at least"}


class Namer:
    """Titles for the ids an SOP refers to (falls back to the id when unknown)."""

    def __init__(self, sop: m.Sop) -> None:
        self.sop = sop
        self._roles = {r.id: r.title for r in sop.roles}
        self._fields = {f.id: f.title for f in sop.fields}
        self._events = {e.id: e for e in sop.events}

    def role(self, ref: m.Ref | str) -> str:
        return self._roles.get(str(ref), str(ref))

    def roles(self, refs: Sequence[m.Ref]) -> tuple[str, ...]:
        return tuple(self.role(r) for r in refs)

    def field(self, ref: m.Ref | str) -> str:
        return self._fields.get(str(ref), str(ref))

    def event(self, name: str) -> m.Event | None:
        return self._events.get(name)


def join_with(items: Sequence[str], word: str) -> str:
    """``a``, ``a and b``, ``a, b and c`` (or with ``or``)."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def join_or(items: Sequence[str]) -> str:
    return join_with(items, "or")


def join_and(items: Sequence[str]) -> str:
    return join_with(items, "and")


def _value(value: m.Value) -> str:
    if value.kind == "text":
        return f"“{value.value}”"
    if isinstance(value.value, dt.date):
        return value.value.isoformat()
    return str(value.value)


def condition_text(cond: m.Condition, namer: Namer) -> str:
    """``budget > 10000`` → ``Budget in EUR is more than 10000``."""
    if isinstance(cond, m.Compare):
        return f"{namer.field(cond.field)} {_OPS[cond.op]} {_value(cond.value)}"
    if isinstance(cond, m.Member):
        verb = "is not one of" if cond.negated else "is one of"
        return f"{namer.field(cond.field)} {verb} {join_or([_value(v) for v in cond.values])}"
    if isinstance(cond, m.Not):
        return f"not ({condition_text(cond.item, namer)})"
    word = "and" if isinstance(cond, m.And) else "or"
    parts = [_nested(item, namer) for item in cond.items]
    return f" {word} ".join(parts)


def _nested(cond: m.Condition, namer: Namer) -> str:
    text = condition_text(cond, namer)
    return f"({text})" if isinstance(cond, (m.And, m.Or)) else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def approval_text(approval: m.Approval, namer: Namer, reads: Sequence[str] = ()) -> str:
    """The policy of an ``approval by`` block as one sentence.

    ``reads`` are the ids of the fields the phase's routes read (what
    ``reopen on change`` watches).
    """
    voters = join_or(namer.roles(approval.by))
    quorum = approval.quorum
    if quorum.kind == "count":
        parts = [f"needs {_plural(quorum.count, 'approval')} from {voters}"]
    elif quorum.kind == "all":
        parts = [f"needs every {join_and(namer.roles(approval.by))} to approve"]
    elif quorum.kind == "majority":
        parts = [f"needs more approvals than rejections among the votes of {voters} "
                 "(a majority of the votes cast; abstentions are not counted)"]
    else:
        parts = [f"needs at least {quorum.numerator}/{quorum.denominator} of the votes cast "
                 f"by {voters} to be approvals (abstentions are not counted)"]
    for ref in approval.not_by:
        parts.append(f"a {namer.role(ref)} in this run may not approve")
    if approval.veto:
        parts.append("a single rejection is a veto")
    if approval.window is not None:
        parts.append(f"open at least {approval.window}")
    if approval.reopen_on_change and reads:
        fields = join_or([namer.field(f) for f in reads])
        parts.append(f"goes back to this approval if {fields} changes after the vote")
    return "; ".join(parts)


def field_rules_text(field: m.Field, namer: Namer, phase_title: Callable[[str], str]) -> str:
    """``Required at start; set by Finance controller`` (empty without rules)."""
    parts = []
    if field.required:
        parts.append("required at start")
    if field.required_before:
        parts.append("required before " + join_or([phase_title(r.name)
                                                   for r in field.required_before]))
    if field.set_by:
        parts.append("set by " + join_or(namer.roles(field.set_by)))
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def due_text(due: m.Duration | None) -> str:
    """The SLA of a phase: ``within 2 business days of the phase starting``."""
    return f"within {due} of the phase starting" if due is not None else ""


def milestone_due_text(due: m.Duration | dt.date | None) -> str:
    if due is None:
        return ""
    if isinstance(due, dt.date):
        return f"due by {due.isoformat()}"
    return f"due {due} after the run starts"


_FIXED_EVENTS = {"handoff": "When the work is done", "approve": "When approved",
                 "reject": "When rejected",
                 "no-quorum": "When the vote cannot reach its quorum"}


def event_text(name: str, namer: Namer, owner: str) -> str:
    """``When approved`` / ``On “Offer withdrawn” (by People operations partner)``."""
    if name in _FIXED_EVENTS:
        return _FIXED_EVENTS[name]
    event = namer.event(name)
    title = event.title if event else name
    who = join_or(namer.roles(event.by)) if event and event.by else owner
    return f"On “{title}” (by {who})"
