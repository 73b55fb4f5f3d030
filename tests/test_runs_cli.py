"""The run commands through the CLI (click's CliRunner, and a real ``opsflow`` process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from engine_support import SOPS

from opsflow.cli import COMMANDS, cli, main

ONBOARDING = SOPS / "employee-onboarding.sop"

RUN_COMMANDS = ["start", "tick", "untick", "approve", "reject", "abstain", "handoff", "fire",
                "set", "reassign", "cancel", "status", "inbox", "list", "history", "verify",
                "advance"]


class Cli:
    """Runs ``opsflow`` the way the console script does, against one database."""

    def __init__(self, url: str, env: dict[str, str] | None = None) -> None:
        self.url = url
        self.env = {"OPSFLOW_USER": "", **(env or {})}

    def __call__(self, *args: str, user: str | None = None) -> Result:
        argv = [*args, "--db", self.url]
        command = click.Command("opsflow", callback=lambda: main(argv))
        env = dict(self.env, OPSFLOW_USER=user or self.env["OPSFLOW_USER"])
        result = CliRunner().invoke(command, [], env=env)
        assert "Traceback" not in result.output
        return result


@pytest.fixture
def sop(tmp_path: Path) -> Path:
    target = tmp_path / "content-publishing.sop"
    shutil.copy(SOPS / "content-publishing.sop", target)
    return target


@pytest.fixture
def run(store_url: str) -> Cli:
    return Cli(store_url)


def started(run: Cli, sop: Path) -> str:
    result = run("start", str(sop), "--title", "ACME spring campaign",
                 "--role", "writer=wendy", "--role", "client=carol, dave",
                 "--role", "editor=ed", "--role", "account=ann", "--role", "finance=fin",
                 "--field", "budget=5000", "--as", "ann")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("started run ") and first.endswith(
        ": ACME spring campaign (content-publishing), now in brief")
    return first.split()[2].rstrip(":")


def test_every_run_command_is_registered_with_help_and_an_example() -> None:
    for name in RUN_COMMANDS:
        module = COMMANDS[name][0].split(":")[0]
        assert module in ("opsflow.cli.runs_cmd", "opsflow.cli.runview_cmd"), name
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output and f"opsflow {name}" in result.output, name


def test_a_run_from_start_to_finish(run: Cli, sop: Path) -> None:
    rid = started(run, sop)
    out = run("tick", rid, "1", "--as", "wendy").output
    assert out == (f"run {rid}: tick brief (Audience, goal and call to action are written "
                   f"down)\nrun {rid} is now in brief\n")
    assert run("tick", rid, "target keywords", user="wendy").exit_code == 0  # OPSFLOW_USER
    assert run("handoff", rid, "--as", "wendy").output.splitlines()[0] == (
        f"run {rid}: handoff brief → draft")
    for n in ("1", "2"):
        run("tick", rid, n, "--as", "wendy")
    run("handoff", rid, "--as", "wendy")
    result = run("approve", rid, "--as", "ed", "-m", "fine")
    assert result.output.splitlines() == [
        f"run {rid}: vote internal-review (approve)",
        f"run {rid}: approve internal-review → client-review (decided by the votes: approved "
        "(1 approve, 0 reject, 0 abstain))",
        f"run {rid} is now in client-review"]
    status = run("status", rid).output
    assert "approval: needs 1 more approval (0 approve, 0 reject, 0 abstain); not voted yet: " \
           "carol, dave" in status
    assert "next: carol, dave — vote" in status
    assert run("inbox", "carol").output.startswith(f"run {rid} (ACME spring campaign) · vote · "
                                                   "Client review: vote · due ")
    assert run("abstain", rid, "--as", "carol").exit_code == 0
    run("approve", rid, "--as", "dave")
    run("tick", rid, "1", "--as", "ed")
    assert run("handoff", rid, "--as", "ed").output.splitlines()[-1] == f"run {rid} is done"
    history = run("history", rid).output.splitlines()
    assert len(history) == 16 and history[-1].endswith("ed: finish publish")
    assert any(line.endswith("ed: vote (approve) internal-review — fine") for line in history)
    assert any(line.endswith("carol: vote (abstain) client-review") for line in history)
    assert run("verify", rid).output == (f"run {rid}: 16 events, chain intact, state matches "
                                         "replay\n")
    assert run("list", "--status", "done").output.startswith(f"{rid} · ACME spring campaign · "
                                                             "content-publishing · done · -")
    assert run("inbox", "ed").output == "nothing is waiting on ed\n"


def test_other_actions(run: Cli, sop: Path) -> None:
    rid = started(run, sop)
    assert run("set", rid, "budget", "20000", "--as", "ann").output == (
        f"run {rid}: set (budget = 20000; was 5000)\nrun {rid} is now in brief\n")
    assert run("reassign", rid, "writer", "walt,wes", "--as", "ann").exit_code == 0
    assert "roles: writer = walt, wes;" in run("status", rid).output
    assert run("list", "--person", "walt").output.startswith(f"{rid} · ")
    assert run("list", "--person", "wendy").output == "no runs match\n"
    note = run("start", str(ONBOARDING), "--title", "Nina", "--role", "people-ops=pat",
               "--role", "it=ivan", "--role", "manager=max", "--role", "buddy=bud",
               "--field", "job-title=Head of Sales, EMEA", "--as", "pat")
    assert note.exit_code == 0, note.output
    nina = note.output.split()[2].rstrip(":")
    assert "fields: job-title = Head of Sales, EMEA" in run("status", nina).output
    assert run("cancel", rid, "--reason", "client left", "--as", "ann").output == (
        f"run {rid}: cancel brief (client left)\nrun {rid} is cancelled\n")


def test_bad_input_gets_one_line_and_exit_1(run: Cli, sop: Path) -> None:
    rid = started(run, sop)
    cases = {
        ("tick", rid, "1"): "error: who is acting? add --as NAME, or set OPSFLOW_USER=NAME in "
                            "your shell",
        ("tick", rid, "1", "--as", "ed"): f"error: run {rid}: ed may not tick the checklist of "
                                          "phase brief; only role writer (wendy) may",
        ("handoff", rid, "--as", "wendy"): f"error: run {rid}: phase brief has 2 open checklist "
                                           "items (1. Audience, goal and call to action are "
                                           "written down; 2. Target keywords are agreed with "
                                           "SEO); tick them first",
        ("tick", rid, "7", "--as", "wendy"): f"error: run {rid}: phase brief has no criterion 7; "
                                             "its checklist: 1. Audience, goal and call to "
                                             "action are written down; 2. Target keywords are "
                                             "agreed with SEO",
        ("reject", rid, "--as", "carol"): f"error: run {rid}: phase brief has no approval; "
                                          "nobody votes there (active: brief)",
        ("set", rid, "budget", "lots", "--as", "ann"): f"error: run {rid}: field budget is a "
                                                       "number; 'lots' is not one (write digits "
                                                       "like 12000 or 12.5)",
        ("status", "999"): "error: no run 999; list runs with `opsflow list`",
        ("fire", rid, "party", "--as", "ann"): f"error: run {rid}: unknown event party; events "
                                               "of this SOP: none",
    }
    for args, message in cases.items():
        result = run(*args)
        assert (result.exit_code, result.output) == (1, message + "\n"), args
    bad_role = run("start", str(sop), "--title", "x", "--role", "writer", "--as", "ann")
    assert bad_role.exit_code == 2
    assert "'writer' is not ROLE=VALUE; write it like --role writer=wendy" in bad_role.output
    assert run("verify", rid).exit_code == 0  # all those refusals are in the chain


def test_unreachable_database() -> None:
    result = Cli("postgresql+psycopg://postgres@127.0.0.1:1/test")("status", "1")
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot use the database at "
                                    "postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert len(result.output.splitlines()) == 1


def test_real_process_with_the_default_workspace_database(tmp_path: Path) -> None:
    shutil.copy(SOPS / "content-publishing.sop", tmp_path / "cp.sop")
    env = {k: v for k, v in os.environ.items() if k != "OPSFLOW_DATABASE_URL"}
    env["OPSFLOW_USER"] = "wendy"

    def opsflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "opsflow", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)

    nowhere = opsflow("status", "1")  # no workspace yet: a clear error, nothing created
    assert (nowhere.returncode, nowhere.stdout) == (1, "")
    assert nowhere.stderr.startswith(f"error: no opsflow workspace in {tmp_path} or any folder "
                                     "above it; run `opsflow init` to make one here")
    assert list(tmp_path.iterdir()) == [tmp_path / "cp.sop"]
    assert opsflow("init").returncode == 0
    done = opsflow("start", "cp.sop", "--title", "Real", "--role", "writer=wendy",
                   "--role", "account=ann", "--role", "editor=ed", "--role", "client=cli",
                   "--role", "finance=fin")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "started run 1: Real (content-publishing), now in brief\n"
    assert (tmp_path / ".opsflow" / "opsflow.db").is_file()
    below = tmp_path / "notes" / "2026"
    below.mkdir(parents=True)
    found = subprocess.run([sys.executable, "-m", "opsflow", "list"], cwd=below, env=env,
                           capture_output=True, text=True, timeout=60)
    assert found.stdout.startswith("1 · Real · content-publishing · active"), found.stderr
    assert not (below / ".opsflow").exists() and not (tmp_path / "notes" / ".opsflow").exists()
    assert opsflow("tick", "1", "1").returncode == 0
    refused = opsflow("handoff", "1")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: run 1: phase brief has 1 open checklist item")
    assert "Traceback" not in refused.stderr
    status = opsflow("status", "1")
    assert status.returncode == 0 and "  [x] 1. Audience" in status.stdout
    elsewhere = subprocess.run([sys.executable, "-m", "opsflow", "status", "1", "--workspace",
                                str(tmp_path)], cwd=tmp_path.parent, env=env, capture_output=True,
                               text=True, timeout=60)
    assert elsewhere.stdout == status.stdout
