"""Shared test fixtures: databases for the store and the engine.

* ``store_url``: a URL of an empty, upgraded opsflow database, parametrized
  over ``sqlite`` (a file in ``tmp_path``) and ``postgresql`` (the real server
  at 127.0.0.1:5432, database ``test``; each test gets its own fresh schema
  through ``search_path``, dropped afterwards, so pytest-xdist workers never
  collide). PostgreSQL tests are never skipped: if the server is down they
  fail (CI starts it). Override the server with ``OPSFLOW_TEST_PG_URL``.
* ``blank_url``: the same, but with no schema at all (for migration tests).
* ``store``: an open :class:`opsflow.store.Store` on ``store_url``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from store_support import PG_URL

from opsflow.store import Store

BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema; yields a URL whose search_path points at it."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


@contextmanager
def blank_database(backend: str, folder: Path) -> Iterator[str]:
    """A URL of an empty database of the given backend."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'opsflow.db'}"
    else:
        with pg_schema() as url:
            yield url


@pytest.fixture(params=BACKENDS)
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with blank_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with blank_database(request.param, tmp_path) as url:
        Store.open(url, upgrade=True).close()
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened
