"""Issue 23 (1, 2, 9): who sees what, who is signed in, and whose clock.

* Viewers of an SOP (``[viewers]`` in ``opsflow.toml``) see all its runs — in the
  tracker, on the board, on run pages and through the API — and nothing else.
* A trusted reverse proxy may sign people in with a header (``[web]``), accepted
  only from the addresses listed; from anywhere else the header is ignored.
* Times are shown in the person's time zone (the directory's), else the
  workspace's.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx2 as httpx
import pytest
from engine_support import CONTENT_PEOPLE, SOPS, T0
from starlette.testclient import TestClient
from web_support import SECRET, serving

from opsflow import workspace as ws
from opsflow.identity import issue
from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import set_password
from opsflow.web.app import create_app

PASSWORD = "correct horse battery"
INCIDENT = {"on-call": ["olga"], "incident-commander": ["ian"], "comms": ["cora"],
            "support": ["sue"], "engineering-manager": ["em"]}
PEOPLE = [*dict.fromkeys(k for people in (*CONTENT_PEOPLE.values(), *INCIDENT.values())
                         for k in people), "lead", "boss"]


def team(tmp_path: Path, settings: str) -> Path:
    """A workspace with the example SOPs and ``settings`` added to its config."""
    folder = tmp_path / "team"
    ws.init(folder)
    shutil.rmtree(folder / "sops")
    shutil.copytree(SOPS, folder / "sops")
    config = folder / ws.CONFIG
    config.write_text(config.read_text("utf-8") + "\n" + settings, "utf-8")
    return folder


def opened(folder: Path, zones: dict[str, str] | None = None) -> Engine:
    """The workspace's engine with everybody in the directory and two runs: 1 of content
    publishing, 2 of incident response."""
    engine = Engine(Store.open(workspace=folder), FixedClock(T0))
    engine.store.add_people([person(k, k.title(), timezone=(zones or {}).get(k))
                             for k in PEOPLE])
    for key in ("wendy", "lead", "boss"):
        set_password(engine.store, key, PASSWORD)
    engine.start(folder / "sops" / "content-publishing.sop", "Content run", CONTENT_PEOPLE,
                 {"budget": "1"}, actor="ann")
    engine.start(folder / "sops" / "incident-response.sop", "Incident run", INCIDENT, {},
                 actor="olga")
    return engine


def signed_in(engine: Engine, who: str) -> TestClient:
    client = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
    assert token is not None
    done = client.post("/signin", data={"csrf": token.group(1), "person": who,
                                        "password": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303
    return client


def runs_shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a class="run" href="/runs/(\d+)"', html)]


def test_viewers_see_the_runs_of_their_sops_and_no_others(tmp_path: Path) -> None:
    folder = team(tmp_path, '[viewers]\ncontent-publishing = ["lead"]\n"*" = ["boss"]\n')
    with opened(folder) as engine:
        lead, boss, wendy = (signed_in(engine, who) for who in ("lead", "boss", "wendy"))
        assert runs_shown(lead.get("/runs").text) == [1]
        assert runs_shown(boss.get("/runs?sort=oldest").text) == [1, 2]
        assert runs_shown(wendy.get("/runs").text) == [1]  # her role, not a viewer
        assert lead.get("/runs/1").status_code == 200
        assert lead.get("/runs/2").status_code == 404
        assert boss.get("/runs/2").status_code == 200
        assert "Content run" in lead.get("/board/content-publishing").text
        assert "Incident run" not in lead.get("/board/incident-response").text
        assert "Incident run" in boss.get("/board/incident-response").text
        # seeing is not acting: a viewer holds no role, so the engine refuses
        token = re.search(r'name="csrf" value="([^"]+)"', lead.get("/runs/1").text)
        assert token is not None
        refused = lead.post("/runs/1/tick", data={"csrf": token.group(1), "phase": "brief",
                                                  "criterion": "1"})
        assert refused.status_code == 422 and "lead may not" in refused.text
        api = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
        bearer = {"authorization": f"Bearer {issue(engine.store, 'lead')}"}
        assert [r["run"] for r in api.get("/api/runs", headers=bearer).json()["runs"]] == [1]
        assert api.get("/api/runs/2", headers=bearer).status_code == 404
        assert engine.visible_runs("lead", sop_id="incident-response") == []


def test_a_trusted_proxy_signs_people_in_and_nobody_else_can(tmp_path: Path) -> None:
    folder = team(tmp_path, '[web]\nproxy_header = "X-Remote-User"\n'
                            'trusted_proxies = ["127.0.0.1"]\n')
    with opened(folder) as engine, serving(engine) as base:
        header = {"X-Remote-User": "Wendy"}
        page = httpx.get(base + "/", headers=header)
        assert page.status_code == 200 and "<h1>My work</h1>" in page.text
        assert "Sign out" not in page.text  # the proxy signs people in and out
        token = re.search(r'name="csrf" value="([^"]+)"', httpx.get(
            base + "/runs/1", headers=header).text)
        assert token is not None
        done = httpx.post(base + "/runs/1/tick", headers=header,
                          data={"csrf": token.group(1), "phase": "brief", "criterion": "1"})
        assert done.status_code == 303
        assert engine.history(1)[-1].actor == "wendy"
        forged = httpx.post(base + "/runs/1/tick", headers=header,
                            data={"csrf": "x" * 64, "phase": "brief", "criterion": "2"})
        assert forged.status_code == 403  # the form token still protects every write
        for who in ("nobody", "\x1b[2J", ""):  # not a person of the directory: not signed in
            assert httpx.get(base + "/", headers={"X-Remote-User": who}).status_code == 303
        assert engine.history(1)[-1].action == "tick"


def test_the_header_from_an_untrusted_address_is_ignored(tmp_path: Path) -> None:
    folder = team(tmp_path, '[web]\nproxy_header = "X-Remote-User"\n'
                            'trusted_proxies = ["10.9.9.0/24"]\n')
    with opened(folder) as engine, serving(engine) as base:
        spoofed = {"X-Remote-User": "wendy", "X-Forwarded-For": "10.9.9.9"}
        answer = httpx.get(base + "/", headers=spoofed)
        assert answer.status_code == 303 and answer.headers["location"] == "/signin"


@pytest.mark.parametrize(("settings", "message"), [
    ('[web]\nproxy_header = "X-Remote-User"\n', "'web.trusted_proxies' is empty"),
    ('[web]\ntrusted_proxies = ["not an address"]\n', "is not an IP address"),
    ('[web]\nproxy_heder = "X"\n', "unknown setting 'web.proxy_heder'"),
    ('[web]\nproxy_header = "X Remote: User"\ntrusted_proxies = ["127.0.0.1"]\n',
     "must be a header name"),
    ('viewers = ["lead"]\n', "'viewers' must be a table of SOP ids"),
    ('[viewers]\ncontent-publishing = "lead"\n', "must be a list of people's keys"),
])
def test_bad_access_settings_are_refused_clearly(tmp_path: Path, settings: str,
                                                message: str) -> None:
    folder = team(tmp_path, settings)
    with pytest.raises(ws.WorkspaceError, match=re.escape(message)):
        ws.load(folder)


def test_times_are_shown_in_my_time_zone(tmp_path: Path) -> None:
    folder = team(tmp_path, "")
    config = folder / ws.CONFIG
    config.write_text(config.read_text("utf-8").replace('timezone = "UTC"',
                                                        'timezone = "America/New_York"'),
                      "utf-8")
    with opened(folder, {"wendy": "Europe/Berlin"}) as engine:
        # the brief is due Tuesday 2025-01-07 09:00 UTC
        mine = signed_in(engine, "wendy").get("/").text
        assert "due 2025-01-07 10:00 CET" in mine
        set_password(engine.store, "ann", PASSWORD)
        page = signed_in(engine, "ann").get("/runs/1").text
        assert "due 2025-01-07 04:00 EST" in page  # the workspace's zone
        assert 'datetime="2025-01-03T09:00:00+00:00">2025-01-03 04:00 EST</time>' in page
