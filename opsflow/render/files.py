"""Writing published files safely: atomic replace, clear errors.

Every file is written to a temporary file in the same folder and moved into
place with ``os.replace``, so a reader (or a crash) never sees half a page.
A folder that cannot be created or written is a :class:`PublishError`
naming the folder, the reason and the fix. This module knows nothing about
SOPs or templates.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import OpsflowError

__all__ = ["PublishError", "prepare_dir", "read_bytes", "remove_file", "write_atomic"]


class PublishError(OpsflowError):
    """The output folder cannot be used."""


def _fail(path: Path, exc: OSError) -> PublishError:
    reason = exc.strerror or str(exc)
    return PublishError(f"cannot write to {path}: {reason}; choose another output folder "
                        "(--out) or fix its permissions")


def prepare_dir(path: Path) -> None:
    """Create ``path`` if needed and prove that files can be written in it."""
    if path.exists() and not path.is_dir():
        raise PublishError(f"cannot write to {path}: it is a file, not a folder; "
                           "choose another output folder (--out)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".opsflow-probe-"):
            pass
    except OSError as exc:
        raise _fail(path, exc) from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _fail(path.parent, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise _fail(path, exc) from None


def read_bytes(path: Path) -> bytes | None:
    """The bytes of ``path``, or ``None`` when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def remove_file(path: Path) -> bool:
    """Delete ``path`` if it exists; True when something was removed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _fail(path, exc) from None
    return True
