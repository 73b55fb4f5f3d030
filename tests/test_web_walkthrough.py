"""Issue 23 (11): two people in two Chromium contexts complete a content-publishing
run in the web app, on SQLite and on PostgreSQL.

Wendy (writer, and one of the clients) starts the run with the form, works the
brief and the draft; Ed (editor, the other client) rejects the draft once (the
rejection loop), approves it with the keyboard only; Wendy's approval of the client
review is refused on the page (``not by writer``), Ed's counts; Ed publishes. The
history on the page shows all of it. No request leaves 127.0.0.1, no page scrolls
sideways (Wendy at 1280 px, Ed at 390 px), screenshots are kept, and axe-core finds
no serious accessibility problem on the main pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from engine_support import SOPS, T0
from web_support import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    axe_problems,
    keep_local,
    no_sideways_scroll,
    serving,
)

from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import set_password

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
ROLES = {"writer": ["wendy"], "editor": ["ed"], "account": ["ann"], "client": ["ed", "wendy"],
         "seo": ["sam"], "finance": ["fin"]}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine(Store.open(store_url), FixedClock(T0)) as opened:
        opened.store.add_people([person(k, n) for k, n in [
            ("wendy", "Wendy Writer"), ("ed", "Ed Editor"), ("ann", "Ann Account"),
            ("sam", "Sam SEO"), ("fin", "Fin Finance")]])
        for key in ("wendy", "ed"):
            set_password(opened.store, key, PASSWORD)
        yield opened


def sign_in(page: Any, base: str, who: str) -> None:
    page.goto(base + "/signin")
    page.fill("#person", who)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def act(page: Any, selector: str, base: str) -> None:
    """Click and wait for the run page to come back (a redirect or a refusal)."""
    with page.expect_navigation():
        page.click(selector)
    assert page.url.startswith(base + "/runs/1"), page.url


def tick_all(page: Any, base: str, phase: str) -> None:
    boxes = f"#phase-{phase} ~ ul.checklist button[aria-label^='Tick ']"
    while page.locator(boxes).count():
        act(page, boxes + " >> nth=0", base)


def phase_title(page: Any) -> list[str]:
    return [h.strip() for h in page.locator("section.phase h2").all_inner_texts()]


def test_two_people_complete_a_run_in_two_browsers(engine: Engine, store_url: str) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), "Chromium is missing: apt-get install chromium chromium-driver"
    ARTIFACTS.mkdir(exist_ok=True)
    backend = store_url.split(":", 1)[0].split("+", 1)[0]
    foreign: list[str] = []
    accessibility: dict[str, list[str]] = {}
    with serving(engine, SOPS) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            contexts = {who: browser.new_context(viewport={"width": width, "height": 900})
                        for who, width in (("wendy", 1280), ("ed", 390))}
            for context in contexts.values():
                keep_local(context, base, foreign)
            wendy, ed = contexts["wendy"].new_page(), contexts["ed"].new_page()
            sign_in(wendy, base, "wendy")
            sign_in(ed, base, "ed")

            def look(page: Any, name: str) -> None:
                no_sideways_scroll(page, name)
                width = page.viewport_size["width"]
                page.screenshot(path=str(ARTIFACTS / f"walk-{backend}-{name}-{width}.png"),
                                full_page=True)
                if name not in accessibility:
                    accessibility[name] = axe_problems(page)

            look(wendy, "signed-in")
            # Wendy starts the run with the form
            wendy.goto(base + "/procedures/content-publishing/start")
            look(wendy, "start")
            wendy.fill("#title", "ACME spring campaign")
            for role, people in ROLES.items():
                wendy.select_option(f"#role-{role}", people)
            wendy.fill("#field-budget", "100")
            with wendy.expect_navigation():
                wendy.click("text=Start the run")
            assert wendy.url == base + "/runs/1"
            look(wendy, "run")
            tick_all(wendy, base, "brief")
            act(wendy, "#phase-brief ~ form button:has-text('Hand off')", base)
            assert phase_title(wendy) == ["Draft"]
            tick_all(wendy, base, "draft")
            act(wendy, "#phase-draft ~ form button:has-text('Hand off')", base)
            assert phase_title(wendy) == ["Internal review"]

            # Ed finds it in his work and rejects it once, with a reason
            ed.goto(base + "/")
            look(ed, "my-work")
            with ed.expect_navigation():
                ed.click("a[href='/runs/1#phase-internal-review']")
            look(ed, "run")
            act(ed, "button[value=reject]", base)  # without a reason: refused on the page
            assert "Not done" in ed.locator(".problem").inner_text()
            assert "reason" in ed.locator(".problem").inner_text()
            ed.fill("#comment-internal-review", "Two claims have no source")
            act(ed, "button[value=reject]", base)
            assert phase_title(ed) == ["Draft"]

            # the loop: Wendy hands the draft in again
            wendy.goto(base + "/runs/1")
            tick_all(wendy, base, "draft")
            act(wendy, "#phase-draft ~ form button:has-text('Hand off')", base)

            # Ed approves with the keyboard only
            ed.goto(base + "/runs/1")
            ed.focus("#comment-internal-review")
            ed.keyboard.type("Sources added, fine now")
            ed.keyboard.press("Tab")  # to Approve
            assert ed.evaluate("document.activeElement.value") == "approve"
            with ed.expect_navigation():
                ed.keyboard.press("Enter")
            assert phase_title(ed) == ["Client review"]

            # Wendy is a client too, but the writer may not approve: refused on the page
            wendy.goto(base + "/runs/1")
            act(wendy, "button[value=approve]", base)
            problem = wendy.locator(".problem").inner_text()
            assert "wendy may not" in problem and "writer" in problem, problem
            look(wendy, "refused")
            assert phase_title(wendy) == ["Client review"]

            ed.goto(base + "/runs/1")
            ed.fill("#comment-client-review", "Approved for the client")
            act(ed, "button[value=approve]", base)
            assert phase_title(ed) == ["Publish"]
            tick_all(ed, base, "publish")
            act(ed, "#phase-publish ~ form button:has-text('Hand off')", base)
            assert "· done" in ed.locator("p.meta").inner_text()

            # the history, as Wendy sees it
            wendy.goto(base + "/runs/1")
            history = wendy.locator("ol.history li").all_inner_texts()
            text = "\n".join(history)
            for line in ("ed: vote (reject) internal-review — Two claims have no source",
                         "ed: reject internal-review → draft",
                         "ed: vote (approve) internal-review — Sources added, fine now",
                         "wendy: refused vote client-review",
                         "ed: vote (approve) client-review — Approved for the client",
                         "ed: finish publish"):
                assert line in text, f"{line!r} not in the history:\n{text}"
            look(wendy, "history")
            for path, name in (("/runs", "runs"), ("/board/content-publishing", "board"),
                               ("/procedures", "procedures"),
                               ("/procedures/content-publishing", "procedure")):
                wendy.goto(base + path)
                look(wendy, name)
                ed.goto(base + path)
                no_sideways_scroll(ed, name)
            wendy.context.clear_cookies()
            wendy.goto(base + "/signin")
            look(wendy, "signin")
        finally:
            browser.close()
    assert foreign == []
    assert {name: found for name, found in accessibility.items() if found} == {}
    assert engine.store.get_run(1).status == "done"
    assert engine.verify(1).ok
