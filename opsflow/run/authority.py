"""Who may do what in a run, and the words that say so when someone may not.

The SOP gives each action to roles: a phase's owner ticks its checklist and
hands it off; an approval's roles vote (minus ``not by`` people); an
event's ``by`` roles fire it (the phase owner when it names none); the
active phases' accountable roles or the SOP owner reassign roles (the SOP
owner role only by its holders); the SOP owner cancels. :func:`require`
refuses anybody else with a :class:`NotAllowed` that names who may do it.

This module does not change runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .errors import NotAllowed
from .state import RunState

__all__ = ["listing", "require", "roles_text", "who_may"]


def roles_text(roles: Sequence[str]) -> str:
    """``role writer`` / ``roles editor or account``."""
    names = list(dict.fromkeys(roles))
    if len(names) == 1:
        return f"role {names[0]}"
    return "roles " + ", ".join(names[:-1]) + " or " + names[-1]


def listing(items: Iterable[str], empty: str = "none") -> str:
    """``a, b, c``, or ``empty`` when there is nothing to list."""
    names = list(items)
    return ", ".join(names) if names else empty


def who_may(state: RunState, roles: Sequence[str]) -> str:
    """``role writer (alice)``, or ``role writer (nobody holds it)``."""
    people = state.holders(roles)
    return f"{roles_text(roles)} ({listing(people, 'nobody holds it')})"


def require(state: RunState, actor: str, roles: Sequence[str], what: str) -> None:
    """Refuse ``actor`` unless bound to one of ``roles``; ``what`` says the action."""
    if actor in state.holders(roles):
        return
    fix = "" if state.holders(roles) else "ask the SOP owner to bind someone to the role"
    raise NotAllowed(f"{actor} may not {what}; only {who_may(state, roles)} may", fix,
                     code="not-allowed")
