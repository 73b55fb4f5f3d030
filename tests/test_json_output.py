"""Issue 22, item 4: every reading command's JSON validates against its shipped schema.

Real output of `status`, `inbox`, `list`, `history`, `verify`, `people list` and
`db status` (SQLite and PostgreSQL), validated with jsonschema against the files in
opsflow/schemas/; the CSV of `inbox` and `list` reads back with the csv module and
keeps a hostile title from running as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from importlib import resources
from typing import Any

import pytest
from click.testing import CliRunner
from engine_support import CONTENT_PEOPLE, SOPS, T0
from jsonschema import Draft202012Validator

from opsflow import documents
from opsflow.cli import cli
from opsflow.errors import ArgumentError
from opsflow.run.clock import FixedClock
from opsflow.run.directory import person
from opsflow.run.engine import Engine
from opsflow.store import Store

HOSTILE = "=HYPERLINK(\"http://evil\")\x1b[2J"


def schema(kind: str) -> dict[str, Any]:
    name = f"{kind}-1.schema.json"
    loaded: dict[str, Any] = json.loads(
        resources.files("opsflow").joinpath("schemas", name).read_text("utf-8"))
    Draft202012Validator.check_schema(loaded)
    return loaded


def times(value: object) -> list[str]:
    """Every value under a key ending in ``_at`` (or ``now``/``at``) in a document."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if (key.endswith("_at") or key in ("now", "at")) and isinstance(item, str):
                found.append(item)
            else:
                found += times(item)
    elif isinstance(value, list):
        for item in value:
            found += times(item)
    return found


def output(url: str, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--db", url])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def run(store_url: str) -> int:
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        keys = dict.fromkeys(k for people in CONTENT_PEOPLE.values() for k in people)
        engine.store.add_people([person(key, key.title()) for key in keys])
        with pytest.raises(ArgumentError, match="'ann' is given twice"):
            engine.store.add_people([person("ann", "A"), person("ann", "B")])
        run_id = engine.start(SOPS / "content-publishing.sop", HOSTILE, CONTENT_PEOPLE,
                              {"budget": "100"}, actor="ann")
        engine.tick(run_id, 1, actor="wendy")
        engine.store.add_people([person("wendy", "Wendy Writer", active=False)],
                                update=True)
    return run_id


@pytest.mark.parametrize(("kind", "args"), [
    ("status", ["status", "{run}"]),
    ("inbox", ["inbox", "wendy"]),
    ("list", ["list"]),
    ("history", ["history", "{run}"]),
    ("verify", ["verify", "{run}"]),
    ("people", ["people", "list"]),
    ("db-status", ["db", "status"]),
])
def test_json_output_validates_against_its_schema(kind: str, args: list[str], run: int,
                                                  store_url: str) -> None:
    document = json.loads(output(store_url, *[a.format(run=run) for a in args],
                                 "--format", "json"))
    errors = sorted(Draft202012Validator(schema(kind)).iter_errors(document), key=str)
    assert [e.message for e in errors] == []
    assert document["schema"] == documents.SCHEMAS[kind]
    for text in times(document):
        assert dt.datetime.fromisoformat(text).utcoffset() is not None, text


def test_status_json_shows_keys_with_display_names(run: int, store_url: str) -> None:
    document = json.loads(output(store_url, "status", str(run), "--format", "json"))
    assert document["title"] == HOSTILE  # the title as given: JSON escapes it
    assert document["assignments"]["writer"] == [
        {"key": "wendy", "name": "Wendy Writer", "active": False}]
    [phase] = document["phases"]
    assert [c["done"] for c in phase["checklist"]] == [True, False]
    assert phase["owners"] == [{"key": "wendy", "name": "Wendy Writer", "active": False}]


def test_inbox_and_list_as_csv(run: int, store_url: str) -> None:
    listed = list(csv.reader(io.StringIO(output(store_url, "list", "--format", "csv"))))
    assert listed[0] == list(documents.LIST_COLUMNS)
    assert [row[0] for row in listed[1:]] == [str(run)]
    assert listed[1][1].startswith("'=HYPERLINK")  # shown, not run, by a spreadsheet
    assert "\x1b" not in listed[1][1]
    inbox = list(csv.reader(io.StringIO(output(store_url, "inbox", "wendy", "--format",
                                               "csv"))))
    assert inbox[0] == list(documents.INBOX_COLUMNS)
    assert [(row[0], row[3], row[4]) for row in inbox[1:]] == [(str(run), "owner", "brief")]


def test_every_document_kind_has_a_shipped_schema() -> None:
    for kind, schema_id in documents.SCHEMAS.items():
        loaded = schema(kind)
        assert loaded["properties"]["schema"] == {"const": schema_id}
