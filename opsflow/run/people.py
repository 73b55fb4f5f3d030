"""People as the run stage knows them: one canonical key per person.

A person is named by whoever types the name (``--as``, ``--role``, the
library). :func:`person_key` turns a name into the key every rule compares
(start, reassign, votes, separation of duties, inbox): Unicode NFKC
normalised, case-folded, inner white space collapsed to one space. It
refuses names that are empty, longer than :data:`MAX_NAME` characters, or
hold control, format (zero-width, bidi) or other invisible characters, so
``ed``, ``Ed`` and ``ed`` followed by a zero-width space can never count as
three people. A display name, where one is wanted, comes from the people
directory, not from here.

This module does not know about runs or roles.
"""

from __future__ import annotations

import unicodedata

from .errors import RunError

__all__ = ["MAX_NAME", "MAX_PEOPLE", "person_key", "person_keys"]

#: the longest name accepted, in characters
MAX_NAME = 64
#: the most people one role may be bound to (start, reassign, the library)
MAX_PEOPLE = 1000
#: Unicode categories refused in a name: controls, format characters (zero-width,
#: bidi overrides), surrogates, private use, unassigned, line and paragraph separators
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def person_key(name: object, what: str = "a person's name") -> str:
    """The canonical key of ``name`` (see the module docstring), or a :class:`RunError`."""
    if not isinstance(name, str):
        raise RunError(f"{what} must be text, not {type(name).__name__}",
                       "give the name as a string")
    text = unicodedata.normalize("NFKC", name)
    bad = next((c for c in text if unicodedata.category(c) in _REFUSED), None)
    if bad is not None:
        label = unicodedata.name(bad, f"U+{ord(bad):04X}")
        raise RunError(f"{what} contains an invisible or control character ({label})",
                       "type the name with letters, digits and punctuation only")
    key = " ".join(text.split()).casefold()
    if not key:
        raise RunError(f"{what} is empty", "give a name")
    if len(key) > MAX_NAME:
        raise RunError(f"{what} is {len(key)} characters long; at most {MAX_NAME} are allowed",
                       "use a shorter name")
    return key


def person_keys(people: object, what: str) -> list[str]:
    """The keys of a list of names, without repeats, in order; refuses a bare string."""
    if isinstance(people, str) or not isinstance(people, list | tuple):
        raise RunError(f"{what} must be a list of names, not {type(people).__name__}",
                       'give a list, like ["ann", "bob"]')
    if len(people) > MAX_PEOPLE:
        raise RunError(f"{what} are {len(people)} names; at most {MAX_PEOPLE} are allowed",
                       "bind a team's members in smaller roles, or fewer people")
    named = [p for p in people if not (isinstance(p, str) and not p.strip())]
    return list(dict.fromkeys(person_key(p, "a person's name") for p in named))
