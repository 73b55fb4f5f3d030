"""Benchmark: several processes acting at once, vs a raw row-lock loop (issue 21, item 5).

N worker processes (1, 2, 4, 8, 16) act for ``--seconds`` each round, all
starting together. Each worker ticks and unticks its own item of one phase's
checklist (always a valid action): on **one shared run**, or each on **its own
run**. Sides:

* opsflow: ``Engine.tick`` / ``Engine.untick`` with the engine's default
  clock (the database's: on PostgreSQL the server clock, read in the locking
  statement), through the whole engine and store: the run is locked, read,
  decided, written and committed.
* raw: what a row lock costs, by hand with the driver (psycopg / sqlite3): lock
  the run row (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
  SQLite), ``UPDATE`` it (version, a state of the same size), ``INSERT`` one
  event, ``COMMIT``; on tables of the same shape in the same database.

Rounds alternate raw/opsflow so noise hits both; each figure is the median of
the rounds (actions/s: all workers together; p99: per-action latency over all
workers of a round). ``errors`` counts exceptions a worker got from a valid
action (there must be none). The load average is printed before and after.
Goals: at 8 processes on one shared run >= 0.5x raw on both databases and p99
< 50 ms on PostgreSQL; one process >= 0.6x raw on PostgreSQL, >= 0.5x on SQLite.
Measures and reports; asserts nothing.

Run: ``python bench/bench_concurrency.py --db sqlite|postgresql [--seconds 1.5]
[--rounds 3] [--workers 1,2,4,8,16]`` (one database per run, under 3 minutes each;
PostgreSQL: ``--pg-url``, default the test server on 127.0.0.1:5432, in a schema
``bench_concurrency`` that is dropped and created again).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_concurrency"
MAX_WORKERS = 16
SOP = "\n".join([
    'sop bench "Concurrency bench"',
    "  owner lead",
    'role lead "Lead"',
    'role crew "Crew"',
    'phase work "Work"',
    "  owner crew",
    "  done when",
    *[f"    - Item {n} is done" for n in range(1, MAX_WORKERS + 1)],
    "  handoff to finished",
    'phase finished "Finished"',
    "  owner lead",
    "  end",
    "",
])
PEOPLE = {"lead": ["lee"], "crew": [f"p{n}" for n in range(MAX_WORKERS)]}
RAW_TABLES = [
    "CREATE TABLE raw_runs (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
    "last_seq INTEGER NOT NULL, state TEXT NOT NULL)",
    "CREATE TABLE raw_events (run_id INTEGER NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, "
    "actor TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (run_id, seq))",
]


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


# ---- the workers ----------------------------------------------------------------------

def _raw_connection(url: str) -> tuple[Any, bool]:
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(_sqlite_path(url), isolation_level=None, timeout=30)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        return connection, True
    import psycopg

    connection = psycopg.connect(url.replace("postgresql+psycopg", "postgresql")
                                 .split("?")[0], options=f"-c search_path={SCHEMA}")
    return connection, False


def _raw_action(connection: Any, sqlite: bool, run_id: int, actor: str, state: str) -> None:
    payload = json.dumps({"criterion": 1, "actor": actor})
    at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    if sqlite:
        connection.execute("BEGIN IMMEDIATE")
        seq = connection.execute("SELECT last_seq FROM raw_runs WHERE id = ?",
                                 (run_id,)).fetchone()[0] + 1
        connection.execute("UPDATE raw_runs SET version = version + 1, last_seq = ?, state = ? "
                           "WHERE id = ?", (seq, state, run_id))
        connection.execute("INSERT INTO raw_events VALUES (?, ?, ?, ?, ?)",
                           (run_id, seq, at, actor, payload))
        connection.execute("COMMIT")
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_seq FROM raw_runs WHERE id = %s FOR UPDATE", (run_id,))
        seq = cursor.fetchone()[0] + 1
        cursor.execute("UPDATE raw_runs SET version = version + 1, last_seq = %s, state = %s "
                       "WHERE id = %s", (seq, state, run_id))
        cursor.execute("INSERT INTO raw_events VALUES (%s, %s, %s, %s, %s)",
                       (run_id, seq, at, actor, payload))
    connection.commit()


def worker(url: str, number: int, tasks: Any, results: Any) -> None:
    """Run rounds as ``tasks`` says: (side, run_id, start_at, seconds) or ``None`` to stop."""
    from opsflow.run.engine import Engine
    from opsflow.store import Store

    engine = Engine(Store.open(url))
    raw, sqlite = _raw_connection(url)
    actor = f"p{number}"
    item = number + 1
    state = json.dumps({"ticked": list(range(MAX_WORKERS)), "pad": "x" * 900})
    results.put(("ready", number))
    while (task := tasks.get()) is not None:
        side, run_id, start_at, seconds = task
        latencies: list[float] = []
        errors: dict[str, int] = {}
        ticked = item in engine.store.get_run(run_id).state.get("ticked", {}).get("work", []) \
            if side == "opsflow" else False
        time.sleep(max(0.0, start_at - time.time()))
        stop = start_at + seconds
        while (began := time.perf_counter()) and time.time() < stop:
            try:
                if side == "raw":
                    _raw_action(raw, sqlite, run_id, actor, state)
                elif ticked:
                    engine.untick(run_id, item, actor=actor)
                else:
                    engine.tick(run_id, item, actor=actor)
                ticked = not ticked
            except Exception as error:
                name = f"{type(error).__name__}: {str(error)[:60]}"
                errors[name] = errors.get(name, 0) + 1
                if side == "raw":
                    if sqlite:
                        raw.execute("ROLLBACK") if raw.in_transaction else None
                    else:
                        raw.rollback()
            latencies.append(time.perf_counter() - began)
        results.put((number, latencies, errors))
    engine.close()
    raw.close()


# ---- the driver -----------------------------------------------------------------------

def _prepare(url: str, folder: Path) -> tuple[str, list[int], list[int]]:
    """A fresh database; the runs (opsflow's and raw ones): one shared + one per worker."""
    from opsflow.run.engine import Engine
    from opsflow.store import Store

    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                             autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            admin.execute(f"CREATE SCHEMA {SCHEMA}")
        url = f"{url}?options=-csearch_path%3D{SCHEMA}"
    sop = folder / "bench.sop"
    sop.write_text(SOP, "utf-8")
    with Engine(Store.open(url, upgrade=True)) as engine:
        runs = [engine.start(sop, f"Run {n}", PEOPLE, actor="lee")
                for n in range(MAX_WORKERS + 1)]
    raw, sqlite = _raw_connection(url)
    state = json.dumps({"pad": "x" * 900})
    rows = [(n, 1, 0, state) for n in range(1, MAX_WORKERS + 2)]
    if sqlite:
        for statement in RAW_TABLES:
            raw.execute(statement)
        raw.executemany("INSERT INTO raw_runs VALUES (?, ?, ?, ?)", rows)
    else:
        with raw.cursor() as cursor:
            for statement in RAW_TABLES:
                cursor.execute(statement)
            cursor.executemany("INSERT INTO raw_runs VALUES (%s, %s, %s, %s)", rows)
        raw.commit()
    raw.close()
    return url, runs, list(range(1, MAX_WORKERS + 2))


def _round(queues: list[Any], results: Any, side: str, runs: list[int], count: int,
           shared: bool, seconds: float) -> tuple[float, float, dict[str, int]]:
    start_at = time.time() + 0.3
    for number in range(count):
        queues[number].put((side, runs[0] if shared else runs[1 + number], start_at, seconds))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    for _ in range(count):
        _number, mine, theirs = results.get()
        latencies += mine
        for name, n in theirs.items():
            errors[name] = errors.get(name, 0) + n
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return len(latencies) / seconds, p99 * 1000, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side and figure")
    parser.add_argument("--workers", default="1,2,4,8,16")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    if max(counts) > MAX_WORKERS:
        parser.error(f"at most {MAX_WORKERS} workers")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    began = time.time()
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        url = args.pg_url if args.db == "postgresql" else f"sqlite:///{Path(folder) / 'b.db'}"
        url, runs, raw_runs = _prepare(url, Path(folder))
        queues = [spawn.Queue() for _ in range(max(counts))]
        results = spawn.Queue()
        workers = [spawn.Process(target=worker, args=(url, n, queues[n], results))
                   for n in range(max(counts))]
        for process in workers:
            process.start()
        for _ in workers:
            results.get()  # each has opened its engine and raw connection
        rows = []
        try:
            for count in counts:
                for shared in (True, False):
                    figures: dict[str, list[tuple[float, float]]] = {"raw": [], "opsflow": []}
                    errors: dict[str, int] = {}
                    for _ in range(args.rounds):
                        for side, ids in (("raw", raw_runs), ("opsflow", runs)):
                            rate, p99, seen = _round(queues, results, side, ids, count, shared,
                                                     args.seconds)
                            figures[side].append((rate, p99))
                            for name, n in seen.items():
                                key = name if side == "opsflow" else f"raw {name}"
                                errors[key] = errors.get(key, 0) + n
                    rows.append((count, shared, figures, errors))
                    _print_row(args.db, count, shared, figures, errors)
        finally:
            for queue in queues:
                queue.put(None)
            for process in workers:
                process.join(30)
        from opsflow.run.engine import Engine
        from opsflow.store import Store

        with Engine(Store.open(url)) as engine:
            problems = [p for run_id in runs for p in engine.verify(run_id).problems]
    print(f"verify after the rounds: {'clean' if not problems else problems[:3]}")
    print(f"load average after: {os.getloadavg()[0]:.2f}; {time.time() - began:.0f} s")


def _print_row(db: str, count: int, shared: bool, figures: dict[str, list[tuple[float, float]]],
               errors: dict[str, int]) -> None:
    raw_rate = statistics.median(r for r, _ in figures["raw"]) or float("nan")
    rate = statistics.median(r for r, _ in figures["opsflow"])
    raw_p99 = statistics.median(p for _, p in figures["raw"])
    p99 = statistics.median(p for _, p in figures["opsflow"])
    where = "one shared run" if shared else "a run each    "
    print(f"{db:10} {count:2} processes, {where}: opsflow {rate:6.0f}/s  raw {raw_rate:6.0f}/s  "
          f"ratio {rate / raw_rate:4.2f}  p99 {p99:6.1f} / {raw_p99:6.1f} ms  "
          f"errors {sum(errors.values())}{' ' + str(errors) if errors else ''}", flush=True)


if __name__ == "__main__":
    main()
