"""When each SOP last changed, from git when the files live in a repository.

A fresh clone gives every file today's modification time, so a site published
from it would date every procedure today. When the folder is inside a git
work tree, a file's last change is the date of the last commit that touched
it; a file changed since (or never committed) is dated by its modification
time, because that change is real and newer. Outside a repository, or when
git is missing, slow or fails, every file is dated by its modification time.

git runs with a list of arguments (never a shell), in the folder given, with
a time limit; file names come back NUL-separated, so no name can be misread.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Iterable

__all__ = ["GIT_TIMEOUT", "last_changes"]

#: seconds one git command may take before the dates fall back to file times
GIT_TIMEOUT = 20.0


def _git(root: str, *args: str) -> str | None:
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-c", "core.quotepath=off", *args], cwd=root,
                              capture_output=True, timeout=GIT_TIMEOUT, check=False,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "surrogateescape")


def _committed(root: str) -> dict[str, str]:
    """File (relative to ``root``) -> date of the last commit that touched it."""
    out = _git(root, "log", "-z", "--format=%x01%cs", "--name-only", "--relative",
               "--no-renames", "--", ".")
    dates: dict[str, str] = {}
    for chunk in (out or "").split("\x01")[1:]:
        date, _, names = chunk.partition("\0")
        for name in names.lstrip("\n").split("\0"):
            if name:
                dates.setdefault(name, date)
    return dates


def _modified(root: str) -> set[str]:
    out = _git(root, "diff", "-z", "--name-only", "--relative", "HEAD", "--", ".")
    return {name for name in (out or "").split("\0") if name}


def _file_date(path: str) -> str:
    return dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC).date().isoformat()


def last_changes(root: str | os.PathLike[str], files: Iterable[str]) -> dict[str, str]:
    """``files`` (paths relative to ``root``, ``/``-separated) -> ``YYYY-MM-DD`` of their
    last change (see the module docstring)."""
    folder = os.fspath(root)
    wanted = list(files)
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    committed = _committed(folder) if inside and inside.strip() == "true" else {}
    modified = _modified(folder) if committed else set()
    return {rel: committed[rel] if rel in committed and rel not in modified
            else _file_date(os.path.join(folder, rel)) for rel in wanted}
