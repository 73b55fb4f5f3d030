"""The fingerprint that pins a run to the exact SOP it started with.

The hash is the SHA-256 of the ``.sop`` source text (UTF-8); when the SOP
includes shared files, their texts are part of it too (each appended after
a NUL byte, in include order), because they change what the SOP means.
:func:`file_state` recomputes it from the files on disk so that status can
say whether a run's SOP is older than the file now there — without parsing
anything.

This module does not parse, compile or store SOPs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

__all__ = ["FileState", "file_state", "hash_texts", "read_text"]

FileState = Literal["same", "changed", "missing", "unknown"]


def hash_texts(source: str, included: Iterable[str] = ()) -> str:
    """The SOP hash of a source text and the texts of the files it includes."""
    digest = hashlib.sha256(source.encode("utf-8"))
    for text in included:
        digest.update(b"\0" + text.encode("utf-8"))
    return digest.hexdigest()


def read_text(path: str) -> str | None:
    """A ``.sop`` file's text as the loader sees it, or None if it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return ""


def file_state(pinned_hash: str, path: str, includes: Iterable[str] = ()) -> FileState:
    """``same``, ``changed`` (the file now differs), ``missing`` or ``unknown`` (no path)."""
    if not path or path.startswith("<"):
        return "unknown"
    source = read_text(path)
    if source is None:
        return "missing"
    texts = [read_text(p) for p in includes]
    current = hash_texts(source, (t if t is not None else "\0missing" for t in texts))
    return "same" if current == pinned_hash else "changed"
