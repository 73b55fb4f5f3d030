"""The state of one run, as plain JSON-serialisable data.

:class:`RunState` is what the store keeps (opaquely) in a run's ``state``
column and what replaying the run's events rebuilds: status and outcome,
the active tokens (one per active phase; several while parallel tracks
run, each with when it entered its phase and when it is due), ticked
criteria and votes per phase, field values (canonical text), role
assignments and reached milestones. ``to_dict``/``from_dict`` round-trip
exactly; times are ISO-8601 UTC text.

This module holds state; it does not change it (see :mod:`opsflow.run.core`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["RunState", "Status", "TokenState"]

Status = Literal["active", "done", "cancelled"]


@dataclass
class TokenState:
    """One active phase of a run.

    ``tracks`` is the stack of parallel tracks the token is in, innermost
    last, as ``[block, track index]`` pairs.
    """

    phase: str
    entered_at: str
    due_at: str | None = None
    tracks: list[list[Any]] = field(default_factory=list)


@dataclass
class RunState:
    """Everything that changes during a run (see the module docstring)."""

    status: Status = "active"
    #: the end phase the run finished in, or "cancelled"
    outcome: str | None = None
    started_at: str = ""
    finished_at: str | None = None
    tokens: list[TokenState] = field(default_factory=list)
    #: phase -> ticked criterion numbers (1-based, sorted)
    ticked: dict[str, list[int]] = field(default_factory=dict)
    #: phase -> person -> {"decision", "comment", "at"} (the latest vote only)
    votes: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    #: field id -> canonical text
    fields: dict[str, str] = field(default_factory=dict)
    #: role id -> people, in the order given
    assignments: dict[str, list[str]] = field(default_factory=dict)
    #: milestone id -> when it was reached
    milestones: dict[str, str] = field(default_factory=dict)
    #: parallel block -> indexes of the tracks that have joined
    joined: dict[str, list[int]] = field(default_factory=dict)
    #: role -> everybody who has held it in this run, in order (separation of duties
    #: is judged on this: who requested once stays the requester for ``not by``)
    held: dict[str, list[str]] = field(default_factory=dict)
    #: the approval phases granted and not entered since, in the order they were
    #: granted: the fields their routes read are frozen (they cannot change unless
    #: every approval that read them says ``reopen on change``)
    granted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A fresh plain-JSON dict (no container is shared with this state)."""
        return {
            "status": self.status,
            "outcome": self.outcome,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "tokens": [{"phase": t.phase, "entered_at": t.entered_at, "due_at": t.due_at,
                        "tracks": [list(pair) for pair in t.tracks]} for t in self.tokens],
            "ticked": {phase: list(numbers) for phase, numbers in self.ticked.items()},
            "votes": {phase: {person: dict(vote) for person, vote in votes.items()}
                      for phase, votes in self.votes.items()},
            "fields": dict(self.fields),
            "assignments": {role: list(people) for role, people in self.assignments.items()},
            "milestones": dict(self.milestones),
            "joined": {block: list(tracks) for block, tracks in self.joined.items()},
            "held": {role: list(people) for role, people in self.held.items()},
            "granted": list(self.granted),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        """The state a :meth:`to_dict` dict describes.

        It shares the dict's lists and dicts (reading a stored run costs no
        copy); :meth:`copy` it before changing it, as the run core does. A state
        stored before ``held`` existed reads its assignments as who held each role;
        one stored before ``granted`` (with ``decided``: field -> the approval that
        granted on it, which kept only the latest grant of a field) reads the
        approvals it names (the engine rebuilds such a state from its events).
        """
        if "held" not in data:
            data = {**data, "held": {r: list(p) for r, p in data.get("assignments", {}).items()}}
        if "decided" in data:
            decided = dict(data["decided"] or {})
            data = {k: v for k, v in data.items() if k != "decided"}
            data.setdefault("granted", list(dict.fromkeys(decided.values())))
        tokens = [TokenState(**t) for t in data.get("tokens", [])]
        return cls(**{**data, "tokens": tokens})

    def copy(self) -> RunState:
        return RunState.from_dict(self.to_dict())

    @property
    def phases(self) -> list[str]:
        """The active phases, in the order they were entered."""
        return [t.phase for t in self.tokens]

    def token(self, phase: str) -> TokenState | None:
        return next((t for t in self.tokens if t.phase == phase), None)

    def holders(self, roles: Iterable[str]) -> list[str]:
        """The people bound to any of ``roles``, without repeats, in order."""
        return list(dict.fromkeys(p for r in roles for p in self.assignments.get(r, [])))

    def due_at(self) -> dt.datetime | None:
        """The earliest due time of the active phases."""
        dues = [dt.datetime.fromisoformat(t.due_at) for t in self.tokens if t.due_at]
        return min(dues) if dues else None

    def ever_held(self, roles: Iterable[str]) -> set[str]:
        """Everybody who has held any of ``roles`` in this run (now or before)."""
        return {p for r in roles for p in [*self.held.get(r, []), *self.assignments.get(r, [])]}

    def people(self) -> list[str]:
        """Everybody bound to some role of the run, sorted."""
        return sorted({p for people in self.assignments.values() for p in people})
