"""Issue 23 (3): the run page offers what the person may do — declared events to
fire, fields to set with typed inputs — judged by the engine (``Engine.choices``),
shows the phase's playbook text, milestones and the history; a refusal shows the
engine's message and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from engine_support import SOPS, T0
from starlette.testclient import TestClient

from opsflow.errors import OpsflowError
from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import set_password
from opsflow.web.app import create_app

SECRET = "s" * 40
PASSWORD = "correct horse battery"
PEOPLE = {"on-call": ["olga"], "incident-commander": ["ian"], "comms": ["cora"],
          "support": ["sue"], "engineering-manager": ["em"]}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine(Store.open(store_url), FixedClock(T0)) as opened:
        opened.store.add_people([person(k, k.title()) for k in
                                 ("olga", "ian", "cora", "sue", "em")])
        for key in ("olga", "cora"):
            set_password(opened.store, key, PASSWORD)
        opened.start(SOPS / "incident-response.sop", "Checkout is down", PEOPLE,
                     {"service": "checkout"}, actor="olga")
        yield opened


def signed_in(engine: Engine, who: str) -> TestClient:
    client = TestClient(create_app(engine, SECRET, sops=SOPS), base_url="http://127.0.0.1")
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
    assert token is not None
    client.post("/signin", data={"csrf": token.group(1), "person": who, "password": PASSWORD})
    return client


def token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_choices_are_the_engines(engine: Engine) -> None:
    olga, cora = engine.choices(1, "olga"), engine.choices(1, "cora")
    assert olga.events == [("triage", "false-alarm", "False alarm")]
    assert olga.fields == ["severity", "service", "customers-affected"]
    assert cora.events == [] and cora.fields == []
    # what the page offers, the engine does; what it does not offer, the engine refuses
    with pytest.raises(OpsflowError, match="cora may not"):
        engine.set_field(1, "severity", "sev1", actor="cora")


def test_the_owner_sets_fields_and_fires_an_event(engine: Engine) -> None:
    client = signed_in(engine, "olga")
    page = client.get("/runs/1").text
    assert '<select id="set-severity" name="value">' in page
    assert 'id="set-customers-affected" name="value" type="number" step="any"' in page
    assert 'value="checkout"' in page  # the current value is in the form
    assert '<button type="submit">False alarm</button>' in page
    assert "<summary>How to do this phase</summary>" in page
    assert "Acknowledge the page, look at the dashboards" in page
    assert "<strong>Waiting on</strong> Olga" in page
    csrf = token(page)
    done = client.post("/runs/1/set", data={"csrf": csrf, "field": "severity",
                                            "value": "sev2"}, follow_redirects=False)
    assert done.status_code == 303 and engine.status(1).fields["severity"] == "sev2"
    refused = client.post("/runs/1/set", data={"csrf": csrf, "field": "customers-affected",
                                               "value": "lots"})
    assert refused.status_code == 422
    shown = re.search(r'role="alert">Not done: (.*?)</p>', refused.text)
    assert shown is not None and "customers-affected" in unescape(shown.group(1))
    assert "customers-affected" not in engine.status(1).fields
    fired = client.post("/runs/1/fire", data={"csrf": csrf, "phase": "triage",
                                              "event": "false-alarm",
                                              "comment": "<b>test alert</b>"},
                        follow_redirects=False)
    assert fired.status_code == 303
    run = engine.store.get_run(1)
    assert (run.status, run.phases) == ("active", ["false-alarm-closed"])
    after = client.get("/runs/1").text
    assert "&lt;b&gt;test alert&lt;/b&gt;" in after and "<b>test alert</b>" not in after


def test_a_person_without_the_right_sees_no_forms_and_is_refused(engine: Engine) -> None:
    client = signed_in(engine, "cora")
    page = client.get("/runs/1").text
    assert 'action="/runs/1/set"' not in page and 'action="/runs/1/fire"' not in page
    assert "Checkout is down" in page
    forged = client.post("/runs/1/fire", data={"csrf": token(page), "phase": "triage",
                                               "event": "false-alarm"})
    assert forged.status_code == 422 and "cora may not" in forged.text
    assert engine.store.get_run(1).phases == ["triage"]
    assert client.post("/runs/1/delete", data={"csrf": token(page)}).status_code == 404
