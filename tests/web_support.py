"""Helpers for the web app's browser and server tests (not a test module): a real
uvicorn server on 127.0.0.1 in a thread, and page checks for Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opsflow.run.engine import Engine
from opsflow.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
SECRET = "s" * 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(engine: Engine, sops: Path | None = None) -> Iterator[str]:
    """The app on ``engine``, served by uvicorn on 127.0.0.1; its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine, SECRET, sops=sops),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def keep_local(context: Any, base: str, foreign: list[str]) -> None:
    """Abort (and record) every request of ``context`` that is not to ``base``."""

    def route(r: Any) -> None:
        if r.request.url.startswith(base):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    context.route("**/*", route)


def no_sideways_scroll(page: Any, what: str) -> None:
    width = page.viewport_size["width"]
    sideways = page.evaluate("document.documentElement.scrollWidth > "
                             "document.documentElement.clientWidth")
    assert not sideways, f"{what} scrolls sideways at {width} px"


def axe_problems(page: Any) -> list[str]:
    """The serious and critical accessibility violations axe-core finds on the page (the
    axe-core build that axe-playwright-python ships, run in the page)."""
    import axe_playwright_python

    source = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")
    page.evaluate(source)  # through the DevTools protocol: the page's CSP does not apply
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            f"{', '.join(n['target'][0] for n in v['nodes'][:3])}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
