"""Issue 23 (4): start a run in the web app, from a form made from the SOP.

The form has a title, a person picker per role from the directory and a typed
input per field; it refuses exactly what ``start`` refuses (the engine's message,
on the same page, nothing started) and the procedures list leaves out shared
files and says which files have errors.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_support import CONTENT_PEOPLE, SOPS, T0
from starlette.testclient import TestClient

from opsflow.procedures import UnknownProcedureError, catalogue, procedure
from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import set_password
from opsflow.web.app import create_app

SECRET = "s" * 40
PASSWORD = "correct horse battery"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    sops = tmp_path / "sops"
    shutil.copytree(SOPS, sops)
    (sops / "broken.sop").write_text('sop broken "Broken"\nphase a "A"\n  owner nobody\n',
                                     "utf-8")
    return sops


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine(Store.open(store_url), FixedClock(T0)) as opened:
        keys = dict.fromkeys(k for people in CONTENT_PEOPLE.values() for k in people)
        opened.store.add_people([person(k, k.title()) for k in keys])
        opened.store.add_people([person("gone", "Gone", active=False)])
        set_password(opened.store, "ann", PASSWORD)
        yield opened


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def client_for(engine: Engine, folder: Path, who: str = "ann") -> TestClient:
    client = TestClient(create_app(engine, SECRET, sops=folder), base_url="http://127.0.0.1")
    form = client.get("/signin")
    done = client.post("/signin", data={"csrf": csrf(form.text), "person": who,
                                        "password": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303
    return client


def test_the_catalogue_lists_procedures_not_shared_files(folder: Path) -> None:
    listed = {p.id: p for p in catalogue(folder)}
    assert "content-publishing" in listed and "broken" in listed
    assert not any(p.path.startswith("shared/") for p in listed.values())
    assert listed["broken"].sop is None and listed["broken"].errors
    assert listed["tooling-migration"].files  # it includes a shared file, pinned with runs
    with pytest.raises(UnknownProcedureError, match=r"no procedure '\.\./etc'"):
        procedure(folder, "../etc")
    (folder / "copy.sop").write_text((folder / "incident-response.sop").read_text("utf-8"),
                                     "utf-8")
    with pytest.raises(UnknownProcedureError, match="2 files declare procedure "
                                                    "'incident-response'"):
        procedure(folder, "incident-response")
    assert catalogue(folder / "missing") == []


def test_the_form_is_made_from_the_sop(engine: Engine, folder: Path) -> None:
    client = client_for(engine, folder)
    listing = client.get("/procedures").text
    assert 'href="/procedures/content-publishing/start"' in listing
    assert 'href="/procedures/broken/start"' not in listing and "cannot be started" in listing
    form = client.get("/procedures/content-publishing/start")
    assert form.status_code == 200
    html = form.text
    for role in ("writer", "editor", "account", "client", "seo", "finance"):
        assert f'name="role.{role}" multiple' in html
    assert '<option value="wendy">Wendy (wendy)</option>' in html
    assert 'value="gone"' not in html  # deactivated people are not offered
    assert 'name="field.budget" type="number" step="any"' in html
    assert client.get("/procedures/nothing/start").status_code == 404
    assert client.get("/procedures/broken/start").status_code == 422


def form_data(token: str, title: str, people: dict[str, list[str]],
              fields: dict[str, str]) -> list[tuple[str, str]]:
    data = [("csrf", token), ("title", title)]
    data += [(f"role.{role}", p) for role, names in people.items() for p in names]
    data += [(f"field.{name}", value) for name, value in fields.items()]
    return data


def post(client: TestClient, sop: str, data: list[tuple[str, str]]) -> Any:
    from urllib.parse import urlencode

    return client.post(f"/procedures/{sop}/start", content=urlencode(data),
                       headers={"content-type": "application/x-www-form-urlencoded"},
                       follow_redirects=False)


def test_starting_a_run_from_the_form(engine: Engine, folder: Path) -> None:
    client = client_for(engine, folder)
    token = csrf(client.get("/procedures/content-publishing/start").text)
    done = post(client, "content-publishing",
                form_data(token, "  ACME   spring ", CONTENT_PEOPLE, {"budget": "12000"}))
    assert (done.status_code, done.headers["location"]) == (303, "/runs/1")
    run = engine.store.get_run(1)
    assert (run.title, run.sop_id, run.phases) == ("ACME spring", "content-publishing",
                                                   ["brief"])
    assert engine.status(1).assignments["client"] == ["cli", "wendy"]
    assert engine.history(1)[0].actor == "ann"
    # a run started for others, where the starter holds no role, is not shown to her
    others = {role: ["sam" if p == "ann" else p for p in people]
              for role, people in CONTENT_PEOPLE.items()}
    elsewhere = post(client, "content-publishing", form_data(token, "Theirs", others, {}))
    assert elsewhere.headers["location"] == "/procedures?started=2"
    assert "Started run 2." in client.get("/procedures?started=2").text
    # a procedure with roles from a shared file, a choice and a date field
    form = client.get("/procedures/purchase-request/start").text
    assert '<select id="field-category" name="field.category" required>' in form
    assert '<option value="travel">travel</option>' in form
    assert 'name="field.needed-by" type="date"' in form
    assert '<label for="role-manager">Line manager (manager)</label>' in form
    buyers = {"requester": ["ann"], "manager": ["ed"], "it": ["sam"], "finance": ["fin"],
              "cfo": ["cli"], "procurement": ["wendy"]}
    bought = post(client, "purchase-request", form_data(
        token, "Laptops", buyers, {"amount": "2400", "category": "hardware",
                                   "needed-by": "2025-02-01"}))
    assert (bought.status_code, bought.headers["location"]) == (303, "/runs/3")
    assert engine.status(3).fields == {"amount": "2400", "category": "hardware",
                                       "needed-by": "2025-02-01"}


REFUSALS = [
    # (title, people, fields, what start says)
    ("", CONTENT_PEOPLE, {}, "a run needs a title"),
    ("No writer", {k: v for k, v in CONTENT_PEOPLE.items() if k != "writer"}, {},
     "nobody holds role writer"),
    ("Bad budget", CONTENT_PEOPLE, {"budget": "lots"}, "budget"),
    ("Deactivated", {**CONTENT_PEOPLE, "seo": ["gone"]}, {}, "gone"),
    ("Stranger", {**CONTENT_PEOPLE, "seo": ["zed"]}, {}, "zed"),
]


@pytest.mark.parametrize(("title", "people", "fields", "message"), REFUSALS)
def test_the_form_refuses_what_start_refuses(engine: Engine, folder: Path, title: str,
                                             people: dict[str, list[str]],
                                             fields: dict[str, str], message: str) -> None:
    from opsflow.errors import OpsflowError

    with pytest.raises(OpsflowError) as direct:
        engine.start(folder / "content-publishing.sop", title, people, fields, actor="ann")
    assert message in str(direct.value)
    client = client_for(engine, folder)
    token = csrf(client.get("/procedures/content-publishing/start").text)
    refused = post(client, "content-publishing", form_data(token, title, people, fields))
    assert refused.status_code == 422
    shown = re.search(r'<p class="problem" role="alert">Not started: (.*?)</p>', refused.text)
    assert shown is not None
    from html import unescape

    assert unescape(shown.group(1)) == str(direct.value)
    assert engine.list_runs() == []  # nothing started
    if title:  # what was sent stays in the form
        assert f'value="{title}"' in refused.text


def test_start_needs_the_form_token_and_a_session(engine: Engine, folder: Path) -> None:
    client = client_for(engine, folder)
    forged = post(client, "content-publishing", form_data("guess", "X", CONTENT_PEOPLE, {}))
    assert forged.status_code == 403 and engine.list_runs() == []
    anonymous = TestClient(create_app(engine, SECRET, sops=folder), base_url="http://127.0.0.1")
    assert anonymous.get("/procedures", follow_redirects=False).status_code == 303
    assert post(anonymous, "content-publishing",
                form_data("x", "X", CONTENT_PEOPLE, {})).status_code == 303
    assert engine.list_runs() == []
