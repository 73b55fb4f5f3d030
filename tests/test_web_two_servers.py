"""Issue 23 (10): no state in memory between requests.

Two real ``opsflow serve`` processes on one PostgreSQL, driven at once: a session
made on one is good on the other (one shared secret), no update is lost, and a
page read from one server right after a write through the other shows the write.
And ``opsflow serve`` on the embedded SQLite works with nothing but ``opsflow
init`` (and a person with a password).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from engine_support import CONTENT_PEOPLE, SOPS
from web_support import free_port

from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store
from opsflow.web.accounts import set_password

PASSWORD = "correct horse battery"
SECRET = "k" * 40
#: tick/untick pairs each of the two people does through their own server
ROUNDS = 15


@contextmanager
def opsflow_serve(args: list[str], cwd: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "opsflow", "serve", "--port", str(port),
                             *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/signin", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exit")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def sign_in(client: httpx.Client, who: str) -> None:
    form = client.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    done = client.post("/signin", data={"csrf": token.group(1), "person": who,
                                        "password": PASSWORD})
    assert done.status_code == 303, done.text


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSFLOW_")}
    env.update(OPSFLOW_SECRET_KEY=SECRET, HOME=str(tmp_path))
    return env


@pytest.fixture
def postgres_run() -> Iterator[str]:
    """A fresh PostgreSQL schema with one run (one machine's SQLite: the last test)."""
    from conftest import pg_schema

    with pg_schema() as url:
        Store.open(url, upgrade=True).close()
        yield _one_run(url)


def _one_run(store_url: str) -> str:
    with Engine.open(store_url) as engine:
        keys = dict.fromkeys(k for people in CONTENT_PEOPLE.values() for k in people)
        engine.store.add_people([person(k, k.title()) for k in keys])
        for key in ("wendy", "sam"):
            set_password(engine.store, key, PASSWORD)
        roles = {**CONTENT_PEOPLE, "seo": ["sam"], "writer": ["wendy", "sam"]}
        engine.start(SOPS / "content-publishing.sop", "Two servers", roles,
                     {"budget": "1"}, actor="ann")
    return store_url


def test_two_servers_on_one_postgresql_lose_nothing_and_show_no_stale_page(
        postgres_run: str, tmp_path: Path) -> None:
    env = environment(tmp_path)
    with opsflow_serve(["--db", postgres_run], tmp_path, env) as one, \
            opsflow_serve(["--db", postgres_run], tmp_path, env) as two:
        # a session made on one server is good on the other: nothing is kept in memory
        with httpx.Client(base_url=one) as a:
            sign_in(a, "wendy")
            cookie = a.cookies.get("opsflow_session")
        with httpx.Client(base_url=two, cookies={"opsflow_session": cookie or ""}) as b:
            assert "<h1>My work</h1>" in b.get("/").text

        failures: list[str] = []
        start = threading.Barrier(2)

        def worker(who: str, criterion: int, write: str, read: str) -> None:
            with httpx.Client(base_url=write) as writer, httpx.Client(base_url=read) as reader:
                sign_in(writer, who)
                reader.cookies.set("opsflow_session", writer.cookies["opsflow_session"])
                token = csrf(writer.get("/runs/1").text)
                start.wait()
                for n in range(2 * ROUNDS):
                    action = "tick" if n % 2 == 0 else "untick"
                    done = writer.post(f"/runs/1/{action}", data={
                        "csrf": token, "phase": "brief", "criterion": str(criterion)})
                    if done.status_code != 303:
                        failures.append(f"{who} {action}: {done.status_code}")
                        continue
                    # the other server shows the write at once
                    page = reader.get("/runs/1").text
                    label = "Untick" if action == "tick" else "Tick"
                    if f'aria-label="{label} {criterion}"' not in page:
                        failures.append(f"{who}: {read} showed a stale page after {action}")

        threads = [threading.Thread(target=worker, args=("wendy", 1, one, two)),
                   threading.Thread(target=worker, args=("sam", 2, two, one))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert failures == []
    with Engine.open(postgres_run) as engine:
        actions = [e.action for e in engine.history(1)]
        assert actions.count("tick") == actions.count("untick") == 2 * ROUNDS
        assert engine.store.get_run(1).state["ticked"].get("brief", []) == []
        assert engine.verify(1).ok


def test_serve_on_sqlite_needs_only_init(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSFLOW_")}
    env["HOME"] = str(tmp_path)
    folder = tmp_path / "team"

    def opsflow(*args: str, stdin: str | None = None) -> None:
        done = subprocess.run([sys.executable, "-m", "opsflow", *args], cwd=folder, env=env,
                              input=stdin, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    folder.mkdir()
    opsflow("init")
    opsflow("people", "add", "wendy", "--name", "Wendy")
    opsflow("people", "password", "wendy", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    with opsflow_serve([], folder, env) as base, httpx.Client(base_url=base) as client:
        sign_in(client, "wendy")
        listing = client.get("/procedures").text
        assert 'href="/procedures/purchase-request"' in listing  # the example init made
    assert (folder / ".opsflow" / "web-secret").stat().st_mode & 0o077 == 0
