"""Benchmark: the run engine on SQLite (issue 3, items 12, 13 and 14).

12. Persisted actions per second through the library (``Engine.tick`` /
    ``Engine.untick`` on one run: read the run, apply the action, write state,
    event and work items in one transaction) against raw ``sqlite3`` doing
    the same row writes — one ``UPDATE`` of the run with the very state JSON
    the engine wrote (encoded to JSON per action, as any program holding the
    state would), one ``INSERT`` of the event with its payload, one
    ``COMMIT`` — in the same journal and sync mode (WAL, ``synchronous=FULL``:
    a committed action survives the process being killed and a power loss).
    Rounds alternate raw/engine; medians and the ratio are printed
    (goal: >= 1/3). ``--sync NORMAL`` (no fsync per commit in WAL mode, set
    for both sides) shows the CPU cost alone.
13. With ``--runs`` runs (default 100,000) of content-publishing in the
    database: median in-process latency of ``Engine.inbox(person)`` (each
    writer owns ~100 runs) and ``Engine.status(run)`` (goal: < 20 ms each).
14. The cost of one action with ``--runs`` active runs of one SOP against a
    database with 10 runs: median latency of a cycle of actions that go
    through the shared ``transitions`` machine (reject vote -> back to draft,
    two ticks, handoff -> review), measured alternately on both databases
    (goal: <= 1.2x).

The runs are bulk-loaded with ``Engine.start_many`` (10,000 runs per
transaction: each run's start is applied by the run core, then the store
inserts runs, events, work items and assignments with executemany); the load
rate is printed (1,000-2,500 runs/s here, so 100,000 runs take one to two
minutes). Measures and reports only.

Run: ``python bench/bench_engine.py [--runs 100000] [--actions 200] [--rounds 5]
[--sync FULL|NORMAL]``
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
from functools import partial
from pathlib import Path
from typing import Any

from opsflow.run.engine import Engine, RunSpec
from opsflow.store import Store
from opsflow.store.database import SYNC_ENV_VAR

ROOT = Path(__file__).resolve().parent.parent
SOP = ROOT / "sops" / "content-publishing.sop"
PEOPLE = {"writer": ["wendy"], "editor": ["ed"], "account": ["ann"], "client": ["cli"],
          "seo": ["sam"], "finance": ["fin"]}


def open_engine(path: Path) -> Engine:
    return Engine(Store.open(f"sqlite:///{path}"))


def new_run(engine: Engine, title: str = "Benchmark run") -> int:
    return engine.start(SOP, title, PEOPLE, {"budget": "5000"}, actor="ann")


# ---- 12: actions per second ----------------------------------------------------------


def engine_round(engine: Engine, run_id: int, actions: int) -> float:
    began = time.perf_counter()
    for i in range(actions):
        if i % 2 == 0:
            engine.tick(run_id, 1, actor="wendy")
        else:
            engine.untick(run_id, 1, actor="wendy")
    return actions / (time.perf_counter() - began)


Write = tuple[dict[str, Any], str, dict[str, Any]]


def captured_writes(engine: Engine, run_id: int) -> list[Write]:
    """The state, action and payload the engine wrote for a tick and an untick."""
    writes = []
    for result in (engine.tick(run_id, 1, actor="wendy"), engine.untick(run_id, 1, actor="wendy")):
        change = result.changes[0]
        writes.append((result.run.state, change.action, change.payload))
    return writes


def raw_connection(path: Path, sync: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {sync}")
    connection.execute("PRAGMA foreign_keys = ON")  # as the store has it
    return connection


def raw_round(connection: sqlite3.Connection, run_id: int, actions: int,
              writes: list[Write]) -> float:
    version, seq = connection.execute("SELECT version, last_seq FROM runs WHERE id = ?",
                                      (run_id,)).fetchone()
    digest = "e" * 64
    began = time.perf_counter()
    for i in range(actions):
        state, action, payload = writes[i % 2]
        at = f"2025-01-06T09:{i % 60:02d}:00.000000+00:00"
        seq += 1
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "UPDATE runs SET status = 'active', phases = 'brief', state = ?, updated_at = ?, "
            "version = version + 1, last_seq = ?, last_hash = ? WHERE id = ? AND version = ?",
            (json.dumps(state), at, seq, digest, run_id, version))
        connection.execute(
            "INSERT INTO events (run_id, seq, at, actor, action, from_phase, to_phase, payload, "
            "prev_hash, hash) VALUES (?, ?, ?, 'wendy', ?, 'brief', NULL, ?, ?, ?)",
            (run_id, seq, at, action, json.dumps(payload), digest, digest))
        connection.execute("COMMIT")
        version += 1
    return actions / (time.perf_counter() - began)


def actions_per_second(folder: Path, actions: int, rounds: int, sync: str) -> dict[str, float]:
    engine = open_engine(folder / "engine.db")
    run_id = new_run(engine)
    writes = captured_writes(engine, run_id)
    raw_side = open_engine(folder / "raw.db")  # the same schema, made by the store
    raw_run = new_run(raw_side)
    raw_side.close()
    raw = raw_connection(folder / "raw.db", sync)
    engine_round(engine, run_id, 20)
    raw_round(raw, raw_run, 20, writes)
    rates: dict[str, list[float]] = {"raw": [], "engine": []}
    for _ in range(rounds):
        rates["raw"].append(raw_round(raw, raw_run, actions, writes))
        rates["engine"].append(engine_round(engine, run_id, actions))
    problems = engine.verify(run_id).problems
    engine.close()
    raw.close()
    assert not problems, problems
    return {name: statistics.median(values) for name, values in rates.items()}


# ---- 13 and 14: many runs ----------------------------------------------------------------


def bulk_load(engine: Engine, runs: int, writers: int) -> float:
    began = time.perf_counter()
    for first in range(0, runs, 10_000):
        specs = [RunSpec(f"Piece {i}", {**PEOPLE, "writer": [f"writer{i % writers}"]},
                         {"budget": str(i)}) for i in range(first, min(runs, first + 10_000))]
        engine.start_many(SOP, specs, actor="ann")
    return runs / (time.perf_counter() - began)


def to_review(engine: Engine, run_id: int) -> None:
    for _ in range(2):
        engine.tick(run_id, 1, actor="wendy")
        engine.tick(run_id, 2, actor="wendy")
        engine.handoff(run_id, actor="wendy")


def cycle(engine: Engine, run_id: int) -> None:
    """Four actions, two of them through the machine: review -> draft -> review."""
    engine.vote(run_id, "reject", actor="ed", comment="again")
    engine.tick(run_id, 1, actor="wendy")
    engine.tick(run_id, 2, actor="wendy")
    engine.handoff(run_id, actor="wendy")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call: Callable[[], Any]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def many_runs(folder: Path, runs: int, rounds: int, cycles: int) -> dict[str, float]:
    writers = max(1, runs // 100)
    big = open_engine(folder / "big.db")
    load_rate = bulk_load(big, runs, writers)
    small = open_engine(folder / "small.db")
    bulk_load(small, 10, 10)
    probes = {"big": (big, new_run(big)), "small": (small, new_run(small))}
    for engine, run_id in probes.values():
        to_review(engine, run_id)
        cycle(engine, run_id)  # warm
    per_action: dict[str, list[float]] = {"big": [], "small": []}
    for _ in range(rounds):
        for name, (engine, run_id) in probes.items():
            for _ in range(cycles):
                per_action[name].append(timed(partial(cycle, engine, run_id)) / 4)
    rng = random.Random(7)
    inbox = [timed(lambda: big.inbox(f"writer{rng.randrange(writers)}")) for _ in range(300)]
    status = [timed(lambda: big.status(rng.randint(1, runs))) for _ in range(300)]
    sample = big.inbox("writer1")
    for engine, run_id in probes.values():
        assert not engine.verify(run_id).problems
        engine.close()
    return {"load": load_rate, "inbox": median_ms(inbox), "inbox items": len(sample),
            "status": median_ms(status), "big": median_ms(per_action["big"]),
            "small": median_ms(per_action["small"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs for items 13 and 14")
    parser.add_argument("--actions", type=int, default=200, help="actions per round (item 12)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=10, help="action cycles per round (14)")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the database files")
    parser.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL")
    args = parser.parse_args()
    os.environ[SYNC_ENV_VAR] = args.sync  # the store's own knob (FULL is its default)
    goal = "goal >= 0.33" if args.sync == "FULL" else "CPU cost only, no fsync"
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        rates = actions_per_second(folder, args.actions, args.rounds, args.sync)
        print(f"SQLite WAL, synchronous={args.sync}; medians of {args.rounds} rounds; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"12. raw sqlite3 (UPDATE + INSERT + COMMIT): {rates['raw']:8.0f} actions/s")
        print(f"    opsflow Engine.tick/untick:             {rates['engine']:8.0f} actions/s   "
              f"ratio {rates['engine'] / rates['raw']:.2f} ({goal})")
        many = many_runs(folder, args.runs, args.rounds, args.cycles)
        print(f"With {args.runs} runs (bulk-loaded at {many['load']:.0f} runs/s):")
        print(f"13. inbox of one person ({many['inbox items']:.0f} items): median "
              f"{many['inbox']:.2f} ms (goal < 20 ms)")
        print(f"    status of one run:                 median {many['status']:.2f} ms "
              "(goal < 20 ms)")
        print(f"14. one action, {args.runs} runs: {many['big']:.2f} ms; 10 runs: "
              f"{many['small']:.2f} ms; ratio {many['big'] / many['small']:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    main()
