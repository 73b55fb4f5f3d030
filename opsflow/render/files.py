"""Writing published files safely: atomic replace, confinement, a lock, clear errors.

Every file is written to a temporary file in the same folder and moved into
place with ``os.replace``, so a reader (or a crash) never sees half a page.
:func:`site_path` is the only way a site-relative name becomes a path: it
refuses names that leave the output folder and any symbolic link on the way
(so a planted ``pages -> /elsewhere`` link is never written through, and a
tampered manifest never deletes outside the folder). :func:`site_lock`
serialises publishes into one folder; :func:`check_owned` refuses a folder
that publish did not make. A folder that cannot be created or written is a
:class:`PublishError` naming the folder, the reason and the fix. This
module knows nothing about SOPs or templates.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OpsflowError

__all__ = [
    "LOCK_NAME",
    "PublishError",
    "check_owned",
    "prepare_dir",
    "read_bytes",
    "remove_file",
    "site_lock",
    "site_path",
    "write_atomic",
]

#: the lock file in a site folder (kept: removing it would let a third publish in)
LOCK_NAME = ".opsflow-publish.lock"


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


def _file_mode() -> int:
    """0666 less the umask: the mode ``open`` gives a new file (a web server reads a site
    as another user; mkstemp's own 0600 is for secrets). Read from /proc where it can
    be, since setting the umask to learn it is not safe with threads."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (mode 0666 less
    the umask, as ``open`` would make it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _fail(path.parent, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), _file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise _fail(path, exc) from None


#: the most bytes read back from a site file (more is not what publish wrote)
_MAX_READ = 256 * 1024 * 1024


def read_bytes(path: Path) -> bytes | None:
    """The bytes of ``path``, or ``None`` when it cannot be read or is not a regular file
    (a FIFO or device left in the output folder would block the read; a link points
    elsewhere)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(_MAX_READ)
    except OSError:
        return None
    finally:
        os.close(fd)


def remove_file(path: Path) -> bool:
    """Delete ``path`` if it exists; True when something was removed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _fail(path, exc) from None
    return True


def site_path(out: Path, rel: str) -> Path:
    """``out / rel``, refused unless it stays inside ``out`` with no symbolic link on the way.

    ``rel`` is a site-relative name with ``/`` separators (from the publish
    itself or from a manifest, which may have been tampered with).
    """
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel or any(
            part in ("", ".", "..") for part in parts):
        raise PublishError(f"refusing to write {rel!r} in {out}: the name leaves the output "
                           "folder; delete the folder's .opsflow-site.json and publish again")
    path = out
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise PublishError(f"refusing to write {path}: it is a symbolic link and publish "
                               f"writes only inside {out}; remove the link and publish again")
    return path


def check_owned(out: Path, markers: tuple[str, ...]) -> None:
    """Refuse a non-empty ``out`` that holds none of ``markers`` (files only publish makes)."""
    if not out.is_dir():
        return
    try:
        names = {entry.name for entry in os.scandir(out)}
    except OSError as exc:
        raise _fail(out, exc) from None
    if names and not names & set(markers):
        raise PublishError(f"{out} is not empty and was not made by `opsflow publish`; choose "
                           "an empty or new output folder (--out), or pass --force to publish "
                           "into it and overwrite its index.html, style.css and pages/")


@contextmanager
def site_lock(out: Path) -> Iterator[None]:
    """Hold the site folder's lock file: a second publish waits for the first."""
    path = site_path(out, LOCK_NAME)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise _fail(out, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
