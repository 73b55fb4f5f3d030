"""People as the run stage knows them: one canonical key per person.

A person is named by whoever types the name (``--as``, ``--role``, the
library). :func:`person_key` turns a name into the key every rule compares
(start, reassign, votes, separation of duties, inbox): Unicode NFKC
normalised, case-folded, inner white space collapsed to one space. So
``ed``, ``Ed`` and ``ED`` are one person. It refuses, by Unicode's own rules:

* every code point the PRECIS framework (RFC 8264, its FreeformClass, as
  the ``precis-i18n`` library implements it from the Unicode data) disallows:
  controls, default-ignorable code points (zero-width characters, the
  variation selectors, the Hangul fillers, U+034F …), old Hangul jamo,
  noncharacters and unassigned code points — characters that render as
  nothing, so ``ed`` and ``ed`` + one of them would be two people;
* symbols outside ASCII (U+2800 BRAILLE PATTERN BLANK renders as a blank);
* a name that mixes scripts beyond what UTS #39 calls highly restrictive
  (one script, or Latin with Han and the Japanese kana, Bopomofo or Hangul),
  so ``еd`` with a Cyrillic ``е`` is refused, with the characters shown by
  code point (script data from ``confusable-homoglyphs``, made from Unicode's
  Scripts.txt).

:func:`lookalikes` finds two different names of one run whose confusable
skeletons (UTS #39: each character replaced by the one it is confusable
with) are equal — whole-script look-alikes such as Cyrillic ``рое`` and Latin
``poe``; the run core refuses to bind both. Names that are plain ASCII take
a fast path and never load the Unicode tables.

A display name, where one is wanted, comes from the people directory, not
from here. This module does not know about runs or roles.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any

from .errors import RunError

__all__ = ["MAX_NAME", "MAX_PEOPLE", "lookalikes", "person_key", "person_keys"]

#: the longest name accepted, in characters
MAX_NAME = 64
#: the most people one role may be bound to (start, reassign, the library)
MAX_PEOPLE = 1000
#: Unicode categories refused in a name: controls, format characters (zero-width,
#: bidi overrides), surrogates, private use, unassigned, line and paragraph separators
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: scripts that may share a name (UTS #39, "highly restrictive"), besides Common
#: and Inherited, which go with any
_SCRIPT_SETS = (frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
                frozenset({"LATIN", "HAN", "BOPOMOFO"}),
                frozenset({"LATIN", "HAN", "HANGUL"}))
_ANY_SCRIPT = frozenset({"COMMON", "INHERITED"})


def _label(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, '(unnamed)')}"


@cache
def _precis() -> Any:
    import precis_i18n

    return precis_i18n.get_profile("FreeFormClass")


@cache
def _scripts() -> Any:
    from confusable_homoglyphs import categories  # type: ignore[import-untyped]

    return categories


def _refuse_unicode(key: str, what: str) -> None:
    """The checks a name with characters outside ASCII needs (see the module docstring)."""
    for char in key:
        try:
            _precis().enforce(char)
        except UnicodeEncodeError as exc:
            reason = str(exc.reason).partition("/")[2].replace("_", " ") or "disallowed"
            raise RunError(f"{what} contains {_label(char)}, which a name may not hold "
                           f"({reason}: it is invisible, a filler or not a character)",
                           "type the name with letters, digits and punctuation only") from None
        if unicodedata.category(char).startswith("S") and not char.isascii():
            raise RunError(f"{what} contains the symbol {_label(char)}",
                           "type the name with letters, digits and punctuation only")
    scripts = {_scripts().alias(c) for c in key} - _ANY_SCRIPT
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_SETS):
        shown = "; ".join(f"{script.lower()}: " + ", ".join(
            _label(c) for c in dict.fromkeys(key) if _scripts().alias(c) == script)
            for script in sorted(scripts))
        raise RunError(f"{what} mixes scripts so that it can imitate another name ({shown})",
                       "type the name in one script")


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
    if not key.isascii():
        _refuse_unicode(key, what)
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


@cache
def _prototypes() -> dict[str, str]:
    """Character -> the character it is confusable with that sorts first (a stand-in for
    UTS #39's prototype, from the confusables data ``confusable-homoglyphs`` ships)."""
    from confusable_homoglyphs import confusables

    table: dict[str, str] = {}
    for char, homoglyphs in confusables.confusables_data.items():
        if len(char) != 1:
            continue
        single = [h["c"] for h in homoglyphs if len(h["c"]) == 1]
        table[char] = min([char, *single])
    return table


def _skeleton(key: str) -> str:
    prototypes = _prototypes()
    return "".join(prototypes.get(c, c) for c in unicodedata.normalize("NFD", key))


def lookalikes(keys: Iterable[str]) -> tuple[str, str] | None:
    """Two different keys among ``keys`` that look alike — equal confusable skeletons,
    one of them not plain ASCII — or None. (Plain ASCII names that UTS #39 also calls
    confusable, ``al`` and ``a1``, are left alone: people see those apart.)"""
    keys = list(dict.fromkeys(keys))
    if all(key.isascii() for key in keys):
        return None
    seen: dict[str, list[str]] = {}
    for key in keys:
        alike = seen.setdefault(_skeleton(key), [])
        other = next((o for o in alike if not (o.isascii() and key.isascii())), None)
        if other is not None:
            return other, key
        alike.append(key)
    return None
