"""Issue 23, first part: the web app's sign-in, sessions, CSRF, headers and "my work".

Through Starlette's test client (httpx) on SQLite and PostgreSQL, and one real
uvicorn server on 127.0.0.1 driven by Debian's Chromium (Playwright): a person signs
in and sees their work, at 1280 and 390 px wide, with nothing scrolling sideways and
nothing fetched from anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_support import CONTENT_PEOPLE, SOPS, T0
from starlette.testclient import TestClient
from web_support import ARGS, ARTIFACTS, CHROMIUM, no_sideways_scroll, serving

from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import AccountError, set_password
from opsflow.web.app import HEADERS, SESSION, create_app

SECRET = "s" * 40
HOSTILE = "<script>alert(1)</script>{{ 7*7 }}"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine(Store.open(store_url), FixedClock(T0)) as opened:
        keys = dict.fromkeys(k for people in CONTENT_PEOPLE.values() for k in people)
        opened.store.add_people([person(k, k.title()) for k in keys])
        set_password(opened.store, "wendy", "correct horse battery")
        opened.start(SOPS / "content-publishing.sop", HOSTILE, CONTENT_PEOPLE,
                     {"budget": "100"}, actor="ann")
        yield opened


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def signed_in(client: TestClient) -> str:
    form = client.get("/signin")
    done = client.post("/signin", data={"csrf": csrf(form.text), "person": "Wendy",
                                        "password": "correct horse battery"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    return client.get("/").text


def test_sign_in_and_see_my_work_escaped(engine: Engine) -> None:
    client = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    first = client.get("/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/signin")
    form = client.get("/signin")
    for name, value in HEADERS.items():
        assert form.headers[name] == value
    assert "'unsafe-inline'" not in form.headers["Content-Security-Policy"]
    page = signed_in(client)
    assert "<h1>My work</h1>" in page and "Wendy (wendy)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in page  # text, not markup
    assert "<script>" not in page  # and {{ 7*7 }} stays text (above), never 49


def test_wrong_passwords_unknown_people_and_missing_csrf_are_refused(engine: Engine) -> None:
    client = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    token = csrf(client.get("/signin").text)
    for who, password in [("wendy", "wrong password!"), ("nobody", "correct horse battery"),
                          ("ed", "correct horse battery"), ("\x1b[2J", "x")]:
        refused = client.post("/signin", data={"csrf": token, "person": who,
                                               "password": password})
        assert refused.status_code == 401
        assert "That name and password do not match an account." in refused.text
        assert SESSION not in refused.headers.get("set-cookie", "")
    forged = client.post("/signin", data={"csrf": "guess", "person": "wendy",
                                          "password": "correct horse battery"})
    assert forged.status_code == 403 and SESSION not in forged.headers.get("set-cookie", "")
    client.cookies.set(SESSION, "eyJwZXJzb24iOiJ3ZW5keSJ9.forged.signature")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_session_ends_with_sign_out_or_deactivation(engine: Engine) -> None:
    client = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    page = signed_in(client)
    assert client.post("/signout", data={}).status_code == 403  # no CSRF token: refused
    assert client.get("/").status_code == 200  # still signed in
    out = client.post("/signout", data={"csrf": csrf(page)}, follow_redirects=False)
    assert out.status_code == 303 and f'{SESSION}=""' in out.headers["set-cookie"]
    client.cookies.clear()
    signed_in(client)
    engine.store.add_people([person("wendy", "Wendy", active=False)], update=True)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_passwords_are_checked_before_they_are_set(engine: Engine) -> None:
    with pytest.raises(AccountError, match="at least 10 characters"):
        set_password(engine.store, "ed", "short")
    with pytest.raises(AccountError, match="'ghost' is not an active person"):
        set_password(engine.store, "ghost", "long enough password")
    stored = engine.store.password_hash("wendy")
    assert stored is not None and stored.startswith("$argon2id$")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    engine = Engine(Store.open(f"sqlite:///{tmp_path / 'web.db'}"), FixedClock(T0))
    keys = dict.fromkeys(k for people in CONTENT_PEOPLE.values() for k in people)
    engine.store.add_people([person(k, k.title()) for k in keys])
    set_password(engine.store, "wendy", "correct horse battery")
    engine.start(SOPS / "content-publishing.sop", "A rather long campaign title that "
                 "must wrap on a phone screen", CONTENT_PEOPLE, {"budget": "100"}, actor="ann")
    with engine, serving(engine, SOPS) as base:
        yield base


def looked_at(page: Any, width: int, name: str) -> None:
    """The page does not scroll sideways; its screenshot is kept as a test artifact."""
    no_sideways_scroll(page, f"the {name} page")
    page.screenshot(path=str(ARTIFACTS / f"web-{name}-{width}.png"), full_page=True)


@pytest.mark.slow
def test_sign_in_in_chromium(served: str) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), "Chromium is missing: apt-get install chromium chromium-driver"
    ARTIFACTS.mkdir(exist_ok=True)
    foreign: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 800})
                page.on("request", lambda r: foreign.append(r.url)
                        if not r.url.startswith(served) else None)
                page.goto(served + "/")
                page.fill("#person", "wendy")
                page.fill("#password", "correct horse battery")
                page.keyboard.press("Enter")  # the keyboard is enough
                page.wait_for_url(served + "/")
                assert page.locator("h1").inner_text() == "My work"
                # the run started with the form at 1280 px is there at 390 px
                assert page.locator(".work li").count() == (1 if width == 1280 else 2)
                page.click(".work a[href='/runs/1#phase-brief']")
                page.wait_for_url(served + "/runs/1#phase-brief")
                looked_at(page, width, "run")
                if width == 390:  # tick the first item with the keyboard only
                    page.focus("button[aria-label='Tick 1']")
                    page.keyboard.press("Enter")
                    page.wait_for_selector("button[aria-label='Untick 1']")
                for path, name in [("/runs", "runs"), ("/procedures", "procedures"),
                                   ("/board/content-publishing", "board"),
                                   ("/procedures/change-management", "procedure"),
                                   ("/procedures/purchase-request/start", "start")]:
                    page.goto(served + path)
                    looked_at(page, width, name)
                if width == 1280:  # start a run with the form
                    page.goto(served + "/procedures/content-publishing/start")
                    page.fill("#title", "Started in the browser")
                    for role, people in CONTENT_PEOPLE.items():
                        page.select_option(f"#role-{role}", people)
                    page.fill("#field-budget", "900")
                    page.click("button[type=submit]:has-text('Start the run')")
                    page.wait_for_url(served + "/runs/2")
                    assert "Started in the browser" in page.locator("h1").inner_text()
                page.close()
        finally:
            browser.close()
    assert foreign == []


def test_the_run_page_acts_through_the_engine_and_shows_refusals(engine: Engine) -> None:
    client = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    page = signed_in(client)
    assert 'href="/runs/1#phase-brief"' in page  # one click to where she acts
    run = client.get("/runs/1")
    assert run.status_code == 200 and "&lt;script&gt;" in run.text and "<script>" not in run.text
    token = csrf(run.text)
    done = client.post("/runs/1/tick", data={"csrf": token, "phase": "brief",
                                             "criterion": "1"}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/runs/1")
    refused = client.post("/runs/1/handoff", data={"csrf": token, "phase": "brief"})
    assert refused.status_code == 422
    assert "Not done: run 1: phase brief has 1 open checklist item" in refused.text
    assert client.post("/runs/1/tick", data={"phase": "brief", "criterion": "2"}).status_code \
        == 403  # no CSRF token: nothing done
    history = [e.action for e in engine.history(1)]
    assert history.count("tick") == 1 and history[-1] == "refused"
    assert client.post("/runs/1/tick", data={"csrf": token, "phase": "brief",
                                             "criterion": "2"}).status_code == 200
    assert client.post("/runs/1/handoff", data={"csrf": token}).status_code == 200
    assert engine.store.get_run(1).phases == ["draft"]
    # a run one holds no role in is not there (404, not 403)
    others = {role: ["sam" if p == "wendy" else p for p in people]
              for role, people in CONTENT_PEOPLE.items()}
    engine.start(SOPS / "content-publishing.sop", "Other", others, {"budget": "1"}, actor="ann")
    assert client.get("/runs/2").status_code == 404
    assert client.post("/runs/2/tick", data={"csrf": token, "criterion": "1"}).status_code \
        == 404
    assert client.get("/runs/999999").status_code == 404
    assert client.get("/runs/x").status_code == 404


def test_sign_in_is_limited_per_person(engine: Engine) -> None:
    from opsflow.web.accounts import MAX_FAILURES

    client = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    token = csrf(client.get("/signin").text)
    for _ in range(MAX_FAILURES):
        assert client.post("/signin", data={"csrf": token, "person": "wendy",
                                            "password": "guess guess"}).status_code == 401
    limited = client.post("/signin", data={"csrf": token, "person": "wendy",
                                           "password": "correct horse battery"})
    assert limited.status_code == 429  # even the right password, for now
    assert "too many failed sign-ins for this name; try again in 15 minutes" in limited.text
    assert SESSION not in limited.headers.get("set-cookie", "")
    other = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    set_password(engine.store, "ed", "another long password")
    assert "My work" in signed_in_as(other, "ed", "another long password")


def signed_in_as(client: TestClient, who: str, password: str) -> str:
    form = client.get("/signin")
    client.post("/signin", data={"csrf": csrf(form.text), "person": who, "password": password})
    return client.get("/").text


def test_the_runs_page_lists_my_runs_with_filters(engine: Engine) -> None:
    others = {role: ["sam" if p == "wendy" else p for p in people]
              for role, people in CONTENT_PEOPLE.items()}
    engine.start(SOPS / "content-publishing.sop", "Not hers", others, {"budget": "1"},
                 actor="ann")
    engine.start(SOPS / "content-publishing.sop", "Second", CONTENT_PEOPLE, {"budget": "1"},
                 actor="ann")
    engine.cancel(3, actor="ann", reason="no longer needed")
    client = TestClient(create_app(engine, SECRET), base_url="http://127.0.0.1")
    signed_in(client)
    everything = client.get("/runs").text
    assert "2 active" not in everything and "1 active · 0 done · 1 cancelled" in everything
    assert 'href="/runs/1"' in everything and 'href="/runs/3"' in everything
    assert 'href="/runs/2"' not in everything  # she holds no role in run 2
    active = client.get("/runs?status=active").text
    assert 'href="/runs/1"' in active and 'href="/runs/3"' not in active
    assert "No runs match." in client.get("/runs?sop=other-sop").text
    assert client.get("/runs?status=<script>").status_code == 200
