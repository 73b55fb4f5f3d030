"""Benchmark: persisted run updates per second through ``Store.update_run`` vs raw ``sqlite3``.

Both sides write to their own SQLite file in the same folder with the same
journal and sync mode (WAL, ``synchronous=FULL`` by default: a committed
action survives the process being killed and a power loss) and the same
schema (each file is created by ``Store.open``). One action is:

* opsflow: ``Store.update_run`` with one event (locks the run, checks the
  version, updates the state row, inserts the hash-chained event, commits);
  ``tick``: work items and assignments unchanged (the common case), ``move``:
  they change too (a phase change rewrites the run's work items).
* raw: ``sqlite3`` doing the same row writes by hand: one ``UPDATE`` of the
  run (state JSON, version, times, chain head), one ``INSERT`` of the event,
  one ``COMMIT``, with ``BEGIN IMMEDIATE`` like the store.

Rounds alternate raw/opsflow so disk and CPU noise hit both; the medians of
the rounds and the ratio opsflow/raw are printed. Goal (issue 3, item 12):
opsflow reaches at least 1/3 of the raw rate. Measures and reports; asserts
nothing. ``--sync NORMAL`` (no fsync per commit in WAL mode, set for both
sides, for the store through ``OPSFLOW_SQLITE_SYNCHRONOUS``) shows the
CPU cost alone.

``--read-runs 100000`` also bulk-loads that many runs (``Store.create_runs``,
10,000 per transaction) and prints median latencies of ``get_run`` (one run's
state, what ``opsflow status`` reads), ``inbox`` (one person, ~100 items) and
``list_runs(person=…, limit=50)`` (issue 3, item 13: goal < 20 ms on SQLite),
and the update rate among them against the one-run database (item 14).

Run: ``python bench/bench_store.py [--actions 300] [--rounds 5] [--sync FULL|NORMAL]
[--read-runs N]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsflow.store import EventDraft, NewRun, SopRecord, Store, WorkItem
from opsflow.store.database import SYNC_ENV_VAR

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PEOPLE = [("writer", "ann"), ("editor", "bob"), ("account", "cy"), ("client", "dee")]


def _state(counter: int) -> dict[str, Any]:
    """A state dict of realistic size (~1 KB of JSON) for a content-publishing run."""
    return {
        "status": "active",
        "tokens": [{"phase": "draft", "entered_at": "2025-03-03T09:00:00+00:00"}],
        "ticked": {"brief": [1, 2], "draft": list(range(1, counter % 3 + 1))},
        "votes": {"internal-review": {"bob": {"decision": "approve", "comment": "fine"}}},
        "fields": {"budget": 12000, "risk": "high", "channel": "blog"},
        "assignments": {role: [person] for role, person in PEOPLE},
        "milestones": {},
        "counter": counter,
        "notes": "x" * 400,
    }


def _new_store(path: Path) -> tuple[Store, int]:
    store = Store.open(f"sqlite:///{path}")
    sop = SopRecord("a" * 64, "content-publishing", "3", "sops/x.sop", "sop x", {"states": []})
    store.put_sop(sop, now=T0)
    run = store.create_run(
        sop_hash=sop.hash,
        sop_id=sop.sop_id,
        title="ACME spring campaign",
        status="active",
        phases=["draft"],
        state=_state(0),
        due_at=T0 + timedelta(days=3),
        assignments=PEOPLE,
        work=[WorkItem("ann", "owner", "draft", "Draft", T0 + timedelta(days=3))],
        events=[EventDraft("ann", "start", T0, None, "brief")],
        now=T0,
    )
    return store, run.id


def opsflow_round(store: Store, run_id: int, actions: int, *, move: bool) -> float:
    run = store.get_run(run_id)
    start = time.perf_counter()
    for i in range(actions):
        owner = PEOPLE[i % 2 if move else 0][1]
        at = T0 + timedelta(minutes=run.version)
        run = store.update_run(
            run_id,
            expected_version=run.version,
            status="active",
            phases=["draft"],
            state=_state(run.version),
            due_at=run.due_at,
            assignments=PEOPLE,
            work=[WorkItem(owner, "owner", "draft", "Draft", run.due_at)],
            events=[EventDraft("ann", "tick", at, "draft", "draft", {"criterion": i % 3 + 1})],
            now=at,
        )
    return actions / (time.perf_counter() - start)


def _raw_connection(path: Path, sync: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {sync}")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def raw_round(connection: sqlite3.Connection, run_id: int, actions: int) -> float:
    (version, seq) = connection.execute(
        "SELECT version, last_seq FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    digest = "e" * 64
    start = time.perf_counter()
    for i in range(actions):
        at = (T0 + timedelta(minutes=version)).isoformat(timespec="microseconds")
        seq += 1
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "UPDATE runs SET status = ?, phases = ?, state = ?, due_at = ?, updated_at = ?,"
            " version = version + 1, last_seq = ?, last_hash = ? WHERE id = ? AND version = ?",
            (
                "active",
                "draft",
                json.dumps(_state(version)),
                None,
                at,
                seq,
                digest,
                run_id,
                version,
            ),
        )
        connection.execute(
            "INSERT INTO events (run_id, seq, at, actor, action, from_phase, to_phase, payload,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                seq,
                at,
                "ann",
                "tick",
                "draft",
                "draft",
                json.dumps({"criterion": i % 3 + 1}),
                digest,
                digest,
            ),
        )
        connection.execute("COMMIT")
        version += 1
    return actions / (time.perf_counter() - start)


def load_runs(path: Path, runs: int) -> tuple[Store, list[str], float]:
    """A store with ``runs`` runs bulk-loaded (10,000 per transaction); returns load rate."""
    store, _ = _new_store(path)
    people = [f"person{i}" for i in range(max(1, runs // 100))]  # ~100 work items each
    start = time.perf_counter()
    for first in range(0, runs, 10_000):
        store.create_runs(
            [
                NewRun(
                    sop_hash="a" * 64,
                    sop_id="content-publishing",
                    title=f"Run {i}",
                    status="active",
                    phases=["draft"],
                    state=_state(i),
                    due_at=T0 + timedelta(hours=i % 500),
                    assignments=[*PEOPLE[:3], ("client", people[i % len(people)])],
                    work=[WorkItem(people[i % len(people)], "owner", "draft", f"Run {i}", None)],
                    events=[EventDraft("ann", "start", T0, None, "draft")],
                    now=T0,
                )
                for i in range(first, min(runs, first + 10_000))
            ]
        )
    return store, people, runs / (time.perf_counter() - start)


def read_latency(
    store: Store, people: list[str], runs: int, samples: int = 300
) -> dict[str, float]:
    """Median latencies (ms) of the reads ``status``, ``inbox`` and ``list`` make."""
    rng = random.Random(7)
    timings: dict[str, list[float]] = {"get_run": [], "inbox": [], "list_runs(person)": []}
    calls: dict[str, Callable[[], object]] = {
        "get_run": lambda: store.get_run(rng.randint(2, runs)),
        "inbox": lambda: store.inbox(rng.choice(people)),
        "list_runs(person)": lambda: store.list_runs(person=rng.choice(people), limit=50),
    }
    for _ in range(samples):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            timings[name].append((time.perf_counter() - began) * 1000)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=300, help="actions per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the database files")
    parser.add_argument(
        "--read-runs",
        type=int,
        default=0,
        metavar="N",
        help="also bulk-load N runs: time reads and updates among them (e.g. 100000)",
    )
    args = parser.parse_args()
    os.environ[SYNC_ENV_VAR] = args.sync  # the store's own knob (FULL is its default)

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        store, run_id = _new_store(Path(folder) / "opsflow.db")
        raw_store, raw_run = _new_store(Path(folder) / "raw.db")
        raw_store.close()
        raw = _raw_connection(Path(folder) / "raw.db", args.sync)
        big: Store | None = None
        people: list[str] = []
        load_rate = 0.0
        if args.read_runs:
            big, people, load_rate = load_runs(Path(folder) / "big.db", args.read_runs)
        rates: dict[str, list[float]] = {"raw": [], "tick": [], "move": [], "big": []}
        opsflow_round(store, run_id, 20, move=False)  # warm up caches and the pool
        raw_round(raw, raw_run, 20)
        for round_no in range(args.rounds):
            rates["raw"].append(raw_round(raw, raw_run, args.actions))
            rates["tick"].append(opsflow_round(store, run_id, args.actions, move=False))
            rates["move"].append(opsflow_round(store, run_id, args.actions, move=True))
            if big is not None:
                big_run = 2 + (round_no * 7919) % (args.read_runs - 1)
                rates["big"].append(opsflow_round(big, big_run, args.actions, move=True))
        problems = store.verify_chain(run_id)
        reads = read_latency(big, people, args.read_runs) if big is not None else {}
        for opened in (store, big):
            if opened is not None:
                opened.close()
        raw.close()

    median = {name: statistics.median(values) for name, values in rates.items() if values}
    print(
        f"SQLite WAL, synchronous={args.sync}; {args.rounds} rounds x {args.actions} actions; "
        "medians"
    )
    print(f"  raw sqlite3 (UPDATE + INSERT + COMMIT): {median['raw']:9.0f} actions/s")
    goal = " (goal >= 0.33)" if args.sync == "FULL" else " (CPU cost only, no fsync)"
    for name, label in (("tick", "work unchanged"), ("move", "work items rewritten")):
        print(
            f"  Store.update_run, {label:22}{median[name]:9.0f} actions/s   "
            f"ratio {median[name] / median['raw']:.2f}{goal}"
        )
    print(f"  chain verifies: {'yes' if not problems else problems}")
    if reads:
        print(f"With {args.read_runs} runs (bulk-loaded at {load_rate:.0f} runs/s):")
        print(
            f"  Store.update_run, work items rewritten {median['big']:6.0f} actions/s: "
            f"{median['move'] / median['big']:.2f}x the cost with one run (goal <= 1.2)"
        )
        for name, ms in reads.items():
            print(f"  {name:18} median {ms:6.2f} ms (goal < 20)")


if __name__ == "__main__":
    main()
