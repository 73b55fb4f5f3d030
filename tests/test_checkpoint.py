"""Signed checkpoints anchor the tail of every run's log (issue 20, item 6).

On main of 2026-12-07, deleting the newest events and moving the run's head
back passed `verify`. A checkpoint signed with a key kept outside the
database, in a file kept outside it, makes that (and a rewrite before the
checkpoint) a problem `verify` reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_support import CONTENT_PEOPLE, SOPS, T0
from store_support import run_sql

from opsflow.cli import cli
from opsflow.run import checkpoint
from opsflow.run.clock import FixedClock
from opsflow.run.engine import Engine
from opsflow.run.errors import RunError
from opsflow.store import Store

SOP = SOPS / "content-publishing.sop"


def _run_with_a_refusal(engine: Engine) -> int:
    run_id = engine.start(SOP, "A run", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")
    with pytest.raises(RunError):
        engine.handoff(run_id, actor="mallory")  # event 2: a refusal, no state change
    return run_id


def test_a_cut_tail_passes_the_chain_but_not_the_checkpoint(store_url: str,
                                                            tmp_path: Path) -> None:
    key = tmp_path / "signing.key"
    checkpoint.new_key(key)
    file = tmp_path / "opsflow.checkpoints"
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        run_id = _run_with_a_refusal(engine)
        assert checkpoint.append(file, checkpoint.signer(key), engine.store.heads(), T0) == 1
        first = engine.history(run_id)[0]
    # the attack: delete the newest event and move the head back to the one kept
    run_sql(store_url, f"DELETE FROM events WHERE run_id = {run_id} AND seq = 2")
    run_sql(store_url, f"UPDATE runs SET last_seq = 1, last_hash = '{first.hash}' "
                       f"WHERE id = {run_id}")
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        assert engine.verify(run_id).problems == []  # the chain alone cannot tell
        latest, found = checkpoint.read(file, checkpoint.verifier(Path(f"{key}.pub")))
        assert found == []
        assert engine.verify(run_id, latest).problems == [
            "the run had 2 events when it was checkpointed on 2025-01-03 09:00 UTC but has 1 "
            "now: events were deleted and the head moved back"]


def test_a_rewritten_event_is_not_the_one_checkpointed(store_url: str, tmp_path: Path) -> None:
    key = tmp_path / "k"
    checkpoint.new_key(key)
    file = tmp_path / "c"
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        run_id = _run_with_a_refusal(engine)
        checkpoint.append(file, checkpoint.signer(key), engine.store.heads(), T0)
    latest, _ = checkpoint.read(file, checkpoint.verifier(key))
    # as if the whole run had been rewritten after the checkpoint, chain recomputed
    forged = latest[run_id]._replace(hash="0" * 64)
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        assert engine.verify(run_id, {run_id: forged}).problems == [
            "event 2 is not the one checkpointed on 2025-01-03 09:00 UTC: the run's log was "
            "rewritten"]


def test_forged_and_damaged_lines_are_problems(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    checkpoint.new_key(ours)
    checkpoint.new_key(theirs)
    file = tmp_path / "c"
    checkpoint.append(file, checkpoint.signer(ours), [(1, 5, "a" * 64)], T0)
    checkpoint.append(file, checkpoint.signer(theirs), [(1, 9, "b" * 64)], T0)
    line = json.loads(file.read_text().splitlines()[0])
    line["seq"] = 7  # an edited line: the signature no longer holds
    with file.open("a") as handle:
        handle.write(json.dumps(line) + "\n{not json\n")
    latest, found = checkpoint.read(file, checkpoint.verifier(Path(f"{ours}.pub")))
    assert latest[1].seq == 5  # only our own, intact statement counts
    assert found == [
        f"checkpoint line 2 of {file} (run 1) is not signed by this key: it was forged or made "
        "with another key",
        f"checkpoint line 3 of {file} (run 1) is not signed by this key: it was forged or made "
        "with another key",
        f"checkpoint line 4 of {file} is damaged"]


def test_a_key_is_never_overwritten_and_bad_keys_are_clear(tmp_path: Path) -> None:
    key = tmp_path / "k"
    checkpoint.new_key(key)
    assert key.stat().st_mode & 0o777 == 0o600
    with pytest.raises(checkpoint.CheckpointError, match="a key is never overwritten"):
        checkpoint.new_key(key)
    junk = tmp_path / "junk"
    junk.write_text("not a key")
    with pytest.raises(checkpoint.CheckpointError, match="not an unencrypted Ed25519"):
        checkpoint.signer(junk)
    with pytest.raises(checkpoint.CheckpointError, match="cannot read the checkpoint key"):
        checkpoint.signer(tmp_path / "missing")


def test_the_cli_checkpoints_and_verifies_every_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'opsflow.db'}"
    with Engine(Store.open(url, upgrade=True), FixedClock(T0)) as engine:
        run_id = _run_with_a_refusal(engine)
        gone = engine.start(SOP, "Gone", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")
    key, file = tmp_path / "signing.key", tmp_path / "checkpoints"

    def opsflow(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, [*args, "--db", url])
        return result.exit_code, result.output

    assert opsflow("checkpoint", "--new-key", str(key))[0] == 0
    assert opsflow("checkpoint", "--key", str(key))[0] == 2  # no --file: a usage error
    assert opsflow("checkpoint", "--key", str(key), "--file", str(file)) == (
        0, f"signed 2 runs into {file}\n")
    code, out = opsflow("verify", "--all", "--checkpoints", str(file), "--key", f"{key}.pub")
    assert code == 0 and out.count("agrees with its checkpoint") == 2
    run_sql(url, f"DELETE FROM events WHERE run_id = {gone}")
    run_sql(url, f"DELETE FROM work_items WHERE run_id = {gone}")
    run_sql(url, f"DELETE FROM assignments WHERE run_id = {gone}")
    run_sql(url, f"DELETE FROM runs WHERE id = {gone}")
    code, out = opsflow("verify", "--all", "--checkpoints", str(file), "--key", f"{key}.pub")
    assert code == 1
    assert f"problem: run {gone} was checkpointed but is not in the database: it was deleted" \
        in out
    assert opsflow("verify", str(run_id), "--checkpoints", str(file))[0] == 2  # no key
    assert opsflow("verify")[0] == 2  # neither a run nor --all
