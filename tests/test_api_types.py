"""The public library API answers wrong types with one clear error (issue 20, item 5).

Each call below raised AttributeError, TypeError or OverflowError from inside
opsflow, or was accepted wrongly (a dict of people bound its keys; a text run
id was looked up as text; ``check_paths("sops")`` checked ``s``, ``o``, ``p``,
``s``). Now each is an :class:`opsflow.OpsflowError` (and a ``TypeError`` where
the type is wrong) whose message names the argument, and nothing is stored
coerced. Over-long file names are a diagnostic, not ``OSError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_support import CONTENT_PEOPLE, SOPS

import opsflow
from opsflow.errors import ArgumentError, OpsflowError, SopError
from opsflow.run.engine import Engine
from opsflow.store import RunIdError, Store, UnknownRunError

SOP = SOPS / "content-publishing.sop"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[Engine, int]]:
    with Engine(Store.open(f"sqlite:///{tmp_path / 'opsflow.db'}", upgrade=True)) as opened:
        yield opened, opened.start(SOP, "A run", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")


CALLS: list[tuple[str, Callable[[Engine, int], Any], type[Exception], str]] = [
    ("title None", lambda e, r: e.start(SOP, None, CONTENT_PEOPLE, {}, actor="ann"),
     OpsflowError, "argument title of start must be str, not NoneType"),
    ("assignments list", lambda e, r: e.start(SOP, "t", [1, 2], {}, actor="ann"),
     OpsflowError, "argument assignments of start must be dict, not list"),
    ("field value Decimal", lambda e, r: e.start(SOP, "t", CONTENT_PEOPLE,
                                                 {"budget": Decimal(1)}, actor="ann"),
     OpsflowError, "the value of field budget must be text, not Decimal"),
    ("set NaN", lambda e, r: e.set_field(r, "budget", Decimal("NaN"), actor="ann"),
     OpsflowError, "argument value of set must be str, not Decimal"),
    ("people dict", lambda e, r: e.reassign(r, "seo", {"a": 1}, actor="ann"),
     OpsflowError, "argument people of reassign must be list or tuple, not dict"),
    ("run id text", lambda e, r: e.tick("1", 1, actor="wendy"),
     RunIdError, "a run id is a whole number, not str"),
    ("run id huge", lambda e, r: e.status(2**70), UnknownRunError, f"no run {2**70}"),
    ("verify huge", lambda e, r: e.verify(2**70), UnknownRunError, f"no run {2**70}"),
]


@pytest.mark.parametrize(("name", "call", "error", "message"), CALLS, ids=[c[0] for c in CALLS])
def test_wrong_types_get_one_clear_error(engine: tuple[Engine, int], name: str,
                                         call: Callable[[Engine, int], Any],
                                         error: type[Exception], message: str) -> None:
    e, run_id = engine
    before = e.store.get_run(run_id).state
    with pytest.raises(error) as info:
        call(e, run_id)
    assert message in str(info.value)
    assert e.store.get_run(run_id).state == before
    for event in e.history(run_id):  # a refusal stores what was given, never coerced
        json.dumps(event.payload)
    assert e.verify(run_id).problems == []


def test_a_refused_value_of_the_wrong_type_is_stored_as_it_was(engine: tuple[Engine, int]
                                                               ) -> None:
    e, run_id = engine
    with pytest.raises(OpsflowError):
        e.set_field(run_id, "budget", Decimal("NaN"), actor="ann")
    (refused,) = [ev for ev in e.history(run_id) if ev.action == "refused"]
    assert refused.payload["attempt"] == {"kind": "set", "field": "budget",
                                          "value": "Decimal('NaN')"}


def test_the_language_api_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError) as info:
        opsflow.loads(None)  # type: ignore[arg-type]
    assert str(info.value) == "text must be a str, not NoneType"
    assert isinstance(info.value, TypeError)
    with pytest.raises(ArgumentError):
        opsflow.load(12)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError):
        opsflow.check_paths(12)  # type: ignore[arg-type]
    # one path is one path, not its letters
    assert opsflow.check_paths(str(SOPS)).files == opsflow.check_paths([SOPS]).files


def test_a_name_too_long_is_a_diagnostic(tmp_path: Path) -> None:
    long = tmp_path / ("a" * 300 + ".sop")
    with pytest.raises(SopError) as info:
        opsflow.load(long)
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E100" and "File name too long" in diagnostic.message
    assert "at most 255 bytes" in diagnostic.hint
    report = opsflow.check_paths([str(long)])
    assert [d.code for d in report.diagnostics] == ["E100"]
    with pytest.raises(SopError) as info:
        opsflow.loads(f'include "{"b" * 300}.sop"\nrole r "R"\n', str(tmp_path / "x.sop"))
    assert [d.code for d in info.value.diagnostics] == ["E102"]
