"""Benchmark: the web app's "my work" page and approve POST against bare endpoints.

Issue 23, item 12. A database with ``--runs`` (100,000) content-publishing runs is
built by bulk SQL (one run made through the engine, then copied with one
``INSERT … SELECT`` over a recursive counter per table; the writer's place in each
copy goes to one of 1,000 people, so every person has ~100 items waiting), plus
runs waiting in internal review for the approve POSTs (one run per POST).

Two servers run as separate processes, both Starlette on uvicorn (one worker,
``--db`` the same database):

* **opsflow**: ``opsflow.web.app`` — ``GET /`` (my work, signed in with a session
  cookie) and ``POST /runs/N/vote`` (approve, with the form's CSRF token: the
  engine decides and writes the vote, the move and their events under the run's
  lock, then a 303).
* **bare**: one Starlette endpoint per side doing the same database work with the
  driver: the same inbox query rendered as a minimal HTML list, and the same row
  writes of an approve (lock/update the run row, insert the events) in one
  transaction.

A client process (httpx, asyncio) sends ``--requests`` requests at 1 and at 32
concurrent clients; rounds alternate bare/opsflow so noise hits both. Printed:
requests per second and p99 latency, medians over ``--rounds``, and the ratio
opsflow/bare; and the load average. Measures, asserts nothing.

Run: ``python bench/bench_web.py [--db sqlite|postgresql] [--runs 100000]
[--requests 300] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOP = ROOT / "sops" / "content-publishing.sop"
PEOPLE = {"writer": ["wendy"], "editor": ["ed"], "account": ["ann"], "client": ["cli"],
          "seo": ["sam"], "finance": ["fin"]}
PASSWORD = "correct horse battery"
SECRET = "b" * 40
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_web"
#: the person whose work is read (one of the 1,000 the copies spread the writer over)
READER = "p7"
INBOX_SQL = ("SELECT w.run_id, r.title, r.sop_id, w.kind, w.phase, w.title, w.due_at "
             "FROM work_items w JOIN runs r ON r.id = w.run_id WHERE w.person = {p} "
             "ORDER BY w.due_at IS NULL, w.due_at, w.run_id, w.id")


# ---- the database -------------------------------------------------------------------


def _copy(connection: Any, table: str, template: int, first: int, last: int,
          person_column: str | None = None) -> None:
    """Copy the rows of run ``template`` in ``table`` to runs ``first``..``last`` (the
    writer, wendy, becomes one of 1,000 people)."""
    from sqlalchemy import text

    from opsflow.store.schema import Base

    columns = [c.name for c in Base.metadata.tables[table].columns]
    key = "id" if table == "runs" else "run_id"
    chosen = []
    for name in columns:
        if name == key:
            chosen.append("n.i")
        elif name == "id":  # work_items' own id: let the database number them
            continue
        elif name == person_column:
            chosen.append(f"CASE WHEN t.{name} = 'wendy' THEN 'p' || (n.i % 1000) "
                          f"ELSE t.{name} END")
        else:
            chosen.append(f"t.{name}")
    names = ", ".join(c for c in columns if not (c == "id" and table != "runs"))
    connection.execute(text(
        f"WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n "
        f"WHERE i < {last}) INSERT INTO {table} ({names}) SELECT {', '.join(chosen)} "
        f"FROM n, {table} t WHERE t.{key} = {template}"))


def build(url: str, runs: int, approvals: int) -> dict[str, Any]:
    """The database: ``runs`` runs waiting on the writer, ``approvals`` waiting on ed's
    approval (ids after them); returns the id ranges."""
    from opsflow.run.directory import person
    from opsflow.run.engine import Engine
    from opsflow.store import Store
    from opsflow.web.accounts import set_password

    store = Store.open(url, upgrade=True)
    with Engine(store) as engine:
        keys = ["wendy", "ed", "ann", "cli", "sam", "fin", *(f"p{i}" for i in range(1000))]
        engine.store.add_people([person(k, k.title()) for k in keys])
        set_password(engine.store, "ed", PASSWORD)
        set_password(engine.store, READER, PASSWORD)
        first = engine.start(SOP, "A campaign", PEOPLE, {"budget": "100"}, actor="ann")
        review = engine.start(SOP, "Waiting for review", PEOPLE, {"budget": "100"},
                              actor="ann")
        for phase in ("brief", "draft"):
            engine.tick(review, 1, actor="wendy", phase=phase)
            engine.tick(review, 2, actor="wendy", phase=phase)
            engine.handoff(review, actor="wendy", phase=phase)
        sql = engine.store._engine  # the bench builds rows in bulk, past the store
        started = time.perf_counter()
        with sql.begin() as connection:
            for table, column in (("runs", None), ("events", None),
                                  ("assignments", "person"), ("work_items", "person")):
                _copy(connection, table, first, 3, runs + 2, column)
            for table, column in (("runs", None), ("events", None),
                                  ("assignments", None), ("work_items", None)):
                _copy(connection, table, review, runs + 3, runs + 2 + approvals, column)
        if url.startswith("postgresql"):
            with sql.begin() as connection:
                from sqlalchemy import text

                connection.execute(text("SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                                        "(SELECT max(id) FROM runs))"))
                connection.execute(text("ANALYZE"))
        seconds = time.perf_counter() - started
    return {"review": list(range(runs + 3, runs + 3 + approvals)), "seconds": seconds}


# ---- the servers ----------------------------------------------------------------------


def bare_app(url: str) -> Any:
    """The bare endpoints: the same database work, straight on the driver."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route

    sqlite = url.startswith("sqlite")
    if sqlite:
        import sqlite3

        path = url.split("///", 1)[1]

        def connect() -> Any:
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=10000")
            return connection
    else:
        import psycopg

        def connect() -> Any:
            return psycopg.connect(url.replace("postgresql+psycopg", "postgresql")
                                   .split("?")[0], options=f"-c search_path={SCHEMA}")
    import threading

    local = threading.local()

    def connection() -> Any:
        if not hasattr(local, "c"):
            local.c = connect()
        return local.c

    mark = "?" if sqlite else "%s"

    def work(request: Request) -> Response:
        rows = connection().execute(INBOX_SQL.format(p=mark), (READER,)).fetchall()
        items = "".join(f"<li><a href='/runs/{r[0]}'>Run {r[0]}: {html.escape(r[1])}</a> "
                        f"{html.escape(r[4])} · {html.escape(r[5])}</li>" for r in rows)
        return HTMLResponse(f"<!doctype html><title>My work</title><ul>{items}</ul>")

    async def approve(request: Request) -> Response:
        await request.form()
        run_id = int(request.path_params["run_id"])

        def write() -> None:
            c = connection()
            at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            payload = json.dumps({"decision": "approve", "comment": ""})
            if sqlite:
                c.execute("BEGIN IMMEDIATE")
                seq, state = c.execute("SELECT last_seq, state FROM runs WHERE id = ?",
                                       (run_id,)).fetchone()
                c.execute("UPDATE runs SET version = version + 1, last_seq = ?, state = ? "
                          "WHERE id = ?", (seq + 2, state, run_id))
                for n in (1, 2):
                    c.execute("INSERT INTO events (run_id, seq, at, actor, action, from_phase, "
                              "to_phase, payload, prev_hash, hash) VALUES (?, ?, ?, 'ed', "
                              "'vote', 'internal-review', NULL, ?, '', '')",
                              (run_id, seq + n, at, payload))
                c.execute("COMMIT")
                return
            with c.cursor() as cursor:
                cursor.execute("SELECT last_seq, state FROM runs WHERE id = %s FOR UPDATE",
                               (run_id,))
                seq, state = cursor.fetchone()
                cursor.execute("UPDATE runs SET version = version + 1, last_seq = %s, "
                               "state = %s WHERE id = %s", (seq + 2, json.dumps(state)
                                                            if not isinstance(state, str)
                                                            else state, run_id))
                for n in (1, 2):
                    cursor.execute("INSERT INTO events (run_id, seq, at, actor, action, "
                                   "from_phase, to_phase, payload, prev_hash, hash) VALUES "
                                   "(%s, %s, %s, 'ed', 'vote', 'internal-review', NULL, %s, "
                                   "'', '')", (run_id, seq + n, at, payload))
            c.commit()

        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(write)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    return Starlette(routes=[Route("/", work), Route("/runs/{run_id}/vote", approve,
                                                    methods=["POST"])])


