"""The people directory: who may hold a role, by their canonical key.

While the directory is empty, a role may be bound to any name (a one-person
workspace needs no set-up). Once it has people, every name bound to a role —
at ``start``, by ``reassign``, in the CLI and the library alike — must be an
active person of the directory: a typo is refused with the closest key ("no
person 'wendyy' in the people directory; did you mean 'wendy'?") and a
deactivated person is refused as such. Events and assignments keep keys;
outputs may show display names.

:func:`person` checks one entry before it is stored (key, display name,
email, time zone, teams); :func:`check_bindable` is the binding rule. No
SQL here: the store keeps the rows.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .errors import RunError
from .people import person_key
from .text import bad_text, shown

if TYPE_CHECKING:
    from ..store import PersonRecord, Store

__all__ = ["DirectoryError", "check_bindable", "person"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TEAM = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
MAX_NAME = 200


class DirectoryError(RunError):
    """A person the directory does not have (or no longer has active), or an entry
    that cannot be stored; nothing was written."""


def person(key: str, name: str, *, email: str | None = None, timezone: str | None = None,
           teams: Sequence[str] = (), active: bool = True) -> PersonRecord:
    """A checked directory entry (``key`` is canonicalised like every person's name)."""
    from ..store import PersonRecord

    canonical = person_key(key, "a person's key")
    if not isinstance(name, str) or not name.strip():
        raise DirectoryError(f"person '{shown(canonical)}' needs a display name",
                             'give one, like --name "Wendy Writer"')
    if len(name) > MAX_NAME:
        raise DirectoryError(f"the display name of '{shown(canonical)}' is longer than "
                             f"{MAX_NAME} characters", "give a shorter name")
    if bad_text(name) is not None or any(unicodedata.category(c) in ("Cc", "Cf", "Cs")
                                         for c in name):
        raise DirectoryError(f"the display name of '{shown(canonical)}' contains a control "
                             "character or bytes that are not UTF-8",
                             "type the name with letters, digits and punctuation only")
    if email is not None and (not isinstance(email, str) or not _EMAIL.fullmatch(email)
                              or len(email) > MAX_NAME):
        raise DirectoryError(f"'{shown(str(email))[:80]}' is not an email address",
                             "give one like wendy@example.com, or leave it out")
    if timezone is not None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise DirectoryError(f"'{shown(timezone)}' is not a time zone",
                                 "use an IANA name, like Europe/Berlin") from None
    bad = next((t for t in teams if not _TEAM.fullmatch(t)), None)
    if bad is not None:
        raise DirectoryError(f"'{shown(bad)}' is not a team name",
                             "use lower-case letters, digits, - and _, like ops-berlin")
    return PersonRecord(canonical, " ".join(name.split()), email, timezone,
                        tuple(sorted(set(teams))), active)


def check_bindable(store: Store, names: Iterable[object]) -> None:
    """Refuse (:class:`DirectoryError`) a name that is not an active person of the
    directory, when the directory has people; names that are no person's name at
    all are left to the run core, which refuses them with its own message."""
    keys = []
    for name in names:
        try:
            keys.append(person_key(name))
        except RunError:
            continue
    keys = list(dict.fromkeys(keys))
    if not keys or not store.has_people():
        return
    known = {p.key: p for p in store.people(keys)}
    for key in keys:
        found = known.get(key)
        if found is None:
            everyone = [p.key for p in store.people() if p.active]
            close = difflib.get_close_matches(key, everyone, n=1, cutoff=0.6)
            hint = f" (did you mean '{shown(close[0])}'?)" if close else ""
            raise DirectoryError(f"no person '{shown(key)}' in the people directory{hint}",
                                 "bind the role to someone in the directory (`opsflow "
                                 "people list`), or add them with `opsflow people add`")
        if not found.active:
            raise DirectoryError(f"'{shown(key)}' ({shown(found.name)}) is deactivated in the "
                                 "people directory", "bind the role to an active person")


def names_in(assignments: object) -> list[object]:
    """Every name in a start's ``assignments`` (role -> list of names), as given."""
    if not hasattr(assignments, "values"):
        return []
    names: list[object] = []
    for people in assignments.values():
        if isinstance(people, list | tuple):
            names += list(people)
    return names


#: the columns of a people CSV file (import and export); ``key`` and ``name`` are needed
CSV_COLUMNS = ("key", "name", "email", "timezone", "teams", "active")
_YES = {"", "yes", "y", "true", "1", "active"}
_NO = {"no", "n", "false", "0", "inactive"}
#: the largest people file read (a directory of 100,000 people is about 10 MB)
MAX_CSV_BYTES = 32 * 1024 * 1024


def parse_csv(data: bytes, source: str = "the file") -> tuple[list[PersonRecord], list[str]]:
    """The people in a CSV file (UTF-8, a header row naming :data:`CSV_COLUMNS`; teams
    separated by ``;``; ``active`` yes or no) and one problem per bad row ("row 4:
    …"). A file that cannot be read as such at all is a :class:`DirectoryError`."""
    import csv
    import io

    if len(data) > MAX_CSV_BYTES:
        raise DirectoryError(f"{source} is larger than {MAX_CSV_BYTES // 2**20} MB",
                             "split it into smaller files")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DirectoryError(f"{source} is not UTF-8 text (byte {error.start + 1} is "
                             f"0x{data[error.start]:02x})",
                             "save it as UTF-8 (CSV UTF-8 in a spreadsheet)") from None
    if "\0" in text:
        raise DirectoryError(f"{source} holds NUL bytes, so it is no CSV text",
                             "export the people as CSV again")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        rows = list(reader)
    except csv.Error as error:
        raise DirectoryError(f"{source} is not valid CSV ({error})",
                             "export the people as CSV again") from None
    missing = [c for c in ("key", "name") if c not in header]
    if missing:
        raise DirectoryError(f"{source} has no column {', '.join(missing)} in its first row "
                             f"(it has: {shown(', '.join(header))[:200] or 'nothing'})",
                             f"start the file with the row {','.join(CSV_COLUMNS)}")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or len(set(header)) != len(header):
        raise DirectoryError(f"{source} has columns opsflow does not know or twice: "
                             f"{shown(', '.join(unknown or header))[:200]}",
                             f"use the columns {', '.join(CSV_COLUMNS)}, each once")
    people: list[PersonRecord] = []
    problems: list[str] = []
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(f"row {number}: {len(row)} cells but {len(header)} columns")
            continue
        cells = dict(zip(header, [c.strip() for c in row], strict=False))
        try:
            active = cells.get("active", "").lower()
            if active not in _YES | _NO:
                raise DirectoryError(f"'active' is '{shown(active)[:40]}'", "write yes or no")
            found = person(cells.get("key", ""), cells.get("name", ""),
                           email=cells.get("email") or None,
                           timezone=cells.get("timezone") or None,
                           teams=[t.strip() for t in cells.get("teams", "").split(";")
                                  if t.strip()],
                           active=active in _YES)
        except RunError as error:
            problems.append(f"row {number}: {error}")
            continue
        if found.key in first_row:
            problems.append(f"row {number}: '{shown(found.key)}' is also on row "
                            f"{first_row[found.key]}")
            continue
        first_row[found.key] = number
        people.append(found)
    return people, problems


def to_csv(people: Iterable[PersonRecord]) -> str:
    """The people as CSV (what :func:`parse_csv` reads back); every cell escaped for
    spreadsheets (no formulas)."""
    from ..render.escape import csv_field

    lines = [",".join(CSV_COLUMNS)]
    for p in people:
        cells = [p.key, p.name, p.email or "", p.timezone or "", ";".join(p.teams),
                 "yes" if p.active else "no"]
        lines.append(",".join(csv_field(c) for c in cells))
    return "\n".join(lines) + "\n"
