"""Events in words: one line per event, the same in the CLI's ``history`` and the web
app's run page.

Strings from users (names, comments, values) go through :func:`shown`, so a
comment can neither forge a line nor drive a terminal; the web app escapes the
line again for HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event, Moved

__all__ = ["describe", "shown"]


def shown(text: object) -> str:
    """A string from users (names, comments, values) as the terminal may print it.

    The one place history text is escaped: characters that are not printable
    (escape sequences, newlines, other control characters) are shown as
    ``\\x1b``-style escapes, so a comment can neither forge a line nor drive
    the terminal.
    """
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in str(text))


def _people(people: Sequence[str]) -> str:
    return ", ".join(shown(p) for p in people) or "(nobody)"


def _to(phase: str | None) -> str:
    return shown(phase) if phase is not None else "end"


def _move(event: Moved) -> str:
    what = f"{shown(event.trigger)} {shown(event.from_phase)} → {_to(event.to_phase)}"
    if event.auto:
        quorum = "no quorum can be reached" if event.trigger == "no-quorum" else "by the votes"
        what += f" — {quorum}: {shown(event.tally or '')}"
    if event.comment:
        what += f" — {shown(event.comment)}"
    return what


def describe(event: Event) -> str:
    """What one event did, in one line (without its number, time and actor)."""
    from . import events as ev

    match event:
        case ev.Started():
            return f"start → {shown(event.phase)} — {shown(event.title)}"
        case ev.Ticked() | ev.Unticked():
            verb = "tick" if isinstance(event, ev.Ticked) else "untick"
            return f"{verb} {shown(event.phase)} — {event.criterion}. {shown(event.text)}"
        case ev.Voted():
            notes = [shown(event.decision)]
            if event.replaces is not None and event.replaces != event.decision:
                notes.append(f"was {shown(event.replaces)}")
            if not event.counted:
                notes.append("advisory, not counted")
            comment = f" — {shown(event.comment)}" if event.comment else ""
            return f"vote ({', '.join(notes)}) {shown(event.phase)}{comment}"
        case ev.Moved():
            return _move(event)
        case ev.MilestoneReached():
            return f"milestone {shown(event.phase)} — {shown(event.title)}"
        case ev.Joined():
            return f"join {shown(event.block)} → {shown(event.then)}"
        case ev.Finished():
            return f"finish {shown(event.phase)}"
        case ev.FieldSet():
            old = shown(event.previous) if event.previous is not None else "(unset)"
            return f"set {shown(event.field)}: {old} → {shown(event.value)}"
        case ev.Reassigned():
            return (f"reassign {shown(event.role)}: {_people(event.previous)} → "
                    f"{_people(event.people)}")
        case ev.Cancelled():
            where = f" {', '.join(shown(p) for p in event.phases)}" if event.phases else ""
            return f"cancel{where}" + (f" — {shown(event.reason)}" if event.reason else "")
        case ev.Refused():
            where = f" {shown(event.phase)}" if event.phase else ""
            return f"refused {shown(event.attempt.kind)}{where} — {shown(event.reason)}"
        case ev.Reopened():
            return (f"reopen {shown(event.from_phase)} → {shown(event.approval)} — "
                    f"{shown(event.field)} changed")
        case _:
            return f"{shown(event.action)} — unreadable: {shown(event.reason)}"
