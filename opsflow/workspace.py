"""A team's workspace: a folder with an ``opsflow.toml``, found from any folder below it.

``opsflow init [FOLDER]`` (:func:`init`) makes one: the config file, the
``.opsflow/`` folder that holds the embedded SQLite database, and an example
SOP. Every command then finds its workspace as git finds a repository
(:func:`find`): the nearest folder, from the current one upwards, that has an
``opsflow.toml`` — or, for workspaces made before the config file existed,
an ``.opsflow/opsflow.db``. ``--db`` and ``OPSFLOW_DATABASE_URL`` still name
the database over the workspace's (:func:`database_url`).

The config file's settings (all optional)::

    database = "postgresql+psycopg://ops@db.example.com/opsflow"  # default: .opsflow/opsflow.db
    sops = "sops"          # the folder of the workspace's SOPs
    timezone = "UTC"       # the team's time zone (an IANA name, e.g. Europe/Berlin)
    admins = ["ann"]       # may act for others and manage the directory

    [viewers]              # who may see every run of an SOP in the web app ("*": of all)
    content-publishing = ["lead"]

    [web]                  # sign-in by a reverse proxy's header, only from its addresses
    proxy_header = "X-Remote-User"
    trusted_proxies = ["127.0.0.1"]

A setting that is misspelt, of the wrong type or with a bad value is one
:class:`WorkspaceError` that names the file, the setting and the fix; a
password in the database URL is refused (it belongs in ``~/.pgpass`` or
``PGPASSWORD``, not in a file the team shares). Reading never creates
anything: only :func:`init` and a command that writes (``start``, ``db
upgrade``) create the database.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import OpsflowError

__all__ = ["CONFIG", "EXAMPLE_SOP", "Workspace", "WorkspaceError", "database_url", "find",
           "init", "load", "source"]

CONFIG = "opsflow.toml"
DATA = ".opsflow"
DATABASE = "opsflow.db"
ENV_VAR = "OPSFLOW_DATABASE_URL"
SETTINGS = ("admins", "database", "identity", "sops", "timezone", "viewers", "web")
#: the settings of the ``[web]`` table
WEB_SETTINGS = ("proxy_header", "trusted_proxies")
IDENTITIES = ("free", "token")
#: the largest config file read (a config is a few lines; anything bigger is a mistake)
MAX_CONFIG_BYTES = 64 * 1024

EXAMPLE_SOP = '''\
sop purchase-request "Purchase request"
  owner finance
  > Anyone may ask to buy something; finance checks the quote and two
  > controllers approve it before the order goes out.

role requester "Requester"
role finance   "Finance controller"
role director  "Finance director"

field amount "Amount in EUR" number

phase request "Request"
  owner requester
  done when
    - Quote from the supplier is attached
  handoff to approval

phase approval "Finance approval"
  owner finance
  approval by finance, director
    quorum 2
    not by requester
  on approve go to order
  on reject go to request

phase order "Order"
  owner finance
  end
'''

CONFIG_TEXT = '''\
# The opsflow workspace: this folder and every folder below it.
# Commands run anywhere in here use this workspace (see `opsflow db status`).

# Where the SOPs are, relative to this file.
sops = "sops"

# The team's time zone (an IANA name such as "Europe/Berlin").
timezone = "UTC"

# The database. Without this line: the SQLite file .opsflow/opsflow.db here.
# For a team, one PostgreSQL database (put its password in ~/.pgpass, never here):
# database = "postgresql+psycopg://ops@db.example.com:5432/opsflow"

# How people are identified: "free" (--as names anyone; the default with SQLite) or
# "token" (people act with a personal token from `opsflow login`; the default with
# PostgreSQL). Admins may act for others and manage the people directory.
# identity = "token"
# admins = ["ann"]
'''


class WorkspaceError(OpsflowError):
    """No workspace where one is needed, or a config file opsflow cannot use."""


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and its settings."""

    root: Path
    #: the config file, or ``None`` for a workspace from before ``opsflow.toml``
    config: Path | None = None
    database: str | None = None
    sops: str = "sops"
    timezone: str = "UTC"
    #: ``free``: ``--as`` names anyone; ``token``: people act with a personal token
    #: (``opsflow login``); the default is ``token`` when the database is PostgreSQL
    identity: str = "free"
    #: people (keys) who may act for others with ``--as`` and manage tokens and the
    #: directory when tokens are required
    admins: tuple[str, ...] = ()
    #: SOP id (or ``*``: every SOP) -> people who may see all its runs (in the web app)
    viewers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: the web app's sign-in by a reverse proxy: the header naming the person, and the
    #: addresses (or networks) it is accepted from; empty: not used
    proxy_header: str = ""
    trusted_proxies: tuple[str, ...] = ()

    @property
    def data(self) -> Path:
        return self.root / DATA

    @property
    def sqlite_file(self) -> Path:
        return self.data / DATABASE

    @property
    def sops_folder(self) -> Path:
        return self.root / self.sops

    def describe(self) -> str:
        """One line for people: where it is and what made it a workspace."""
        made_by = CONFIG if self.config is not None else f"{DATA}/{DATABASE}, no {CONFIG}"
        return f"{self.root} ({made_by})"


