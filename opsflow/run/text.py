"""User text the run stage stores: valid UTF-8 only, and bounded summaries of it.

Text reaches the engine from a terminal (where a byte that is not UTF-8
arrives as a lone surrogate, Python's ``surrogateescape``) and from library
callers. :func:`bad_text` finds text that cannot be stored; :func:`shown`
writes it with the offending bytes as ``\\xff`` escapes, so a refusal can
say what was given. :func:`summary` is what a refused attempt keeps of its
arguments: each text cut to :data:`KEPT` characters and each list to
:data:`KEPT_ITEMS` items, with the length and SHA-256 of what was cut, so
a flood of long attempts cannot fill the audit log and the record still
proves what was sent.

This module does not know about runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["KEPT", "KEPT_ITEMS", "bad_text", "shown", "summary"]

#: the characters of one text argument a refused attempt keeps
KEPT = 200
#: the items of one list argument (people) a refused attempt keeps
KEPT_ITEMS = 20


def _surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def bad_text(value: Any) -> str | None:
    """The first text in ``value`` (text, or lists and dicts of it) that is not valid
    UTF-8 — a lone surrogate, as a byte that is not UTF-8 arrives — or None."""
    if isinstance(value, str):
        return value if _surrogate(value) else None
    if isinstance(value, Mapping):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    for item in items:
        found = bad_text(item)
        if found is not None:
            return found
    return None


def shown(text: str) -> str:
    """``text`` with the bytes that are not UTF-8 written as ``\\xff`` (and any other
    lone surrogate as ``\\udc80``): always valid UTF-8."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _digest(value: Any) -> str:
    data = json.dumps(value, ensure_ascii=True, sort_keys=True) if not isinstance(value, str) \
        else shown(value)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """``value`` if JSON holds it as it is (a bool, a whole number that fits 64 bits,
    None), else its ``repr``, cut: a refused argument of the wrong type is stored as
    what it was, never coerced."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return shown(repr(value))[:KEPT]


def summary(args: Mapping[str, Any]) -> dict[str, Any]:
    """A bounded, storable copy of an attempt's arguments (see the module docstring):
    the arguments, cut, plus ``"cut": {name: {"length": n, "sha256": hex}}`` when any
    was."""
    kept: dict[str, Any] = {}
    cut: dict[str, Any] = {}
    for name, value in args.items():
        name = shown(str(name))[:KEPT]
        if isinstance(value, str):
            text = shown(value)
            if len(text) > KEPT:
                cut[name] = {"length": len(text), "sha256": _digest(value)}
                text = text[:KEPT] + "…"
            kept[name] = text
        elif isinstance(value, list | tuple):
            items = [shown(v)[:KEPT] if isinstance(v, str) else _plain(v)
                     for v in value[:KEPT_ITEMS]]
            if len(value) > KEPT_ITEMS:
                cut[name] = {"length": len(value), "sha256": _digest(
                    [shown(v) if isinstance(v, str) else _plain(v) for v in value])}
            kept[name] = items
        elif isinstance(value, Mapping):
            kept[name] = summary(value)
        else:
            kept[name] = _plain(value)
    if cut:
        kept["cut"] = cut
    return kept
