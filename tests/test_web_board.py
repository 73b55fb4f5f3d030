"""Issue 23 (5): the runs tracker (filters, sorting, counts) and the board per SOP.

The board has one column per phase in flow order, one swim lane per owner role and
one card per active run in each phase it is in, overdue cards marked; only runs the
person holds a role in are on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_support import CONTENT_PEOPLE, SOPS, T0, compiled
from starlette.testclient import TestClient

from opsflow.run.board import flow_order
from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import set_password
from opsflow.web.app import create_app

SECRET = "s" * 40
PASSWORD = "correct horse battery"
CONTENT = SOPS / "content-publishing.sop"


def test_flow_order_puts_every_phase_after_the_ones_leading_to_it() -> None:
    assert flow_order(compiled("content-publishing")) == [
        "brief", "draft", "internal-review", "client-review", "finance-sign-off", "publish",
        "revision"]
    # a parallel block: its tracks in turn (each with its own phases), then what follows
    assert flow_order(compiled("employee-onboarding")) == [
        "offer-accepted", "it-setup", "ship-equipment", "hr-paperwork", "day-one",
        "first-week", "onboarded", "cancelled"]
    for name in ("change-management", "incident-response", "purchase-request"):
        c = compiled(name)
        order = flow_order(c)
        assert sorted(order) == sorted(c.phases) and order[0] == c.start


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    clock = FixedClock(T0)
    with Engine(Store.open(store_url), clock) as opened:
        keys = dict.fromkeys(k for people in CONTENT_PEOPLE.values() for k in people)
        opened.store.add_people([person(k, k.title()) for k in keys])
        set_password(opened.store, "wendy", PASSWORD)
        others = {role: ["sam" if p == "wendy" else p for p in people]
                  for role, people in CONTENT_PEOPLE.items()}
        opened.start(CONTENT, "Zebra brief", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")  # 1
        clock.advance(days=1)
        opened.start(CONTENT, "Apple draft", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")  # 2
        opened.tick(2, 1, actor="wendy")
        opened.tick(2, 2, actor="wendy")
        opened.handoff(2, actor="wendy")
        opened.start(CONTENT, "Not hers", others, {"budget": "1"}, actor="ann")  # 3
        opened.start(CONTENT, "Cancelled", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")  # 4
        opened.cancel(4, actor="ann", reason="not needed")
        clock.advance(days=3, hours=23)  # Wed 08:00: run 1's brief (due Tue 09:00) is overdue
        yield opened


def client_for(engine: Engine) -> TestClient:
    client = TestClient(create_app(engine, SECRET, sops=SOPS), base_url="http://127.0.0.1")
    form = client.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    client.post("/signin", data={"csrf": token.group(1), "person": "wendy",
                                 "password": PASSWORD})
    return client


def shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a class="run" href="/runs/(\d+)"', html)]


def test_the_tracker_filters_and_sorts(engine: Engine) -> None:
    client = client_for(engine)
    page = client.get("/runs").text
    assert "2 active · 0 done · 1 cancelled" in page
    assert shown(page) == [1, 2, 4]  # due first: run 1 is due first, 4 has no due time
    assert shown(client.get("/runs?sort=newest").text) == [4, 2, 1]
    assert shown(client.get("/runs?sort=title").text) == [2, 4, 1]  # Apple, Cancelled, Zebra
    assert shown(client.get("/runs?phase=draft").text) == [2]
    assert shown(client.get("/runs?overdue=1").text) == [1]
    assert shown(client.get("/runs?status=cancelled").text) == [4]
    # by person: only runs both share; a stranger's name or a bad sort shows nothing odd
    assert shown(client.get("/runs?person=sam").text) == [1, 2, 4]
    assert shown(client.get("/runs?person=nobody").text) == []
    assert shown(client.get("/runs?person=%1b%5b2J").text) == []
    assert shown(client.get("/runs?sort=<script>").text) == [1, 2, 4]
    assert 'href="/board/content-publishing"' in page


def cells(html: str) -> list[list[str]]:
    """The board's rows as lists of cell texts (tags stripped)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def test_the_board_shows_active_runs_by_phase_and_owner(engine: Engine) -> None:
    client = client_for(engine)
    html = client.get("/board/content-publishing").text
    heads = re.findall(r'<th scope="col">([^<]*)', html)
    assert [h.strip() for h in heads] == ["Lane (owner)", "Brief", "Draft", "Internal review",
                                          "Client review", "Finance sign-off", "Publish",
                                          "Revision"]
    rows = cells(html)
    assert [r[0] for r in rows] == ["Content writer", "Managing editor", "Account manager"]
    writer = rows[0]
    assert writer[1].startswith("Run 1: Zebra brief") and "overdue" in writer[1]
    assert writer[2].startswith("Run 2: Apple draft") and "overdue" not in writer[2]
    assert all(cell == "" for row in rows[1:] for cell in row[1:])
    assert "Not hers" not in html and "Cancelled" not in html  # not hers; not active
    assert "2 active items · 1 overdue" in html
    assert html.count('class="card overdue"') == 1


def test_a_board_without_runs_and_an_unknown_one(engine: Engine) -> None:
    client = client_for(engine)
    empty = client.get("/board/purchase-request")  # in the folder, no runs: empty columns
    assert empty.status_code == 200 and "0 active items" in empty.text
    assert client.get("/board/no-such-sop").status_code == 404
    outsider = TestClient(create_app(engine, SECRET, sops=SOPS), base_url="http://127.0.0.1")
    assert outsider.get("/board/content-publishing", follow_redirects=False).status_code == 303


def test_runs_of_an_older_version_keep_their_phase_on_the_board(tmp_path: Path,
                                                               store_url: str) -> None:
    import opsflow

    old = ('sop s "S"\n  owner lead\nrole lead "Lead"\nrole doer "Doer"\n'
           'phase a "A"\n  owner doer\n  handoff to gone\n'
           'phase gone "Gone"\n  owner doer\n  handoff to z\n'
           'phase z "Z"\n  owner lead\n  end\n')
    path = tmp_path / "s.sop"
    path.write_text(old, "utf-8")
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        engine.start(path, "Old one", {"lead": ["l"], "doer": ["d"]}, actor="l")
        engine.handoff(1, actor="d")
        new = old.replace('  handoff to gone\nphase gone "Gone"\n  owner doer\n  handoff to z\n',
                          '  handoff to z\n')
        path.write_text(new, "utf-8")
        board = engine.board("s", current=opsflow.load(path))
        assert [c.phase for c in board.columns] == ["a", "z", "gone"]
        assert [(c.run_id, c.phase) for c in board.cards] == [(1, "gone")]
        assert board.in_cell("doer", "gone")[0].title == "Old one"
        assert board.in_cell("lead", "gone") == []
