"""The publish manifest: what a site folder was built from.

``.opsflow-site.json`` in the output folder records the template version,
whether diagrams were drawn with Graphviz, and for every source file its
hash, the key its pages were rendered from, the files written for it and
the few facts the index needs (title, owner, number of phases). Re-publishing
compares against it to skip unchanged pages without parsing them again.
A missing or unreadable manifest simply means "rebuild everything".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .files import read_bytes

__all__ = ["MANIFEST_NAME", "Entry", "Manifest", "dump_manifest", "read_manifest"]

MANIFEST_NAME = ".opsflow-site.json"
_FORMAT = 1


@dataclass
class Entry:
    """One source file of the site."""

    hash: str
    key: str = ""
    title: str = ""
    owner: str = ""
    phases: int = 0
    library: bool = False
    #: (path as written, source-relative path of the included file or "")
    includes: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    version: str = ""
    svg: bool = False
    entries: dict[str, Entry] = field(default_factory=dict)


def _entry(data: dict[str, Any]) -> Entry:
    entry = Entry(**data)
    entry.includes = [(str(a), str(b)) for a, b in entry.includes]
    return entry


def read_manifest(out_dir: Path) -> Manifest:
    """The manifest in ``out_dir``, or an empty one if missing or unreadable."""
    try:
        raw = read_bytes(out_dir / MANIFEST_NAME)
        if raw is None:
            return Manifest()
        data = json.loads(raw.decode("utf-8"))
        if data.get("format") != _FORMAT:
            return Manifest()
        entries = {rel: _entry(e) for rel, e in data["entries"].items()}
        return Manifest(str(data["version"]), bool(data["svg"]), entries)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Manifest()


def dump_manifest(manifest: Manifest) -> bytes:
    data = {"format": _FORMAT, "version": manifest.version, "svg": manifest.svg,
            "entries": {rel: asdict(e) for rel, e in sorted(manifest.entries.items())}}
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
