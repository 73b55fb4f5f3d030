"""Issue 22, item 3: personal tokens on a shared database, on SQLite and PostgreSQL.

A workspace with `identity = "token"` (the default when its database is
PostgreSQL) acts as the person of the user's token: no token, a revoked or unknown
one, or `--as` for somebody else by a non-admin is refused with how to log in.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from engine_support import SOPS
from store_support import run_sql

from opsflow.cli import cli
from opsflow.store import database
from opsflow.workspace import load

SOP = SOPS / "purchase-request.sop"
START = ["start", str(SOP), "--title", "Chairs", "--field", "amount=800",
         "--field", "category=office", "--role", "requester=wendy", "--role", "manager=mia",
         "--role", "finance=fin", "--role", "it=ivy", "--role", "procurement=pat",
         "--role", "cfo=cy"]
LOGIN_HINT = "run `opsflow login YOUR-KEY` (an admin gives the first token), or set OPSFLOW_TOKEN"


@pytest.fixture
def team(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace on the test database that requires tokens, with ann as its admin."""
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    monkeypatch.delenv("OPSFLOW_TOKEN", raising=False)
    monkeypatch.delenv("OPSFLOW_USER", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    root = tmp_path / "team"
    root.mkdir()
    extra = "" if store_url.startswith("postgresql") else 'identity = "token"\n'
    (root / "opsflow.toml").write_text(f"database = {json.dumps(store_url)}\n{extra}"
                                       'admins = ["ann"]\n', "utf-8")
    monkeypatch.chdir(root)
    assert load(root).identity == "token"  # PostgreSQL: by default
    return root


def opsflow(*args: str, token: str | None = None) -> Result:
    env = {"OPSFLOW_TOKEN": token} if token is not None else None
    return CliRunner().invoke(cli, list(args), env=env)


def test_acting_needs_the_token_of_the_person(team: Path, store_url: str) -> None:
    for key in ("ann", "wendy", "mia", "fin", "ivy", "pat", "cy"):
        assert opsflow("people", "add", key, "--name", key.title()).exit_code == 0
    refused = opsflow(*START, "--as", "wendy")
    assert (refused.exit_code, refused.output) == (
        1, f"error: this workspace needs a personal token to act; {LOGIN_HINT}\n")
    early = opsflow("login", "wendy")  # only an admin starts
    assert early.exit_code == 1
    assert early.output == ("error: only wendy (with their token) or an admin (ann) may get a "
                            "token for wendy\n")
    first = opsflow("login", "ann")
    assert first.exit_code == 0, first.output
    saved = next((team.parent / "config" / "opsflow" / "tokens").iterdir())
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    ann_token = saved.read_text("utf-8").strip()
    assert ann_token.startswith("opsflow_")
    stored = run_sql(store_url, "SELECT person, hash FROM tokens")[0]
    assert stored[0][0] == "ann" and ann_token not in str(stored)  # a hash only
    given = opsflow("login", "wendy")  # the admin makes wendy's: shown, not saved as ann's
    assert given.exit_code == 0 and saved.read_text("utf-8").strip() == ann_token
    wendy_token = given.output.split(": ", 1)[1].splitlines()[0]
    started = opsflow(*START, token=wendy_token)
    assert started.exit_code == 0, started.output
    with_as = opsflow("tick", "1", "1", "--as", "mia", token=wendy_token)
    assert (with_as.exit_code, with_as.output) == (
        1, "error: you act as wendy (your token) in this workspace; acting as mia with --as "
           "or OPSFLOW_USER is only for its admins: leave it out, or log in as that person\n")
    assert opsflow("tick", "1", "1", token=wendy_token).exit_code == 0
    inbox = opsflow("inbox", "--format", "json", token=wendy_token)  # whose: the token's
    assert json.loads(inbox.output)["person"]["key"] == "wendy", inbox.output
    # ann is an admin: she may act as wendy (here refused by the SOP: item 1 is ticked)
    as_wendy = opsflow("tick", "1", "1", "--as", "wendy")
    assert as_wendy.output.startswith("error: run 1: criterion 1"), as_wendy.output
    changed = opsflow("people", "add", "zed", "--name", "Zed", token=wendy_token)
    assert changed.output == ("error: changing the people directory is for this workspace's "
                              "admins (ann); you are wendy\n")
    history = opsflow("history", "1")
    assert [line.split()[4] for line in history.output.splitlines()] == [
        "wendy:", "wendy:", "wendy:"]  # started, ticked, refused: as the token's person
    assert opsflow("people", "revoke", "wendy").output == "revoked 1 token of wendy\n"
    revoked = opsflow("tick", "1", "1", token=wendy_token)
    assert revoked.output == f"error: your token was revoked; {LOGIN_HINT}\n"
    other_end = "B" if ann_token[-1] == "A" else "A"  # always a different token
    forged = opsflow("tick", "1", "1", token=ann_token[:-1] + other_end)
    assert forged.output == f"error: your token is not known to this database; {LOGIN_HINT}\n"
    junk = opsflow("tick", "1", "1", token="let-me-in")
    assert junk.output == ("error: that is not an opsflow token (they start with opsflow_); "
                           f"{LOGIN_HINT}\n")
    assert opsflow("logout").output == "logged out: the token is revoked\n"
    assert not saved.exists()
    assert opsflow("tick", "1", "1").output == (
        f"error: this workspace needs a personal token to act; {LOGIN_HINT}\n")


def test_an_admin_acts_for_others_and_a_saved_token_logs_in(team: Path) -> None:
    for key in ("ann", "wendy"):
        opsflow("people", "add", key, "--name", key.title())
    assert opsflow("login", "ann").exit_code == 0
    made = opsflow("login", "wendy").output.split(": ", 1)[1].splitlines()[0]
    other = opsflow("login", "ann", "--token", made)
    assert other.output == "error: that token is not ann's; ask for yours\n"
    assert opsflow("people", "deactivate", "wendy").exit_code == 0  # also revokes hers
    assert opsflow("login", "wendy", "--token", made).output == (
        f"error: your token was revoked; {LOGIN_HINT}\n")


def test_a_free_workspace_keeps_as(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert opsflow("init").exit_code == 0
    assert load(tmp_path).identity == "free"
    done = opsflow("start", str(tmp_path / "sops" / "purchase-request.sop"), "--title", "T",
                   "--role", "requester=ann", "--role", "finance=fin", "--role", "director=dee",
                   "--as", "ann")
    assert done.exit_code == 0, done.output
