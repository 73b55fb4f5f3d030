"""``opsflow serve``: the team web app (see :mod:`opsflow.web.app`), served by uvicorn.

This module parses arguments, finds the secret key and starts the server.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from ..errors import OpsflowError
from .common import term
from .db_cmd import database_options

SECRET_ENV_VAR = "OPSFLOW_SECRET_KEY"


class ServeError(OpsflowError):
    """The app cannot start (no secret key, a bad address)."""


def secret_key(workspace_data: Path | None) -> str:
    """``OPSFLOW_SECRET_KEY``, else the workspace's ``.opsflow/web-secret`` (made once,
    readable by its owner only)."""
    given = os.environ.get(SECRET_ENV_VAR, "").strip()
    if given:
        if len(given) < 32:
            raise ServeError(f"{SECRET_ENV_VAR} is shorter than 32 characters; use a long "
                             "random value (e.g. `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'`)")
        return given
    if workspace_data is None:
        raise ServeError(f"set {SECRET_ENV_VAR} (the same long random value for every process "
                         "of the app), or run `opsflow serve` inside a workspace")
    path = workspace_data / "web-secret"
    try:
        return path.read_text("utf-8").strip()
    except FileNotFoundError:
        pass
    except OSError as error:
        raise ServeError(f"cannot read {path} ({error.strerror})") from None
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
    except FileExistsError:
        return path.read_text("utf-8").strip()
    except OSError as error:
        raise ServeError(f"cannot write {path} ({error.strerror}); set {SECRET_ENV_VAR}") \
            from None
    return value


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (behind a reverse proxy, keep 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@database_options
def serve(host: str, port: int, db_url: str | None, workspace: str | None) -> None:
    """Serve the team web app: people sign in with their directory name and password
    (`opsflow people password NAME`) and see what waits on them.

    \b
    Example:
      opsflow serve --port 8000
    """
    import uvicorn

    from ..run.engine import Engine
    from ..web.app import create_app

    engine = Engine.open(db_url, workspace=workspace)
    found = engine.store.workspace
    app = create_app(engine, secret_key(found.data if found is not None else None))
    click.echo(term(f"opsflow serves {engine.store.url_display} on http://{host}:{port}/"))
    try:
        # proxy_headers=False: the client address is the real peer, so a sign-in header is
        # trusted only from the proxies opsflow.toml lists (uvicorn would take X-Forwarded-For)
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        engine.close()
