"""The per-run hash chain: computed as specified, and every kind of tampering is reported."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta

import pytest
from store_support import T0, bump, new_run, run_sql

from opsflow.store import EventDraft, RunRecord, Store
from opsflow.store.chain import canonical_json, event_hash


@pytest.fixture
def logged(store: Store) -> RunRecord:
    """A run with five events: start, bump, refused, bump, bump."""
    run = bump(store, new_run(store))
    store.append_event(run.id, EventDraft("eve", "refused", T0, payload={"why": "not owner"}))
    return bump(store, bump(store, run))


def test_hash_is_sha256_of_prev_hash_and_canonical_json() -> None:
    payload = {"é": [1, 2.5, None], "a": True}
    body = json.dumps(
        [7, 3, "2025-03-03T09:00:00.000000+00:00", "ann", "tick", "a", None, payload],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    expected = hashlib.sha256(("f" * 64 + body).encode("utf-8")).hexdigest()
    assert (
        event_hash(
            "f" * 64, 7, 3, T0.isoformat(timespec="microseconds"), "ann", "tick", "a", None, payload
        )
        == expected
    )
    assert canonical_json({"b": 1, "a": [1]}) == '{"a":[1],"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_stored_events_form_a_chain_that_verifies(store: Store, logged: RunRecord) -> None:
    events = store.events(logged.id)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == ""
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert after.hash == event_hash(
            before.hash,
            after.run_id,
            after.seq,
            after.at.isoformat(timespec="microseconds"),
            after.actor,
            after.action,
            after.from_phase,
            after.to_phase,
            after.payload,
        )
    assert store.verify_chain(logged.id) == []


def test_an_edited_payload_is_reported(store: Store, store_url: str, logged: RunRecord) -> None:
    run_sql(
        store_url,
        f"UPDATE events SET payload = '{{\"n\": 99}}' WHERE run_id = {logged.id} AND seq = 2",
    )
    assert store.verify_chain(logged.id) == [
        f"run {logged.id}: event 2 was edited (its hash does not match its content)"
    ]


def test_an_edited_actor_is_reported_and_an_unchanged_rewrite_is_not(
    store: Store, store_url: str, logged: RunRecord
) -> None:
    run_sql(
        store_url,
        f"UPDATE events SET actor = 'mallory' WHERE run_id = {logged.id} AND seq = 3",
        f"UPDATE events SET at = at WHERE run_id = {logged.id} AND seq = 4",
    )
    assert store.verify_chain(logged.id) == [
        f"run {logged.id}: event 3 was edited (its hash does not match its content)"
    ]


def test_a_deleted_event_is_reported(store: Store, store_url: str, logged: RunRecord) -> None:
    run_sql(store_url, f"DELETE FROM events WHERE run_id = {logged.id} AND seq IN (2, 3)")
    assert store.verify_chain(logged.id) == [
        f"run {logged.id}: events 2-3 are missing (deleted from the log)",
        f"run {logged.id}: event 4 does not follow the event before it "
        "(a row was deleted, replaced or reordered)",
    ]


def test_a_deleted_last_event_is_reported(store: Store, store_url: str, logged: RunRecord) -> None:
    run_sql(store_url, f"DELETE FROM events WHERE run_id = {logged.id} AND seq = 5")
    assert store.verify_chain(logged.id) == [
        f"run {logged.id}: the run records 5 events but the log ends at event 4 "
        "(events deleted or added outside opsflow)"
    ]


def test_two_swapped_events_are_reported(store: Store, store_url: str, logged: RunRecord) -> None:
    where = f"WHERE run_id = {logged.id} AND seq ="
    run_sql(
        store_url,
        f"UPDATE events SET seq = 100 {where} 2",
        f"UPDATE events SET seq = 2 {where} 3",
        f"UPDATE events SET seq = 3 {where} 100",
    )
    assert store.verify_chain(logged.id) == [
        f"run {logged.id}: event 2 holds the content of event 3 (rows reordered)",
        f"run {logged.id}: event 3 holds the content of event 2 (rows reordered)",
    ]


def test_a_forged_but_self_consistent_last_event_is_reported(
    store: Store, store_url: str, logged: RunRecord
) -> None:
    last = store.events(logged.id)[-1]
    forged = event_hash(
        last.prev_hash,
        last.run_id,
        last.seq,
        (last.at + timedelta(days=1)).isoformat(timespec="microseconds"),
        "mallory",
        last.action,
        last.from_phase,
        last.to_phase,
        last.payload,
    )
    run_sql(
        store_url,
        f"UPDATE events SET actor = 'mallory', hash = '{forged}', at = "
        f"'{(last.at + timedelta(days=1)).isoformat(timespec='microseconds')}' "
        f"WHERE run_id = {logged.id} AND seq = {last.seq}",
    )
    assert store.events(logged.id)[-1].actor == "mallory"
    assert store.verify_chain(logged.id) == [
        f"run {logged.id}: the last event's hash does not match the one the run recorded "
        "(the last event was replaced)"
    ]


def test_tampering_with_one_run_does_not_affect_another(
    store: Store, store_url: str, logged: RunRecord
) -> None:
    other = bump(store, new_run(store, "other"))
    run_sql(store_url, f"DELETE FROM events WHERE run_id = {logged.id} AND seq = 1")
    assert store.verify_chain(other.id) == []
    assert store.verify_chain(logged.id) != []
