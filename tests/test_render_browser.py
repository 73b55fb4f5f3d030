"""The published site in a real headless Chromium (Debian's, driven by Playwright).

Publishes sops/, serves it over HTTP on 127.0.0.1, opens the index, follows
every link (no 404s, nothing fetched from anywhere else), checks that the
RACI table and the diagram are visible, and saves screenshots to
test-artifacts/. Chromium missing is a failure, not a skip: CI installs it.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from render_support import SOPS
from web_support import ARGS, ARTIFACTS, CHROMIUM

import opsflow
from opsflow.render import publish

pytestmark = pytest.mark.slow


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served_site(tmp_path: Path) -> Iterator[str]:
    site = tmp_path / "site"
    report = publish([SOPS], site)
    assert report.svg, "Graphviz `dot` is required (apt-get install graphviz)"
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_site_in_chromium(served_site: str) -> None:
    assert CHROMIUM.is_file(), "Chromium is missing: apt-get install chromium chromium-driver"
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    host = urlsplit(served_site).netloc
    statuses: dict[str, int] = {}
    foreign: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("response", lambda r: statuses.__setitem__(r.url, r.status))
            page.on("request", lambda r: foreign.append(r.url)
                    if urlsplit(r.url).netloc != host else None)

            page.goto(served_site + "index.html")
            assert page.title() == "Procedures"
            procedures = [p for p in sorted(SOPS.glob("*.sop"))]
            rows = page.locator("table.index tbody tr")
            assert rows.count() == len(procedures)
            page.screenshot(path=str(ARTIFACTS / "site-index.png"), full_page=True)

            # follow every link of every page, breadth first
            todo, seen = [served_site + "index.html"], set()
            while todo:
                url = todo.pop(0)
                if url in seen:
                    continue
                seen.add(url)
                if not url.endswith(".html"):
                    response = page.request.get(url)
                    assert response.status == 200, url
                    continue
                page.goto(url)
                hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
                for href in hrefs:
                    target, _ = urldefrag(href)
                    if urlsplit(target).netloc == host and target not in seen:
                        todo.append(target)
            pages = [u for u in seen if u.endswith(".html")]
            assert len(pages) == 1 + len(list(SOPS.rglob("*.sop")))
            bad = {url: code for url, code in statuses.items() if code >= 400}
            assert bad == {}
            assert foreign == []

            page.goto(served_site + "pages/content-publishing.html")
            sop = opsflow.load(SOPS / "content-publishing.sop")
            raci = page.locator("table.raci")
            assert raci.is_visible()
            assert raci.locator("tbody tr").count() == len(sop.phases)
            assert raci.locator("thead th").count() == 1 + len(sop.roles)
            diagram = page.locator("figure.diagram img")
            assert diagram.is_visible()
            size = diagram.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
            assert size[0] and size[1] > 100 and size[2] > 100, size
            box = diagram.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100
            assert page.locator("input.task-list-item-checkbox").count() == sum(
                len(p.checklist) for p in sop.phases)
            page.screenshot(path=str(ARTIFACTS / "site-content-publishing.png"), full_page=True)

            page.emulate_media(media="print")
            assert not page.locator("nav.top").is_visible()
            assert raci.is_visible()

            # a phone: no page scrolls sideways (wide tables scroll inside themselves)
            phone = browser.new_page(viewport={"width": 390, "height": 800})
            for url in sorted(pages):
                phone.goto(url)
                sideways = phone.evaluate("document.documentElement.scrollWidth > "
                                          "document.documentElement.clientWidth")
                assert not sideways, f"{url} scrolls sideways at 390 px"
            phone.goto(served_site + "index.html")
            phone.screenshot(path=str(ARTIFACTS / "site-index-390.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "site-content-publishing.png").stat().st_size > 10_000