def serve(kind: str, url: str, port: int) -> None:
    import uvicorn

    if kind == "opsflow":
        from opsflow.run.engine import Engine
        from opsflow.web.app import create_app

        app = create_app(Engine.open(url), SECRET)
    else:
        app = bare_app(url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)


# ---- the client -------------------------------------------------------------------------


async def load(base: str, requests: int, clients: int, cookie: str | None,
               token: str | None, runs: list[int] | None) -> tuple[float, float]:
    """``requests`` requests from ``clients`` concurrent clients: (per second, p99 ms)."""
    import httpx2 as httpx

    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)
    cookies = {"opsflow_session": cookie} if cookie else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits,
                                 timeout=60) as client:
        async def one() -> None:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                if runs is None:
                    answer = await client.get("/")
                    ok = answer.status_code == 200
                else:
                    answer = await client.post(f"/runs/{runs.pop()}/vote", data={
                        "csrf": token or "", "decision": "approve", "phase": "internal-review",
                        "comment": ""})
                    ok = answer.status_code == 303
                if not ok:
                    raise SystemExit(f"{base}: request {n} answered {answer.status_code}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return requests / elapsed, p99 * 1000


def sign_in(base: str, who: str) -> tuple[str, str]:
    import httpx2 as httpx

    with httpx.Client(base_url=base) as client:
        form = client.get("/signin").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        client.post("/signin", data={"csrf": token.group(1), "person": who,
                                     "password": PASSWORD})
        session = client.cookies["opsflow_session"]
        page = client.get("/").text
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None
        return session, found.group(1)


def wait_up(base: str) -> None:
    import httpx2 as httpx

    for _ in range(400):
        try:
            httpx.get(base + "/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit(f"{base} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "URL", "PORT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]))
        return
    from web_support import free_port  # type: ignore[import-not-found]

    levels = (1, 32)
    approvals = 2 * args.requests * args.rounds * len(levels) + 10
    with tempfile.TemporaryDirectory() as folder:
        if args.db == "sqlite":
            url = f"sqlite:///{Path(folder) / 'web.db'}"
        else:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test",
                                 autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
                admin.execute(f"CREATE SCHEMA {SCHEMA}")
            url = f"{PG}?options=-csearch_path%3D{SCHEMA}"
        built = build(url, args.runs, approvals)
        print(f"database: {args.db}, {args.runs:,} runs + {approvals:,} waiting for review, "
              f"copied in {built['seconds']:.1f} s")
        review = built["review"]
        ours, bare = review[: len(review) // 2], review[len(review) // 2:]
        env = dict(os.environ, OPSFLOW_SECRET_KEY=SECRET)
        servers, bases = [], {}
        for kind in ("opsflow", "bare"):
            port = free_port()
            servers.append(subprocess.Popen([sys.executable, __file__, "--serve", kind, url,
                                             str(port)], env=env))
            bases[kind] = f"http://127.0.0.1:{port}"
        try:
            for base in bases.values():
                wait_up(base)
            reader, _ = sign_in(bases["opsflow"], READER)
            editor, token = sign_in(bases["opsflow"], "ed")
            figures: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
            for side in ("my work", "approve"):
                for clients in levels:
                    for number in range(args.rounds):
                        order = ("bare", "opsflow") if number % 2 == 0 else ("opsflow", "bare")
                        for kind in order:
                            runs = None if side == "my work" else (ours if kind == "opsflow"
                                                                   else bare)
                            cookie = (reader if side == "my work" else editor) \
                                if kind == "opsflow" else None
                            figures.setdefault((side, kind, clients), []).append(asyncio.run(
                                load(bases[kind], args.requests, clients, cookie, token, runs)))
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'side':<8} {'clients':>7} {'opsflow/s':>10} {'bare/s':>8} {'ratio':>6} "
          f"{'opsflow p99':>12} {'bare p99':>9}")
    for side in ("my work", "approve"):
        for clients in levels:
            ours_ = figures[(side, "opsflow", clients)]
            theirs = figures[(side, "bare", clients)]
            rate = statistics.median(r for r, _ in ours_)
            base_rate = statistics.median(r for r, _ in theirs)
            p99 = statistics.median(p for _, p in ours_)
            base_p99 = statistics.median(p for _, p in theirs)
            print(f"{side:<8} {clients:>7} {rate:>10.0f} {base_rate:>8.0f} "
                  f"{rate / base_rate:>6.2f} {p99:>10.1f}ms {base_p99:>7.1f}ms")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    main()
