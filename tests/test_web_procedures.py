"""Issue 23 (6): the procedures pages of the web app — each SOP's playbook, flow
diagram, roles and RACI chart from the same renderers as ``opsflow publish``, with
the SOP's check diagnostics; hostile SOP text shows as text."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_support import SOPS, T0
from starlette.testclient import TestClient

import opsflow
from opsflow.render.pages import sop_parts
from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import set_password
from opsflow.web.app import HEADERS, create_app

SECRET = "s" * 40
PASSWORD = "correct horse battery"
HOSTILE = '''sop hostile "<script>alert(1)</script> {{ 7*7 }}"
  owner lead
  > [click me](javascript:alert(1)) and <img src=x onerror=alert(1)>

role lead "Lead <b>bold</b>"

phase only "Only"
  owner lead
  end
'''


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    sops = tmp_path / "sops"
    shutil.copytree(SOPS, sops)
    (sops / "broken.sop").write_text('sop broken "Broken"\nphase a "A"\n  owner nobody\n',
                                     "utf-8")
    (sops / "hostile.sop").write_text(HOSTILE, "utf-8")
    return sops


@pytest.fixture
def client(tmp_path: Path, folder: Path) -> Iterator[TestClient]:
    with Engine(Store.open(f"sqlite:///{tmp_path / 'p.db'}"), FixedClock(T0)) as engine:
        engine.store.add_people([person("ann", "Ann")])
        set_password(engine.store, "ann", PASSWORD)
        web = TestClient(create_app(engine, SECRET, sops=folder), base_url="http://127.0.0.1")
        form = web.get("/signin").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        web.post("/signin", data={"csrf": token.group(1), "person": "ann",
                                  "password": PASSWORD})
        yield web


def test_a_procedure_page_shows_what_publish_shows(client: TestClient, folder: Path) -> None:
    listing = client.get("/procedures").text
    assert 'href="/procedures/content-publishing"' in listing
    page = client.get("/procedures/content-publishing")
    assert page.status_code == 200
    parts = sop_parts(opsflow.load(folder / "content-publishing.sop"))
    for part in (parts.intro, parts.roles, parts.phases, parts.raci):
        assert str(part) in page.text  # the same HTML as the published page's
    assert '<img src="/procedures/content-publishing/diagram.svg"' in page.text
    drawing = client.get("/procedures/content-publishing/diagram.svg")
    assert drawing.status_code == 200 and drawing.headers["content-type"] == "image/svg+xml"
    assert "<svg" in drawing.text and "Internal review" in drawing.text
    assert drawing.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]
    assert 'href="/procedures/content-publishing/start"' in page.text
    assert client.get("/procedures/nope").status_code == 404
    assert client.get("/procedures/nope/diagram.svg").status_code == 404


def test_a_broken_procedure_shows_its_diagnostics(client: TestClient, folder: Path) -> None:
    page = client.get("/procedures/broken")
    assert page.status_code == 422
    found = re.findall(r'<li class="error"><code>([^<]*)</code> error\[(E\d+)\]', page.text)
    assert ("broken.sop:3", "E210") in found
    assert str(folder) not in page.text  # the server's own paths stay on the server
    assert "cannot be started" in page.text
    assert client.get("/procedures/broken/diagram.svg").status_code == 404


def test_hostile_sop_text_is_shown_as_text(client: TestClient) -> None:
    page = client.get("/procedures/hostile")
    assert page.status_code == 200
    assert "<script>" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in page.text
    assert 'href="javascript:' not in page.text
    assert "<b>bold</b>" not in page.text
    drawing = client.get("/procedures/hostile/diagram.svg").text
    assert "<script" not in drawing and "&lt;b&gt;" in drawing
