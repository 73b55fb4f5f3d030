"""`opsflow history` in full text and as JSON, on a real SQLite file (CliRunner).

The run is driven through the engine with a fixed clock so the times are
known; the command reads it back the way a user does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from engine_support import ONBOARDING_PEOPLE, SOPS, T0

from opsflow.cli import cli
from opsflow.render.from_run import load_run_view
from opsflow.run.clock import FixedClock
from opsflow.run.engine import Engine
from opsflow.run.errors import RunError
from opsflow.store import Store

PEOPLE = {"writer": ["wendy"], "editor": ["ed"], "account": ["ann"], "client": ["cli"],
          "seo": ["sam"], "finance": ["fin"]}


def history(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["history", *args, "--db", url])
    assert result.exit_code == 0, result.output
    return result.output


def drive(url: str, tmp_path: Path) -> int:
    sop = tmp_path / "content-publishing.sop"
    shutil.copy(SOPS / "content-publishing.sop", sop)
    clock = FixedClock(T0)
    with Engine(Store.open(url), clock) as engine:
        run = engine.start(sop, "ACME", PEOPLE, {"budget": "5000"}, actor="ann")
        clock.advance(minutes=1)
        engine.tick(run, 1, actor="wendy")
        engine.tick(run, 2, actor="wendy")
        engine.handoff(run, actor="wendy")
        clock.advance(minutes=1)
        try:
            engine.handoff(run, actor="ed")
        except RunError:
            pass
        engine.set_field(run, "budget", "20000", actor="ann")
        engine.reassign(run, "writer", ["walt", "wes"], actor="ann")
        engine.tick(run, 1, actor="walt")
        engine.tick(run, 2, actor="walt")
        engine.handoff(run, actor="walt")
        clock.advance(minutes=1)
        engine.vote(run, "reject", actor="ed", comment="Fix the \x1b[31mtitle\nplease")
        engine.cancel(run, actor="ann", reason="client left")
    return run


def test_history_says_what_each_event_changed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'opsflow.db'}"
    run = drive(url, tmp_path)
    assert history(url, str(run)) == """\
   1 2025-01-03 09:00 UTC ann: start → brief — ACME
   2 2025-01-03 09:01 UTC wendy: tick brief — 1. Audience, goal and call to action are written down
   3 2025-01-03 09:01 UTC wendy: tick brief — 2. Target keywords are agreed with SEO
   4 2025-01-03 09:01 UTC wendy: handoff brief → draft
   5 2025-01-03 09:02 UTC ed: refused handoff draft — ed may not hand off phase draft; only role writer (wendy) may
   6 2025-01-03 09:02 UTC ann: set budget: 5000 → 20000
   7 2025-01-03 09:02 UTC ann: reassign writer: wendy → walt, wes
   8 2025-01-03 09:02 UTC walt: tick draft — 1. First draft is in the shared folder
   9 2025-01-03 09:02 UTC walt: tick draft — 2. Every claim links to a source
  10 2025-01-03 09:02 UTC walt: handoff draft → internal-review
  11 2025-01-03 09:03 UTC ed: vote (reject) internal-review — Fix the \\x1b[31mtitle\\nplease
  12 2025-01-03 09:03 UTC ed: reject internal-review → draft — by the votes: rejected: 1 approval can no longer be reached (0 approve, 1 reject, 0 abstain)
  13 2025-01-03 09:03 UTC ann: cancel draft — client left
"""  # noqa: E501


def test_history_as_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'opsflow.db'}"
    run = drive(url, tmp_path)
    data = json.loads(history(url, str(run), "--format", "json"))
    assert data["run"] == run
    assert [e["kind"] for e in data["events"]] == [
        "start", "tick", "tick", "move", "refused", "set", "reassign", "tick", "tick", "move",
        "vote", "move", "cancel"]
    assert data["events"][5] == {
        "kind": "set", "run_id": run, "seq": 6, "at": "2025-01-03T09:02:00+00:00",
        "actor": "ann", "field": "budget", "value": "20000", "previous": "5000",
        "command": {"kind": "set", "field": "budget", "value": "20000"}, "extra": {}}
    assert data["events"][10]["comment"] == "Fix the \x1b[31mtitle\nplease"
    assert data["events"][11]["trigger"] == "reject" and data["events"][11]["auto"] is True


def test_history_of_parallel_tracks_milestones_and_the_finish(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'opsflow.db'}"
    with Engine(Store.open(url), FixedClock(T0)) as engine:
        run = engine.start(SOPS / "employee-onboarding.sop", "Nina", ONBOARDING_PEOPLE,
                           {"work-location": "office"}, actor="pat")
        for n in (1, 2, 3):
            engine.tick(run, n, actor="pat")
        engine.handoff(run, actor="pat")
        for n in (1, 2, 3):
            engine.tick(run, n, actor="ivan", phase="it-setup")
        engine.handoff(run, actor="ivan", phase="it-setup")
        for n in (1, 2, 3, 4):
            engine.tick(run, n, actor="pat", phase="hr-paperwork")
        engine.handoff(run, actor="pat", phase="hr-paperwork")
        for phase, person in (("day-one", "max"), ("first-week", "bud"), ("onboarded", "pat")):
            for n in range(1, 4):
                try:
                    engine.tick(run, n, actor=person, phase=phase)
                except RunError:
                    break
            engine.handoff(run, actor=person, phase=phase)
        _, view = load_run_view(run, db_url=url)
    lines = [line.split("UTC ", 1)[1] for line in history(url, str(run)).splitlines()
             if "tick" not in line]
    assert lines == [
        "pat: start → offer-accepted — Nina",
        "pat: handoff offer-accepted → preparation",
        "ivan: handoff it-setup → join",
        "pat: handoff hr-paperwork → join",
        "pat: join preparation → day-one",
        "max: handoff day-one → first-week",
        "bud: handoff first-week → onboarded",
        "bud: milestone first-week — New hire productive",
        "pat: handoff onboarded → end",
        "pat: finish onboarded",
    ]
    # the playbook-with-run knows the tracks' first phases (the fork records no entry)
    assert view.phases["it-setup"].entered_at == T0
    assert view.phases["it-setup"].ticked == frozenset({1, 2, 3})
    assert view.phases["hr-paperwork"].left_at == T0


def test_unknown_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'opsflow.db'}"
    Store.open(url, upgrade=True).close()
    result = CliRunner().invoke(cli, ["history", "9", "--db", url])
    assert result.exit_code == 1
    assert result.output == "error: no run 9; list runs with `opsflow list`\n"


def test_a_fired_events_comment_is_in_the_history_and_the_output(tmp_path: Path) -> None:
    """`fire --comment` was shown after the command but missing from `history` (text) and
    only under `command.comment` in its JSON."""
    url = f"sqlite:///{tmp_path / 'opsflow.db'}"
    people = {"on-call": ["oli"], "incident-commander": ["ivy"], "comms": ["cam"],
              "support": ["sue"], "engineering-manager": ["em"]}
    with Engine(Store.open(url), FixedClock(T0)) as engine:
        run = engine.start(SOPS / "incident-response.sop", "Alert 42", people, {},
                           actor="ivy")
    result = CliRunner().invoke(cli, ["fire", str(run), "false-alarm", "--as", "oli",
                                      "--comment", "Monitoring glitch", "--db", url])
    assert result.exit_code == 0, result.output
    assert (f"run {run}: false-alarm triage → false-alarm-closed (Monitoring glitch)"
            in result.output.splitlines())
    lines = [line.split("UTC ", 1)[1] for line in history(url, str(run)).splitlines()]
    assert "oli: false-alarm triage → false-alarm-closed — Monitoring glitch" in lines
    moves = [e for e in json.loads(history(url, str(run), "--format", "json"))["events"]
             if e["kind"] == "move"]
    assert [(m["trigger"], m["comment"]) for m in moves] == [
        ("false-alarm", "Monitoring glitch")]
