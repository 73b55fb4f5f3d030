"""Property tests (hypothesis) for hostile input and damaged data (issue 8, item 5).

* database URLs built from hostile parts: ``Store.open`` succeeds or raises an
  OpsflowError with a one-line message, never another exception;
* field values: accepted numbers equal what was written and stay short, every
  refusal is a one-line FieldValueError;
* damaged rows, on SQLite and PostgreSQL: every read of the store succeeds or
  raises a one-line OpsflowError, and reading leaves the database unchanged.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from store_support import PG_URL, new_run

from opsflow.errors import OpsflowError
from opsflow.run.compiled import FieldSpec
from opsflow.run.fieldvalues import FieldValueError, parse_value
from opsflow.store import Store
from opsflow.store.schema import Base

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
HOSTILE_TEXT = st.lists(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(
        ["\x00", "\n", "\x1b", "%00", "%0a", "?", "&", "=", "@", ":", "/", "#", "%"]),
    max_size=12,
).map("".join)
PG_KEYS = st.sampled_from(["foo", "sslmode", "connect_timeout", "application_name",
                           "password", "target_session_attrs", "keepalives", "gssencmode"])


def assert_one_line(error: BaseException) -> None:
    assert isinstance(error, OpsflowError), repr(error)
    assert "\n" not in str(error) and str(error)


@SETTINGS
@given(name=HOSTILE_TEXT, query=st.lists(st.tuples(HOSTILE_TEXT, HOSTILE_TEXT), max_size=2))
def test_hostile_sqlite_urls(tmp_path: Path, name: str, query: list[tuple[str, str]]) -> None:
    folder = tmp_path / "dbs"
    folder.mkdir(exist_ok=True)
    url = f"sqlite:///{folder}/{name.replace('/', '_')}.db"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query)
    try:
        Store.open(url).close()
    except Exception as error:  # the property is about every exception
        assert_one_line(error)


@SETTINGS
@given(port=st.one_of(st.just("5432"), HOSTILE_TEXT), database=HOSTILE_TEXT,
       query=st.lists(st.tuples(PG_KEYS, HOSTILE_TEXT), max_size=2))
def test_hostile_postgresql_urls(port: str, database: str,
                                 query: list[tuple[str, str]]) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query)
    try:
        Store.open(url, upgrade=False).close()
    except Exception as error:
        assert_one_line(error)
        assert "s3cret" not in str(error)


NUMBERS = st.from_regex(r"\A[+-]?[0-9_]{0,35}(\.[0-9]{0,35})?([eE][+-]?[0-9]{1,22})?\Z")


@settings(max_examples=300, deadline=None)
@given(text=NUMBERS | HOSTILE_TEXT)
def test_field_numbers(text: str) -> None:
    try:
        canonical = parse_value("budget", FieldSpec("budget", "Budget", "number"), text)
    except Exception as error:
        assert isinstance(error, FieldValueError)
        assert_one_line(error)
        return
    assert len(canonical) <= 50
    assert abs(Decimal(canonical)) <= Decimal("1e15")
    assert Decimal(canonical) == Decimal(text.strip().replace("_", ""))


# ---- damaged rows ---------------------------------------------------------------------

COLUMNS = [(table.name, column.name) for table in Base.metadata.sorted_tables
           for column in table.columns if not column.primary_key]
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3), max_leaves=5)
SQLITE_VALUES = (st.text(max_size=30) | st.integers(-(2**63), 2**63 - 1) | st.floats()
                 | st.binary(max_size=10) | st.sampled_from(["{", "[1]", "2025-13-45", "null"]))


def dump(url: str) -> list[Any]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":  # rows as text: a damaged time may not parse
                return [sorted(r[0] for r in connection.exec_driver_sql(
                    f'SELECT "{table.name}"::text FROM "{table.name}"'))
                    for table in Base.metadata.sorted_tables]
            return [sorted(map(repr, connection.execute(sqlalchemy.select(table))))
                    for table in Base.metadata.sorted_tables]
    finally:
        engine.dispose()


def damage(url: str, table: str, column: str, value: Any, *, cast_json: bool) -> bool:
    """Write ``value`` into ``table.column`` of every row; False if the database refused."""
    engine = sqlalchemy.create_engine(url)
    target = f"CAST(:v AS {'jsonb' if cast_json else 'text'})" if cast_json else ":v"
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f'UPDATE "{table}" SET "{column}" = {target}'),
                               {"v": value})
        return True
    except sqlalchemy.exc.DBAPIError:
        return False
    finally:
        engine.dispose()


def read_everything(url: str, run_id: int, sop_hash: str) -> None:
    """Every read succeeds with well-typed records or raises a one-line OpsflowError."""
    with Store.open(url) as store:
        checks = (
            (lambda: [store.get_run(run_id)], "state"),
            (lambda: store.list_runs(), "state"),
            (lambda: store.events(run_id), "payload"),
            (lambda: [store.get_sop(sop_hash)], "compiled"),
            (lambda: store.verify_chain(run_id), None),
            (lambda: store.inbox("ann"), None),
        )
        for read, json_field in checks:
            try:
                records: list[Any] = list(read())
            except Exception as error:
                assert_one_line(error)
                continue
            if json_field is not None:
                assert all(isinstance(getattr(r, json_field), dict) for r in records)


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    path = tmp_path_factory.mktemp("damaged") / "template.db"
    with Store.open(f"sqlite:///{path}") as store:
        run = new_run(store)
    return path, run.id, run.sop_hash


@SETTINGS
@given(where=st.sampled_from(COLUMNS), value=SQLITE_VALUES)
def test_damaged_sqlite_rows(tmp_path: Path, sqlite_template: tuple[Path, int, str],
                             where: tuple[str, str], value: Any) -> None:
    template, run_id, sop_hash = sqlite_template
    path = tmp_path / "damaged.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    if not damage(url, *where, value, cast_json=False):
        return
    before = dump(url)
    read_everything(url, run_id, sop_hash)
    assert dump(url) == before


@SETTINGS
@given(where=st.sampled_from(COLUMNS), value=JSON_VALUES | st.text(max_size=30))
def test_damaged_postgresql_rows(store_url: str, where: tuple[str, str], value: Any) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("one PostgreSQL run is enough; SQLite has its own test")
    assert make_url(store_url).host == make_url(PG_URL).host
    with Store.open(store_url) as store:
        for table in reversed(Base.metadata.sorted_tables):
            with store._write() as connection:  # a clean slate for each example
                connection.execute(table.delete())
        run = new_run(store)
    json_column = where[1] in ("state", "payload", "compiled")
    stored = json.dumps(value) if json_column else value
    if not isinstance(stored, str) or not damage(store_url, *where, stored,
                                                 cast_json=json_column):
        return
    before = dump(store_url)
    read_everything(store_url, run.id, run.sop_hash)
    assert dump(store_url) == before
