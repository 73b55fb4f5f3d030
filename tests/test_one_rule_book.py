"""Issue 23, item 7: one rule book — the same refusals through the library, the CLI and
the web app, on SQLite and PostgreSQL.

Each case is refused by all three with the same problem (the engine's, with the run's
number in front) — the fix may be worded for the front end (the CLI says `--phase
PHASE` where the library says "the phase") — and none of them changes the run.
"""

from __future__ import annotations

import html
import re

import pytest
from click.testing import CliRunner
from engine_support import CONTENT_PEOPLE, SOPS
from starlette.testclient import TestClient

from opsflow.cli import cli
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.run.errors import RunError
from opsflow.store import Store
from opsflow.web.accounts import set_password
from opsflow.web.app import create_app

PASSWORD = "a long enough password"
#: (stage, who, library call, CLI arguments, web action and form)
CASES = [
    ("brief", "ed", lambda e, r: e.tick(r, 1, actor="ed", phase="brief"),
     ["tick", "{run}", "1", "--phase", "brief"], ("tick", {"criterion": "1", "phase": "brief"})),
    ("brief", "wendy", lambda e, r: e.handoff(r, actor="wendy", phase="brief"),
     ["handoff", "{run}", "--phase", "brief"], ("handoff", {"phase": "brief"})),
    ("client-review", "wendy",
     lambda e, r: e.vote(r, "approve", actor="wendy", phase="client-review"),
     ["approve", "{run}", "--phase", "client-review"],
     ("vote", {"decision": "approve", "phase": "client-review"})),
    ("client-review", "ed",
     lambda e, r: e.vote(r, "approve", actor="ed", phase="internal-review"),
     ["approve", "{run}", "--phase", "internal-review"],
     ("vote", {"decision": "approve", "phase": "internal-review"})),
    ("client-review", "cli",
     lambda e, r: e.vote(r, "reject", actor="cli", phase="client-review"),
     ["reject", "{run}", "--phase", "client-review"],
     ("vote", {"decision": "reject", "phase": "client-review"})),
]


def to_stage(engine: Engine, stage: str) -> int:
    run_id = engine.start(SOPS / "content-publishing.sop", "Spring", CONTENT_PEOPLE,
                          {"budget": "100"}, actor="ann")
    if stage == "client-review":
        for phase in ("brief", "draft"):
            for number, _ in next(p for p in engine.status(run_id).phases).open_items:
                engine.tick(run_id, number, actor="wendy", phase=phase)
            engine.handoff(run_id, actor="wendy", phase=phase)
        engine.vote(run_id, "approve", actor="ed", phase="internal-review")
        assert engine.store.get_run(run_id).phases == ["client-review"]
    return run_id


@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_same_refusal_everywhere(case: int, store_url: str) -> None:
    stage, who, library, command, (action, form) = CASES[case]
    with Engine(Store.open(store_url)) as engine:
        keys = dict.fromkeys(k for people in CONTENT_PEOPLE.values() for k in people)
        engine.store.add_people([person(k, k.title()) for k in keys])
        set_password(engine.store, who, PASSWORD)
        run_id = to_stage(engine, stage)
        before = engine.store.get_run(run_id)

        with pytest.raises(RunError) as caught:
            library(engine, run_id)
        expected, problem = str(caught.value), caught.value.problem
        assert problem.startswith(f"run {run_id}: ")

        done = CliRunner().invoke(cli, [*(a.format(run=run_id) for a in command), "--as", who,
                                        "--db", store_url])
        assert done.exit_code == 1
        assert done.output == f"error: {expected}\n" or \
            done.output.startswith(f"error: {problem}; ")  # the same, or a CLI-worded fix

        client = TestClient(create_app(engine, "k" * 40), base_url="http://127.0.0.1")
        signin = client.get("/signin").text
        token = re.search(r'name="csrf" value="([^"]+)"', signin)
        assert token is not None
        client.post("/signin", data={"csrf": token.group(1), "person": who,
                                     "password": PASSWORD})
        page = client.get(f"/runs/{run_id}").text
        session_csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert session_csrf is not None
        answer = client.post(f"/runs/{run_id}/{action}",
                             data={"csrf": session_csrf.group(1), **form})
        assert answer.status_code == 422
        shown = re.search(r'<p class="problem" role="alert">Not done: (.*?)</p>', answer.text,
                          re.S)
        assert shown is not None and html.unescape(shown.group(1)) == expected
        assert expected.startswith(problem)

        after = engine.store.get_run(run_id)
        assert (after.state, after.phases) == (before.state, before.phases)  # nothing changed
