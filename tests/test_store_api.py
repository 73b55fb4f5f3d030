"""The Store API on SQLite and PostgreSQL: SOP versions, runs, events, lists, inbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy
from store_support import SOP_HASH, T0, bump, new_run, put_demo_sop, rewrite

from opsflow.errors import OpsflowError
from opsflow.store import (
    ConflictError,
    EventDraft,
    NewRun,
    Store,
    UnknownRunError,
    UnknownSopError,
    WorkItem,
)


def test_put_sop_is_idempotent_and_get_sop_returns_it(store: Store) -> None:
    record = put_demo_sop(store)
    put_demo_sop(store)
    assert store.get_sop(SOP_HASH) == record


def test_unknown_sop_is_a_clear_error(store: Store) -> None:
    with pytest.raises(UnknownSopError) as caught:
        store.get_sop("ab" * 32)
    assert str(caught.value) == (
        f"no SOP version abababababab is stored in the database at {store.url_display}; "
        "check that OPSFLOW_DATABASE_URL (or --db) points at the database the run was "
        "started in"
    )


def test_create_run_numbers_events_and_returns_utc_times(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    due = datetime(2025, 3, 4, 10, 30, tzinfo=paris)
    run = new_run(store, "Spring campaign", due_at=due)
    assert run.version == 1
    assert run.title == "Spring campaign"
    assert run.phases == ["a"]
    assert run.state == {"counter": 0, "phase": "a"}
    assert run.due_at == due and run.due_at.tzinfo == UTC
    assert run.started_at == T0 == run.updated_at
    assert store.get_run(run.id) == run
    [event] = store.events(run.id)
    assert (event.run_id, event.seq, event.prev_hash) == (run.id, 1, "")
    assert (event.actor, event.action, event.to_phase) == ("ann", "start", "a")
    assert event.payload == {"title": "Spring campaign"}
    assert event.at == T0 and event.at.tzinfo == UTC


def test_run_ids_are_distinct(store: Store) -> None:
    first, second = new_run(store, "one"), new_run(store, "two")
    assert first.id != second.id
    assert store.get_run(second.id).title == "two"


def test_create_run_with_an_unknown_sop_writes_nothing(store: Store) -> None:
    with pytest.raises(UnknownSopError):
        store.create_run(
            sop_hash="0" * 64,
            sop_id="demo",
            title="x",
            status="active",
            phases=["a"],
            state={},
            due_at=None,
            assignments=[],
            work=[],
            events=[EventDraft("ann", "start", T0)],
            now=T0,
        )
    assert store.list_runs() == []


def test_unknown_run_is_a_clear_error(store: Store) -> None:
    ghost = replace(new_run(store), id=12)
    for call in (
        lambda: store.get_run(12),
        lambda: store.events(12),
        lambda: store.verify_chain(12),
        lambda: store.append_event(12, EventDraft("ann", "refused", T0)),
        lambda: bump(store, ghost),
    ):
        with pytest.raises(UnknownRunError) as caught:
            call()
        assert str(caught.value) == "no run 12; list runs with `opsflow list`"
        assert isinstance(caught.value, OpsflowError)


def test_update_run_replaces_state_and_continues_the_chain(store: Store) -> None:
    run = new_run(store)
    later = T0 + timedelta(hours=2)
    updated = bump(store, run, at=later)
    assert updated.version == 2
    assert updated.state == {"counter": 1, "phase": "a"}
    assert updated.updated_at == later and updated.started_at == T0
    assert store.get_run(run.id) == updated
    events = store.events(run.id)
    assert [e.seq for e in events] == [1, 2]
    assert events[1].prev_hash == events[0].hash
    assert events[1].payload == {"n": 1}


def test_two_updates_from_the_same_version_exactly_one_wins(store: Store) -> None:
    run = new_run(store)
    bump(store, run, "ann")
    with pytest.raises(ConflictError) as caught:
        bump(store, run, "bob")
    assert str(caught.value) == (
        f"run {run.id} was changed by someone else while you were acting; run the command again"
    )
    assert store.get_run(run.id).state["counter"] == 1
    assert [e.actor for e in store.events(run.id)] == ["ann", "ann"]


def test_append_event_leaves_the_version_so_no_update_is_lost(store: Store) -> None:
    run = new_run(store)
    store.append_event(run.id, EventDraft("eve", "refused", T0, payload={"why": "not owner"}))
    assert store.get_run(run.id).version == run.version
    bump(store, run)
    assert [(e.seq, e.action) for e in store.events(run.id)] == [
        (1, "start"),
        (2, "refused"),
        (3, "bump"),
    ]
    assert store.verify_chain(run.id) == []


def test_a_failing_update_writes_nothing(store: Store) -> None:
    run = new_run(store)
    # the work item violates NOT NULL: it fails after the run row and the event were written
    bad_work = [WorkItem(None, "owner", "a", "t", None)]  # type: ignore[arg-type]
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        store.update_run(
            run.id,
            expected_version=1,
            status="done",
            phases=[],
            state={"counter": 99},
            due_at=None,
            assignments=[("owner", "zed")],
            work=bad_work,
            events=[EventDraft("ann", "finish", T0)],
            now=T0,
        )
    assert store.get_run(run.id) == run
    assert len(store.events(run.id)) == 1
    assert [item.run_id for item in store.inbox("ann")] == [run.id]


def test_naive_datetimes_are_refused(store: Store) -> None:
    run = new_run(store)
    with pytest.raises(ValueError, match="naive datetime"):
        store.append_event(run.id, EventDraft("ann", "x", datetime(2025, 1, 1)))


def test_list_runs_filters(store: Store) -> None:
    early = new_run(store, "early", people=("ann", "bob"), due_at=T0 + timedelta(hours=1))
    late = new_run(store, "late", people=("bob",), due_at=T0 + timedelta(days=3))
    undated = new_run(store, "undated", people=("cy",), sop_id="other")
    done = bump(store, late)
    store.update_run(
        late.id,
        expected_version=done.version,
        status="done",
        phases=[],
        state=done.state,
        due_at=None,
        assignments=[("owner", "bob")],
        work=[],
        events=[EventDraft("bob", "finish", T0)],
        now=T0,
    )

    def ids(**filters: object) -> list[int]:
        return [run.id for run in store.list_runs(**filters)]  # type: ignore[arg-type]

    assert ids() == [early.id, late.id, undated.id]
    assert ids(sop_id="demo") == [early.id, late.id]
    assert ids(status="active") == [early.id, undated.id]
    assert ids(person="bob") == [early.id, late.id]
    assert ids(person="bob", status="done") == [late.id]
    assert ids(overdue_at=T0 + timedelta(hours=2)) == [early.id]
    assert ids(overdue_at=T0) == []
    assert ids(limit=2) == [early.id, late.id]
    assert store.list_runs(status="done")[0].phases == []


def test_inbox_orders_by_due_time_then_run_and_follows_updates(store: Store) -> None:
    undated = new_run(store, "undated")
    later = new_run(store, "later", due_at=T0 + timedelta(days=2))
    sooner = new_run(store, "sooner", due_at=T0 + timedelta(hours=1))
    new_run(store, "someone else", people=("bob",), due_at=T0)
    inbox = store.inbox("ann")
    assert [(item.run_id, item.run_title) for item in inbox] == [
        (sooner.id, "sooner"),
        (later.id, "later"),
        (undated.id, "undated"),
    ]
    assert inbox[0].title == "sooner: phase a" and inbox[0].sop_id == "demo"
    assert inbox[0].due_at == T0 + timedelta(hours=1)
    bump(store, sooner, "bob")  # work moves to bob
    assert [item.run_id for item in store.inbox("ann")] == [later.id, undated.id]
    assert [item.title for item in store.inbox("bob")] == [
        "someone else: phase a",
        "sooner: step 1",
    ]
    assert len(store.inbox("ann", limit=1)) == 1
    assert store.inbox("nobody") == []


def test_assignments_are_rewritten_only_as_given(store: Store) -> None:
    run = new_run(store, people=("ann", "bob"))
    same = rewrite(store, run, [("owner", "bob"), ("owner", "ann"), ("owner", "ann")], [])
    assert [r.id for r in store.list_runs(person="ann")] == [run.id]
    assert store.inbox("ann") == []
    rewrite(store, same, [("reviewer", "cy")], [WorkItem("cy", "vote", "a", "Vote on a", None)])
    assert store.list_runs(person="ann") == [] and store.list_runs(person="bob") == []
    assert [r.id for r in store.list_runs(person="cy")] == [run.id]
    assert [(i.kind, i.title) for i in store.inbox("cy")] == [("vote", "Vote on a")]


def test_create_runs_loads_many_runs_in_one_transaction(store: Store) -> None:
    put_demo_sop(store)
    drafts = [
        NewRun(
            sop_hash=SOP_HASH,
            sop_id="demo",
            title=f"bulk {i}",
            status="active",
            phases=["a", "b"] if i % 2 else ["a"],
            state={"counter": 0, "i": i},
            due_at=T0 + timedelta(hours=i),
            assignments=[("owner", f"p{i % 3}")],
            work=[WorkItem(f"p{i % 3}", "owner", "a", f"bulk {i}", T0 + timedelta(hours=i))],
            events=[EventDraft("ann", "start", T0, None, "a"), EventDraft("ann", "note", T0)],
            now=T0,
        )
        for i in range(7)
    ]
    ids = store.create_runs(drafts)
    assert len(set(ids)) == 7
    assert [store.get_run(run_id).title for run_id in ids] == [f"bulk {i}" for i in range(7)]
    assert store.get_run(ids[1]).phases == ["a", "b"]
    assert [item.run_id for item in store.inbox("p1")] == [ids[1], ids[4]]
    assert [run.id for run in store.list_runs(person="p0")] == [ids[0], ids[3], ids[6]]
    for run_id in ids:
        assert [e.seq for e in store.events(run_id)] == [1, 2]
        assert store.verify_chain(run_id) == []
    bump(store, store.get_run(ids[0]))
    assert store.create_runs([]) == []


def test_create_runs_with_an_unknown_sop_writes_none_of_them(store: Store) -> None:
    good = new_run(store)
    draft = NewRun(SOP_HASH, "demo", "x", "active", ["a"], {}, None, [], [], [], T0)
    with pytest.raises(UnknownSopError):
        store.create_runs([draft, replace(draft, sop_hash="f" * 64)])
    assert [run.id for run in store.list_runs()] == [good.id]


def test_overdue_runs_are_found_through_the_due_time_index(tmp_path: Path) -> None:
    """Issue 9: `list --overdue` scanned the runs table although an index on due_at exists."""
    import sqlite3

    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    Store.open(url).close()
    captured: list[str] = []
    store = Store.open(url)
    try:
        event.listen(store._engine, "before_cursor_execute",
                     lambda conn, cur, statement, *a: captured.append(statement))
        store.list_runs(overdue_at=datetime(2030, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    [select_sql] = [s for s in captured if "FROM runs" in s]
    connection = sqlite3.connect(tmp_path / "plan.db")
    plan = " ".join(row[3] for row in connection.execute(
        "EXPLAIN QUERY PLAN " + select_sql, ["2030-01-01T00:00:00+00:00"]))
    connection.close()
    assert "ix_runs_due_at" in plan and "SCAN runs" not in plan.replace(
        "SCAN runs USING INDEX", "")