def find(start: str | os.PathLike[str] | None = None) -> Workspace | None:
    """The workspace ``start`` (default: the current folder) is in, or ``None``."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file():
            return load(folder)
        if (folder / DATA / DATABASE).is_file():
            return Workspace(folder)
    return None


def load(folder: str | os.PathLike[str]) -> Workspace:
    """The workspace at ``folder``: its ``opsflow.toml`` read and checked, or the
    defaults if it has none."""
    root = Path(folder).resolve()
    path = root / CONFIG
    if not path.is_file():
        return Workspace(root)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise WorkspaceError(f"cannot read {path} ({error.strerror}); make it readable") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise WorkspaceError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB; an "
                             "opsflow.toml is a few lines of settings")
    try:
        settings = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise WorkspaceError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise WorkspaceError(f"{path} is not valid TOML ({error}); fix that line, or run "
                             "`opsflow init` in an empty folder to see a working one") from None
    values: dict[str, str] = {}
    admins: tuple[str, ...] = ()
    viewers: dict[str, tuple[str, ...]] = {}
    web: dict[str, object] = {}
    for key, value in settings.items():
        if key not in SETTINGS:
            close = difflib.get_close_matches(key, SETTINGS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise WorkspaceError(f"{path}: unknown setting '{_shown(key)}'; {hint}"
                                 f"the settings are {', '.join(SETTINGS)}")
        if key == "admins":
            admins = _admins(path, value)
            continue
        if key == "viewers":
            viewers = _viewers(path, value)
            continue
        if key == "web":
            web = _web(path, value)
            continue
        if not isinstance(value, str) or not value.strip():
            raise WorkspaceError(f"{path}: '{key}' must be text in quotes, like "
                                 f'{key} = "{_EXAMPLES[key]}"')
        values[key] = value.strip()
    database = _database(path, root, values.get("database"))
    default = "token" if database is not None and database.startswith("postgresql") else "free"
    identity = values.get("identity", default)
    if identity not in IDENTITIES:
        raise WorkspaceError(f"{path}: 'identity' is '{_shown(identity)}'; it is \"free\" "
                             '(--as names anyone) or "token" (people act with `opsflow login`)')
    return Workspace(root, path, database=database,
                     sops=_sops(path, values.get("sops", "sops")),
                     timezone=_timezone(path, values.get("timezone", "UTC")),
                     identity=identity, admins=admins, viewers=viewers,
                     proxy_header=str(web.get("proxy_header", "")),
                     trusted_proxies=tuple(web.get("trusted_proxies", ())))  # type: ignore[arg-type]


def _keys(path: Path, name: str, value: object, example: str) -> tuple[str, ...]:
    from .run.errors import RunError
    from .run.people import person_key

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WorkspaceError(f"{path}: '{name}' must be a list of people's keys, like "
                             f"{example}")
    try:
        return tuple(dict.fromkeys(person_key(v, "a person's key") for v in value))
    except RunError as error:
        raise WorkspaceError(f"{path}: '{name}': {error}") from None


def _admins(path: Path, value: object) -> tuple[str, ...]:
    return _keys(path, "admins", value, 'admins = ["ann", "bob"]')


def _viewers(path: Path, value: object) -> dict[str, tuple[str, ...]]:
    example = '[viewers] then content-publishing = ["lead"] (or "*" = ["lead"] for every SOP)'
    if not isinstance(value, dict):
        raise WorkspaceError(f"{path}: 'viewers' must be a table of SOP ids, like {example}")
    return {str(sop): _keys(path, f"viewers.{_shown(str(sop))}", people, example)
            for sop, people in value.items()}


def _web(path: Path, value: object) -> dict[str, object]:
    import ipaddress

    if not isinstance(value, dict):
        raise WorkspaceError(f"{path}: 'web' must be a table, like [web] then "
                             'proxy_header = "X-Remote-User"')
    for key in value:
        if key not in WEB_SETTINGS:
            raise WorkspaceError(f"{path}: unknown setting 'web.{_shown(str(key))}'; the "
                                 f"settings of [web] are {', '.join(WEB_SETTINGS)}")
    header = value.get("proxy_header", "")
    if not isinstance(header, str) or (header and not all(
            c.isalnum() or c == "-" for c in header)):
        raise WorkspaceError(f"{path}: 'web.proxy_header' must be a header name, like "
                             'proxy_header = "X-Remote-User"')
    proxies = value.get("trusted_proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        raise WorkspaceError(f"{path}: 'web.trusted_proxies' must be a list of addresses, "
                             'like trusted_proxies = ["127.0.0.1"]')
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise WorkspaceError(f"{path}: 'web.trusted_proxies': {_shown(proxy)!r} is not an "
                                 'IP address or network, like "127.0.0.1" or "10.0.0.0/8"'
                                 ) from None
    if header and not proxies:
        raise WorkspaceError(f"{path}: 'web.proxy_header' is set but 'web.trusted_proxies' is "
                             "empty; list the proxy's addresses, or nobody could sign in by it")
    return {"proxy_header": header.lower(), "trusted_proxies": proxies}


_EXAMPLES = {"database": "postgresql+psycopg://ops@db.example.com/opsflow", "sops": "sops",
             "timezone": "Europe/Berlin", "identity": "token"}


def _shown(text: str) -> str:
    """``text`` with control characters escaped and cut short, for a message."""
    from .run.text import shown

    return shown(text)[:60]


def _database(path: Path, root: Path, url: str | None) -> str | None:
    if url is None:
        return None
    from sqlalchemy.engine import URL

    from .store import dburl
    from .store.errors import DatabaseUnavailableError

    try:
        parsed = dburl.parse(url)
    except DatabaseUnavailableError as error:
        raise WorkspaceError(f"{path}: 'database': {error}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise WorkspaceError(f"{path}: 'database' must be a postgresql+psycopg:// or "
                             f"sqlite:/// URL, like database = \"{_EXAMPLES['database']}\"")
    if parsed.password is not None:
        raise WorkspaceError(f"{path}: 'database' holds a password, and this file is shared; "
                             "remove it from the URL and put it in ~/.pgpass or PGPASSWORD")
    if parsed.get_backend_name() == "sqlite" and parsed.database and \
            parsed.database != ":memory:" and not Path(parsed.database).is_absolute():
        # a relative SQLite path is relative to the workspace, not to where a command runs
        parsed = URL.create(parsed.drivername, database=str(root / parsed.database))
    return parsed.render_as_string(hide_password=False)


def _sops(path: Path, folder: str) -> str:
    relative = PurePosixPath(folder.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or any(
            ord(c) < 32 for c in folder):
        raise WorkspaceError(f"{path}: 'sops' must be a folder inside the workspace, like "
                             'sops = "sops"')
    return str(relative)


def _timezone(path: Path, name: str) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise WorkspaceError(f"{path}: 'timezone' {_shown(name)!r} is not a time zone; use an "
                             'IANA name, like timezone = "Europe/Berlin"') from None
    return name


def database_url(url: str | None = None, workspace: str | os.PathLike[str] | None = None,
                 *, create: bool = True) -> str:
    """The database URL alone of :func:`resolve`."""
    return resolve(url, workspace, create=create)[0]


def resolve(url: str | None = None, workspace: str | os.PathLike[str] | None = None,
            *, create: bool = True) -> tuple[str, Workspace | None]:
    """The database URL to use and the workspace it belongs to: ``url``, else
    ``OPSFLOW_DATABASE_URL`` (no workspace: ``None``), else the workspace's
    (``workspace``, or the one the current folder is in).

    ``create``: make the workspace's ``.opsflow/`` folder for its SQLite file if
    needed; without it, a workspace whose database does not exist yet is a
    :class:`WorkspaceError` (a read never creates a database).
    """
    if url:
        return url, None
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return from_env, None
    if workspace is not None:
        folder = Path(workspace)
        if not folder.is_dir():
            raise WorkspaceError(f"the workspace folder {folder} does not exist; pass an "
                                 "existing folder (e.g. --workspace .)")
        found = load(folder)
    else:
        here = Path.cwd()
        located = find(here)
        if located is None:
            raise WorkspaceError(
                f"no opsflow workspace in {here} or any folder above it; run `opsflow init` "
                f"to make one here, or give the database with --db or {ENV_VAR}")
        found = located
    if found.database is not None:
        return found.database, found
    if not create and not found.sqlite_file.is_file():
        raise WorkspaceError(f"the workspace at {found.root} has no database yet (nothing was "
                             "created); start a run with `opsflow start`")
    if create:
        try:
            found.data.mkdir(exist_ok=True)
        except OSError as error:
            raise WorkspaceError(f"cannot create {found.data} ({error.strerror}); make the "
                                 f"workspace writable or set {ENV_VAR}") from None
    from sqlalchemy.engine import URL

    return (URL.create("sqlite", database=str(found.sqlite_file.resolve())).render_as_string(),
            found)


def source(url: str | None = None, workspace: str | os.PathLike[str] | None = None) -> str:
    """Where :func:`database_url` takes the database from, for people."""
    if url:
        return "--db (no workspace is used)"
    if os.environ.get(ENV_VAR, "").strip():
        return f"{ENV_VAR} (no workspace is used)"
    found = load(workspace) if workspace is not None else find()
    if found is None:
        return "no workspace"
    return f"the workspace at {found.describe()}"


def init(folder: str | os.PathLike[str], *, database: str | None = None,
         admins: Sequence[str] = ()) -> Workspace:
    """Make a workspace at ``folder`` (created if missing): ``opsflow.toml``,
    ``.opsflow/`` and ``sops/purchase-request.sop``; ``database``: a URL written into
    the config (the team's PostgreSQL). Refuses, writing nothing, if any of them is
    there already."""
    root = Path(folder).absolute()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} is a file, not a folder; give a folder for the workspace")
    config, example = root / CONFIG, root / "sops" / "purchase-request.sop"
    there = [p for p in (config, example) if p.exists() or p.is_symlink()]
    if there:
        raise WorkspaceError(f"{there[0]} exists already; nothing was changed (a workspace is "
                             "made once; edit its opsflow.toml instead)")
    text = CONFIG_TEXT
    if database is not None:
        checked = _database(config, root.resolve(), database)
        assert checked is not None
        text = text.replace('# database = "postgresql+psycopg://ops@db.example.com:5432/'
                            'opsflow"\n', f"database = {_toml_string(database)}\n")
    if admins:
        keys = _admins(config, list(admins))
        text = text.replace('# admins = ["ann"]\n',
                            f"admins = [{', '.join(_toml_string(k) for k in keys)}]\n")
    try:
        (root / DATA).mkdir(parents=True, exist_ok=True)
        example.parent.mkdir(exist_ok=True)
        with config.open("x", encoding="utf-8") as handle:
            handle.write(text)
        with example.open("x", encoding="utf-8") as handle:
            handle.write(EXAMPLE_SOP)
    except OSError as error:
        raise WorkspaceError(f"cannot write the workspace at {root} ({error.strerror}); "
                             "pick a folder you can write to") from None
    return load(root)


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string."""
    import json

    return json.dumps(text, ensure_ascii=False)
