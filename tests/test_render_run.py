"""A run's playbook from the database: the adapter and `opsflow render playbook --run`.

Runs on SQLite and PostgreSQL (the ``store_url`` fixture). The playbook shows
the SOP version the run pinned, the ticks and votes of each phase's latest
visit, the current phase and what is overdue.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from click.testing import CliRunner

from opsflow.cli import cli
from opsflow.render import render_playbook
from opsflow.render.from_run import load_run_view
from opsflow.run.clock import FixedClock
from opsflow.run.engine import Engine
from opsflow.store import Store

SOPS = Path(__file__).resolve().parent.parent / "sops"
PEOPLE = {"writer": ["wendy"], "editor": ["ed"], "account": ["ann"], "client": ["cli"],
          "seo": ["sam"], "finance": ["fin"]}


def _run(url: str, sop: Path) -> int:
    engine = Engine(Store.open(url), FixedClock(dt.datetime(2025, 1, 3, 9, 0, tzinfo=dt.UTC)))
    with engine:
        run = engine.start(sop, "ACME spring campaign", PEOPLE, {"budget": "500"}, actor="ann")
        engine.tick(run, 1, actor="wendy")
        engine.tick(run, 2, actor="wendy")
        engine.handoff(run, actor="wendy")
        engine.tick(run, 1, actor="wendy")
    return run


def test_view_holds_latest_visit_ticks_votes_and_current(store_url: str, tmp_path: Path) -> None:
    sop = tmp_path / "content-publishing.sop"
    shutil.copy(SOPS / "content-publishing.sop", sop)
    run = _run(store_url, sop)
    model, view = load_run_view(run, db_url=store_url)
    assert model.id == "content-publishing"
    assert view.current == ("draft",)
    assert view.phases["brief"].ticked == frozenset({1, 2})
    assert view.phases["brief"].left_at is not None
    assert view.phases["draft"].ticked == frozenset({1})
    assert view.phases["draft"].left_at is None
    assert view.people["client"] == ("cli",)
    assert view.fields == {"budget": "500"}
    # the run is days past its due time by now (the view is taken with the real clock)
    assert view.phases["draft"].overdue
    text = render_playbook(model, view)
    assert "- [x] Audience, goal and call to action are written down" in text
    assert "- [x] First draft is in the shared folder" in text
    assert "- [ ] Every claim links to a source" in text


def test_playbook_uses_the_pinned_sop_even_after_the_file_changes(
    store_url: str, tmp_path: Path
) -> None:
    sop = tmp_path / "content-publishing.sop"
    shutil.copy(SOPS / "content-publishing.sop", sop)
    run = _run(store_url, sop)
    sop.write_text(sop.read_text().replace('"Brief"', '"Renamed brief"'))
    result = CliRunner().invoke(cli, ["render", "playbook", "--run", str(run), "--db", store_url])
    assert result.exit_code == 0, result.output
    assert "### 1. Brief" in result.output
    assert "Renamed brief" not in result.output
    sop.unlink()
    result = CliRunner().invoke(cli, ["render", "playbook", "--run", str(run), "--db", store_url])
    assert result.exit_code == 0, result.output


def test_unknown_run_and_missing_arguments(store_url: str) -> None:
    result = CliRunner().invoke(cli, ["render", "playbook", "--run", "999", "--db", store_url])
    assert result.exit_code == 1
    assert "no run 999" in result.output
    result = CliRunner().invoke(cli, ["render", "playbook"])
    assert result.exit_code == 2
    assert "name an SOP file, or a run with --run RUN" in result.output
    result = CliRunner().invoke(cli, ["render", "playbook", "--run", "abc", "--db", store_url])
    assert result.exit_code == 1
    assert "`abc` is not a run number" in result.output
