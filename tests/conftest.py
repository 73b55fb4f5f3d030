"""Shared test fixtures: databases for the store and the engine.

* ``store_url``: a URL of an empty, upgraded opsflow database, parametrized
  over ``sqlite`` (a file in ``tmp_path``) and ``postgresql`` (the real server
  at 127.0.0.1:5432, database ``test``). For speed the schema is migrated once
  per test process: SQLite tests get a copy of a migrated template file;
  PostgreSQL tests share one schema per process (reached through
  ``search_path``, so pytest-xdist workers never collide) whose tables are
  emptied (``TRUNCATE … RESTART IDENTITY``, so run ids start at 1) before
  each test. PostgreSQL tests are never skipped: if the server is down they
  fail (CI starts it). Override the server with ``OPSFLOW_TEST_PG_URL``.
* ``fresh_store_url``: like ``store_url`` but a database of its own, for
  tests that change the schema itself (migrations, schema revisions).
* ``blank_url``: a database of its own with no schema at all.
* ``store``: an open :class:`opsflow.store.Store` on ``store_url``.

Hypothesis runs under one of two profiles, chosen by ``OPSFLOW_HYPOTHESIS``:

* ``ci`` (the default, what ``./dev.sh test`` and CI run): derandomized and
  without an example database, so the same commit gives the same result on
  every machine and every run;
* ``explore``: random, with many more examples (``OPSFLOW_HYPOTHESIS_EXAMPLES``,
  default 5,000, for the property tests that read it), for development:
  ``OPSFLOW_HYPOTHESIS=explore ./dev.sh test tests/test_run_properties.py``. A
  counterexample it finds is printed whole; write it out as a named
  regression test before fixing it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy
from hypothesis import settings
from sqlalchemy.engine import make_url
from store_support import PG_URL, run_sql

from opsflow.store import Store
from opsflow.store.schema import Base

BACKENDS = ["sqlite", "postgresql"]

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile(
    "explore", derandomize=False, database=None, print_blob=True,
    max_examples=int(os.environ.get("OPSFLOW_HYPOTHESIS_EXAMPLES", "5000")))
_PROFILE = os.environ.get("OPSFLOW_HYPOTHESIS", "ci")
if _PROFILE not in ("ci", "explore"):
    raise pytest.UsageError(f"OPSFLOW_HYPOTHESIS={_PROFILE!r}: use ci (the default) or explore")
settings.load_profile(_PROFILE)


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
def fresh_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with blank_database(request.param, tmp_path) as url:
        Store.open(url, upgrade=True).close()
        yield url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "opsflow.db"
    Store.open(f"sqlite:///{path}", upgrade=True).close()  # closing checkpoints the WAL
    return path


@pytest.fixture(scope="session")
def _postgresql_schema() -> Iterator[str]:
    with pg_schema() as url:
        Store.open(url, upgrade=True).close()
        yield url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "opsflow.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_postgresql_schema")
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    run_sql(url, "SET LOCAL lock_timeout = '30s'", f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened
