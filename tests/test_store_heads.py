"""An update built on the head a store remembers never trusts it: whatever changed the
run row since (another store, raw SQL), the update conflicts or chains on the stored head."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy
from store_support import T0, bump, new_run, rewrite, run_sql

from opsflow.store import ConflictError, EventDraft, Store, WorkItem
from opsflow.store.heads import Head, Heads


def test_an_event_appended_by_another_store_is_chained_after(store: Store, store_url: str) -> None:
    first = bump(store, new_run(store))  # this store now remembers the run's head
    with Store.open(store_url) as other:
        other.append_event(first.id, EventDraft("eve", "refused", T0, payload={"why": "x"}))
    second = bump(store, first)  # same version: allowed, but the head moved
    assert second.version == first.version + 1
    events = store.events(first.id)
    assert [(e.seq, e.action) for e in events] == [
        (1, "start"),
        (2, "bump"),
        (3, "refused"),
        (4, "bump"),
    ]
    assert events[3].prev_hash == events[2].hash
    assert store.verify_chain(first.id) == []


def test_a_run_updated_by_another_store_conflicts(store: Store, store_url: str) -> None:
    first = bump(store, new_run(store))
    with Store.open(store_url) as other:
        bump(other, other.get_run(first.id), "bob")
    with pytest.raises(ConflictError):
        bump(store, first, "ann")
    assert [e.actor for e in store.events(first.id)] == ["ann", "ann", "bob"]
    assert store.get_run(first.id).state["counter"] == 2
    assert store.verify_chain(first.id) == []


def test_work_items_changed_outside_the_store_are_rewritten(store: Store, store_url: str) -> None:
    run = bump(store, new_run(store))
    # as if another program (or an old schema) had left the run's work items unknown
    run_sql(store_url, "DELETE FROM work_items", "UPDATE runs SET work_digest = ''")
    assert store.inbox("ann") == []
    work = [WorkItem("ann", "owner", "a", "Run: step 1", None)]  # what bump wrote
    later = T0 + timedelta(minutes=1)  # never before the run's last event (a bump at T0+1s)
    again = rewrite(store, run, [("owner", "ann")], work, [EventDraft("ann", "note", later)])
    assert [(item.run_id, item.title) for item in store.inbox("ann")] == [(again.id, "Run: step 1")]


def test_a_chain_head_changed_outside_the_store_is_not_overwritten(
    store: Store, store_url: str
) -> None:
    run = bump(store, new_run(store))
    forged = "f" * 64
    run_sql(store_url, f"UPDATE runs SET last_hash = '{forged}'")
    bump(store, run)
    events = store.events(run.id)
    assert events[-1].prev_hash == forged  # chained on what is stored, not on a memory
    assert store.verify_chain(run.id) != []  # so verify still sees the forged head


def test_the_store_keeps_writing_after_a_failed_transaction(store: Store) -> None:
    run = new_run(store)
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        store.update_run(
            run.id,
            expected_version=run.version,
            status="active",
            phases=["a"],
            state={"counter": 1},
            due_at=None,
            assignments=[],
            work=[WorkItem(None, "owner", "a", "t", None)],  # type: ignore[arg-type]
            events=[EventDraft("ann", "bump", T0)],
            now=T0,
        )
    assert bump(store, run).version == run.version + 1
    assert store.verify_chain(run.id) == []


def test_heads_forget_everything_when_full() -> None:
    heads = Heads(limit=2)
    head = Head(1, "h", "demo", "Run", T0, 1, 1, "x", "w", "a")
    for run_id in (1, 2):
        heads.put(head._replace(id=run_id))
    heads.put(head._replace(id=2, version=2))  # replacing one is not adding one
    assert (heads.get(1, 1), heads.get(2, 1)) == (head, None)
    heads.put(head._replace(id=3))
    assert (heads.get(1, 1), heads.get(3, 1)) == (None, head._replace(id=3))
