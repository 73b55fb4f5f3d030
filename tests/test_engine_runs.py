"""The engine over the real store, on SQLite and PostgreSQL.

Every test here runs twice (the ``store_url`` fixture): a SQLite file and a
fresh schema on the PostgreSQL server at 127.0.0.1:5432.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_support import CONTENT_PEOPLE, ONBOARDING_PEOPLE, SOPS, T0
from store_support import run_sql

from opsflow.run.clock import FixedClock
from opsflow.run.engine import Engine, RunSpec
from opsflow.run.errors import NotAllowed, RunError
from opsflow.run.status import render_status
from opsflow.store import Store, UnknownRunError


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def engine(store_url: str, clock: FixedClock) -> Iterator[Engine]:
    with Engine(Store.open(store_url), clock) as opened:
        yield opened


@pytest.fixture
def sop_file(tmp_path: Path) -> Path:
    """A copy of the content-publishing example that tests may edit or delete."""
    target = tmp_path / "sops" / "content-publishing.sop"
    target.parent.mkdir()
    shutil.copy(SOPS / "content-publishing.sop", target)
    return target


def start_content(engine: Engine, path: Path, budget: str = "20000") -> int:
    return engine.start(path, "ACME spring campaign", CONTENT_PEOPLE, {"budget": budget},
                        actor="ann")


def tick_all(engine: Engine, run_id: int, actor: str, phase: str | None = None) -> None:
    status = engine.status(run_id)
    current = next(p for p in status.phases if phase in (None, p.phase))
    for number, _text in current.open_items:
        engine.tick(run_id, number, actor=actor, phase=current.phase)


def actions(engine: Engine, run_id: int) -> list[tuple[str, str, str | None, str | None]]:
    return [(e.actor, e.action, e.from_phase, e.to_phase) for e in engine.history(run_id)]


def test_full_content_publishing_run(engine: Engine, sop_file: Path, clock: FixedClock) -> None:
    run_id = start_content(engine, sop_file)
    assert engine.store.get_run(run_id).phases == ["brief"]
    tick_all(engine, run_id, "wendy")
    result = engine.handoff(run_id, actor="wendy")
    assert result.run.phases == ["draft"] and result.run.version == 4
    clock.advance(hours=3)
    engine.tick(run_id, "first draft", actor="wendy")
    engine.tick(run_id, "every claim", actor="wendy")
    engine.handoff(run_id, actor="wendy")
    result = engine.vote(run_id, "approve", actor="ed", comment="Good")
    assert [c.action for c in result.changes] == ["vote", "approve"]
    assert result.run.phases == ["client-review"]
    engine.vote(run_id, "approve", actor="cli")
    engine.vote(run_id, "approve", actor="fin")
    engine.tick(run_id, 1, actor="ed")
    result = engine.handoff(run_id, actor="ed")
    assert result.run.status == "done" and result.run.phases == []
    assert actions(engine, run_id) == [
        ("ann", "start", None, "brief"),
        ("wendy", "tick", "brief", None), ("wendy", "tick", "brief", None),
        ("wendy", "handoff", "brief", "draft"),
        ("wendy", "tick", "draft", None), ("wendy", "tick", "draft", None),
        ("wendy", "handoff", "draft", "internal-review"),
        ("ed", "vote", "internal-review", None), ("ed", "approve", "internal-review",
                                                  "client-review"),
        ("cli", "vote", "client-review", None), ("cli", "approve", "client-review",
                                                 "finance-sign-off"),
        ("fin", "vote", "finance-sign-off", None), ("fin", "approve", "finance-sign-off",
                                                    "publish"),
        ("ed", "tick", "publish", None), ("ed", "handoff", "publish", None),
        ("ed", "milestone", "publish", None), ("ed", "finish", "publish", None),
    ]
    history = engine.history(run_id)
    assert history[4].at == T0 + dt.timedelta(hours=3)
    assert engine.verify(run_id).problems == []
    status = engine.status(run_id)
    assert (status.status, status.outcome, status.phases) == ("done", "publish", [])
    assert status.milestones[0].reached_at == T0 + dt.timedelta(hours=3)
    assert engine.inbox("ed") == []
    assert engine.list_runs(status="done")[0].id == run_id


def test_refusals_are_recorded_and_named(engine: Engine, sop_file: Path) -> None:
    run_id = start_content(engine, sop_file)
    with pytest.raises(NotAllowed) as info:
        engine.handoff(run_id, actor="ed")
    assert str(info.value) == (f"run {run_id}: ed may not hand off phase brief; only role "
                               "writer (wendy) may")
    with pytest.raises(RunError) as info:
        engine.handoff(run_id, actor="wendy")
    assert str(info.value) == (
        f"run {run_id}: phase brief has 2 open checklist items (1. Audience, goal and call to "
        "action are written down; 2. Target keywords are agreed with SEO); tick them first")
    with pytest.raises(RunError) as info:
        engine.tick(run_id, 9, actor="wendy")
    assert str(info.value).startswith(f"run {run_id}: phase brief has no criterion 9; ")
    refusals = [e for e in engine.history(run_id) if e.action == "refused"]
    assert [(e.actor, e.from_phase, e.payload["attempt"], e.payload["error"])
            for e in refusals] == [
        ("ed", "brief", {"kind": "handoff"}, "NotAllowed"),
        ("wendy", "brief", {"kind": "handoff"}, "RunError"),
        ("wendy", "brief", {"kind": "tick", "criterion": 9}, "RunError"),
    ]
    assert refusals[0].payload["reason"] == ("ed may not hand off phase brief; only role "
                                             "writer (wendy) may")
    assert engine.store.get_run(run_id).version == 1  # refusals change no state
    assert engine.verify(run_id).problems == []


def test_vote_refusals_separation_of_duties_on_every_path(engine: Engine, sop_file: Path
                                                          ) -> None:
    run_id = start_content(engine, sop_file)
    for phase in ("brief", "draft"):
        tick_all(engine, run_id, "wendy", phase)
        engine.handoff(run_id, actor="wendy")
    engine.vote(run_id, "approve", actor="ed")
    expected = (f"run {run_id}: wendy may not vote on phase client-review: wendy holds or has "
                "held role writer in this run, which may not approve it (separation of duties); "
                "eligible voters: cli")
    for decision in ("approve", "reject", "abstain"):
        with pytest.raises(NotAllowed) as info:
            engine.vote(run_id, decision, actor="wendy", comment="mine")
        assert str(info.value) == expected
    with pytest.raises(RunError) as info:
        engine.vote(run_id, "reject", actor="cli")
    assert str(info.value) == (f"run {run_id}: a rejection needs a reason; say why in a "
                               "comment")
    engine.vote(run_id, "reject", actor="cli", comment="Tone is off")
    assert engine.store.get_run(run_id).phases == ["revision"]


def test_unknown_run(engine: Engine) -> None:
    with pytest.raises(UnknownRunError) as info:
        engine.tick(42, 1, actor="x")
    assert str(info.value) == "no run 42; list runs with `opsflow list`"
    with pytest.raises(UnknownRunError):
        engine.status(42)


def test_missing_actor(engine: Engine, sop_file: Path) -> None:
    run_id = start_content(engine, sop_file)
    with pytest.raises(RunError) as info:
        engine.tick(run_id, 1, actor="  ")
    assert str(info.value) == "the person acting is empty; give a name"


def test_onboarding_parallel_tracks(engine: Engine) -> None:
    run_id = engine.start(SOPS / "employee-onboarding.sop", "Nina joins", ONBOARDING_PEOPLE,
                          {"work-location": "office", "start-date": "2025-02-03"}, actor="pat")
    tick_all(engine, run_id, "pat")
    result = engine.handoff(run_id, actor="pat")
    assert result.run.phases == ["it-setup", "hr-paperwork"]
    inbox = engine.inbox("ivan")
    assert [(i.item.phase, i.item.kind) for i in inbox] == [("it-setup", "owner")]
    tick_all(engine, run_id, "ivan", "it-setup")
    engine.handoff(run_id, actor="ivan")  # office: straight to join
    assert engine.store.get_run(run_id).phases == ["hr-paperwork"]
    tick_all(engine, run_id, "pat", "hr-paperwork")
    result = engine.handoff(run_id, actor="pat")
    assert [(c.action, c.to_phase) for c in result.changes] == [("handoff", "join"),
                                                                 ("join", "day-one")]
    assert result.run.phases == ["day-one"]
    assert engine.verify(run_id).problems == []


def test_sla_overdue_in_status_inbox_and_list(engine: Engine, sop_file: Path,
                                              clock: FixedClock) -> None:
    late = start_content(engine, sop_file)
    clock.advance(days=3)
    fresh = start_content(engine, sop_file)
    # brief is due 2 business days after Friday 09:00: Tuesday 09:00
    status = engine.status(late)
    assert status.phases[0].due_at == dt.datetime(2025, 1, 7, 9, 0, tzinfo=dt.UTC)
    assert not status.overdue
    clock.set(dt.datetime(2025, 1, 7, 9, 1))
    status = engine.status(late)
    assert status.overdue and status.phases[0].overdue
    assert "due 2025-01-07 09:00 UTC · OVERDUE" in render_status(status)
    assert not engine.status(fresh).overdue
    inbox = engine.inbox("wendy")
    assert [(i.item.run_id, i.overdue) for i in inbox] == [(late, True), (fresh, False)]
    assert [r.id for r in engine.list_runs(overdue=True)] == [late]
    assert [r.id for r in engine.list_runs(person="cli")] == [late, fresh]
    assert engine.list_runs(person="nobody") == []
    assert [r.id for r in engine.list_runs(sop_id="content-publishing", limit=1)] == [late]


def test_inbox_lists_votes_owed(engine: Engine, sop_file: Path) -> None:
    run_id = start_content(engine, sop_file)
    for phase in ("brief", "draft"):
        tick_all(engine, run_id, "wendy", phase)
        engine.handoff(run_id, actor="wendy")
    assert [(i.item.kind, i.item.title) for i in engine.inbox("ed")] == [
        ("owner", "Internal review: vote"), ("vote", "Internal review: vote")]
    engine.vote(run_id, "approve", actor="ed")
    assert [(i.item.kind, i.item.title) for i in engine.inbox("cli")] == [
        ("vote", "Client review: vote")]
    assert engine.inbox("wendy") == []  # she may not vote on client review


def test_sop_file_edited_or_deleted_after_start(engine: Engine, sop_file: Path) -> None:
    run_id = start_content(engine, sop_file)
    assert engine.status(run_id).sop_file == "same"
    sop_file.write_text(sop_file.read_text("utf-8").replace("phase draft", "phase drafting")
                        .replace("handoff to draft", "handoff to drafting"), "utf-8")
    status = engine.status(run_id)
    assert status.sop_file == "changed"
    assert (f"warning: the file {sop_file} has changed since this run started; the run keeps "
            "the version it started with (start a new run to use the new one)"
            ) in render_status(status)
    tick_all(engine, run_id, "wendy")
    assert engine.handoff(run_id, actor="wendy").run.phases == ["draft"]  # the pinned version
    sop_file.unlink()
    assert engine.status(run_id).sop_file == "missing"
    engine.tick(run_id, 1, actor="wendy")
    assert engine.verify(run_id).problems == []


def test_verify_detects_tampering(engine: Engine, sop_file: Path, store_url: str) -> None:
    run_id = start_content(engine, sop_file)
    engine.tick(run_id, 1, actor="wendy")
    engine.tick(run_id, 2, actor="wendy")
    run_sql(store_url, "UPDATE events SET actor = 'mallory' "
                       f"WHERE run_id = {run_id} AND seq = 2")
    report = engine.verify(run_id)
    assert not report.ok
    assert f"run {run_id}: event 2 was edited (its hash does not match its content)" in \
        report.problems


def test_verify_detects_a_state_that_the_events_do_not_give(engine: Engine, sop_file: Path,
                                                             store_url: str) -> None:
    run_id = start_content(engine, sop_file)
    engine.tick(run_id, 1, actor="wendy")
    run_sql(store_url, "UPDATE runs SET phases = 'publish' WHERE id = " + str(run_id))
    report = engine.verify(run_id)
    assert report.problems == ["the run row says active in publish but the events say active "
                               "in brief"]
    forged = dict(engine.store.get_run(run_id).state, fields={"budget": "1"})
    stale = engine.store.get_run(run_id)
    engine.store.update_run(run_id, expected_version=stale.version, status="active",
                            phases=["brief"], state=forged, due_at=None, assignments=[],
                            work=[], events=[], now=T0)
    assert engine.verify(run_id).problems == [
        "the stored state differs from the replay of its events in: fields",
        "the run's due time differs from the replay of its events",
        "the stored assignments differ from the replay of its events (inboxes and lists by "
        "person would be wrong)",
        "the stored work items differ from the replay of its events (inboxes would be wrong)"]


@pytest.mark.parametrize(("sql", "problem"), [
    ("UPDATE runs SET title = 'Something else' WHERE id = {run}",
     "the run's title differs from the one it was started with"),
    ("DELETE FROM work_items WHERE run_id = {run}",
     "the stored work items differ from the replay of its events (inboxes would be wrong)"),
    ("DELETE FROM assignments WHERE run_id = {run} AND person = 'wendy'",
     "the stored assignments differ from the replay of its events (inboxes and lists by "
     "person would be wrong)"),
    ("UPDATE sops SET source = replace(source, 'Content publishing', 'Other') "
     "WHERE hash = '{sop}'",
     "the pinned SOP source or its included files were changed after the run started (their "
     "hash is not the run's SOP hash)"),
    ("UPDATE runs SET sop_id = 'other' WHERE id = {run}",
     "the run's SOP id differs from the SOP it pinned (lists by SOP would be wrong)"),
    ("UPDATE sops SET path = 'elsewhere.sop' WHERE hash = '{sop}'",
     "the pinned SOP's path differ from its compiled form"),
])
def test_verify_covers_what_a_decision_rests_on(engine: Engine, sop_file: Path, store_url: str,
                                                sql: str, problem: str) -> None:
    """Issue 8: verify passed after changing a title, deleting work items or the SOP source."""
    run_id = start_content(engine, sop_file)
    assert engine.verify(run_id).problems == []
    run_sql(store_url, sql.format(run=run_id, sop=engine.store.get_run(run_id).sop_hash))
    fresh = Engine(Store.open(store_url), engine.clock)
    try:
        assert problem in fresh.verify(run_id).problems
    finally:
        fresh.close()


def test_verify_finds_a_rule_taken_out_of_the_stored_compiled_sop(
        engine: Engine, sop_file: Path, store_url: str) -> None:
    """Issue 8: dropping `not by writer` from the stored compiled SOP went unseen."""
    run_id = start_content(engine, sop_file)
    sop_hash = engine.store.get_run(run_id).sop_hash
    compiled = engine.sop(sop_hash).compiled
    compiled["phases"]["client-review"]["approval"]["not_by"] = []
    import json

    run_sql(store_url, "UPDATE sops SET compiled = '" + json.dumps(compiled).replace("'", "''")
            + f"' WHERE hash = '{sop_hash}'")
    fresh = Engine(Store.open(store_url), engine.clock)
    try:
        assert fresh.verify(run_id).problems == [
            "the stored compiled SOP differs from its source in: phases"]
    finally:
        fresh.close()


def test_start_many_in_one_transaction(engine: Engine, sop_file: Path) -> None:
    specs = [RunSpec(f"Piece {n}", {**CONTENT_PEOPLE, "writer": [f"w{n}"]}, {"budget": str(n)})
             for n in range(3)]
    ids = engine.start_many(sop_file, specs, actor="ann")
    assert len(ids) == 3 and ids == sorted(ids)
    assert [engine.store.get_run(i).title for i in ids] == ["Piece 0", "Piece 1", "Piece 2"]
    assert [i.item.run_id for i in engine.inbox("w1")] == [ids[1]]
    assert all(engine.verify(i).problems == [] for i in ids)
    with pytest.raises(RunError):
        engine.start_many(sop_file, [*specs, RunSpec("bad", {"ghost": ["x"]})], actor="ann")
    assert len(engine.list_runs()) == 3  # nothing of the failed batch was written


def test_an_engine_never_decides_on_its_own_stale_copy(store_url: str, sop_file: Path) -> None:
    with Engine(Store.open(store_url), FixedClock(T0)) as mine, \
            Engine(Store.open(store_url), FixedClock(T0)) as theirs:
        run_id = start_content(mine, sop_file)
        mine.tick(run_id, 1, actor="wendy")        # mine remembers the run as it wrote it
        theirs.tick(run_id, 2, actor="wendy")      # ... which is now stale
        result = mine.handoff(run_id, actor="wendy")  # refused on the copy: re-read, succeed
        assert result.run.phases == ["draft"]
        theirs.set_field(run_id, "budget", "1", actor="ann")
        result = mine.tick(run_id, 1, actor="wendy")  # conflicts on the copy: re-read, succeed
        assert result.run.state["fields"] == {"budget": "1"}
        assert [e.action for e in mine.history(run_id)].count("refused") == 0
        assert mine.verify(run_id).problems == []


def test_the_pinned_sop_keeps_its_version_as_written(store_url: str, sop_file: Path) -> None:
    sop_file.write_text(sop_file.read_text("utf-8").replace("  version 3\n", "  version 1.2\n"),
                        "utf-8")
    with Engine(Store.open(store_url)) as engine:
        run_id = start_content(engine, sop_file)
    with Engine(Store.open(store_url)) as fresh:  # read back from the database, not a cache
        sop = fresh.sop(fresh.store.get_run(run_id).sop_hash)
        assert (sop.version, sop.compiled["sop"]["version"]) == ("1.2", "1.2")


def test_refusals_are_collapsed_and_bounded(engine: Engine, sop_file: Path,
                                            store_url: str) -> None:
    """Issue 8: outsiders appended thousands of refused events to a finished run."""
    run_id = start_content(engine, sop_file)
    for _ in range(5):
        with pytest.raises(NotAllowed):
            engine.handoff(run_id, actor="mallory")
    refused = [e for e in engine.history(run_id) if e.action == "refused"]
    assert len(refused) == 1  # the same attempt again is not stored again
    engine.cancel(run_id, actor="ann", reason="stop")
    before = len(engine.history(run_id))
    for _ in range(3):
        with pytest.raises(RunError):
            engine.handoff(run_id, actor=f"outsider-{_}")
    assert len(engine.history(run_id)) == before  # nobody of this run: nothing stored
    with pytest.raises(RunError):
        engine.handoff(run_id, actor="wendy")  # somebody of the run: stored once
    assert len(engine.history(run_id)) == before + 1


def test_a_refusal_never_goes_back_in_time(engine: Engine, sop_file: Path,
                                           store_url: str) -> None:
    run_id = start_content(engine, sop_file)
    late = engine.history(run_id)[-1].at
    with Engine(Store.open(store_url), FixedClock(late - dt.timedelta(hours=1))) as behind:
        with pytest.raises(NotAllowed):
            behind.handoff(run_id, actor="ed")
    times = [e.at for e in engine.history(run_id)]
    assert times == sorted(times)


# ---- bounded, storable refusals (issue 20, items 4 and 5) --------------------------------


def _refusals(engine: Engine, run_id: int) -> list[Any]:
    return [e for e in engine.history(run_id) if e.action == "refused"]


def test_text_that_is_not_utf8_is_refused_and_recorded_with_escapes(
        engine: Engine, sop_file: Path) -> None:
    """A byte that is not UTF-8 (a lone surrogate from the terminal) raised
    UnicodeEncodeError while the refusal was being stored: no trace, a traceback."""
    with pytest.raises(RunError) as info:
        engine.start(sop_file, "ACME \udcff", CONTENT_PEOPLE, {"budget": "1"}, actor="ann")
    assert str(info.value) == ("argument title of start holds bytes that are not UTF-8 "
                               "(ACME \\xff); give it as UTF-8 text")
    run_id = start_content(engine, sop_file)
    for call in (lambda: engine.cancel(run_id, actor="ann", reason="bad \udcfe"),
                 lambda: engine.set_field(run_id, "budget", "\udcff", actor="ann"),
                 lambda: engine.fire(run_id, "\ud800", actor="ann"),
                 lambda: engine.reassign(run_id, "seo", ["s\udcffm"], actor="ann")):
        with pytest.raises(RunError):
            call()
    shown = [(e.payload["attempt"]["kind"], e.payload["reason"]) for e in _refusals(engine,
                                                                                     run_id)]
    assert shown == [
        ("cancel", "argument reason of cancel holds bytes that are not UTF-8 (bad \\xfe); "
                   "give it as UTF-8 text"),
        ("set", "argument value of set holds bytes that are not UTF-8 (\\xff); give it as "
                "UTF-8 text"),
        ("fire", "argument event of fire holds bytes that are not UTF-8 (\\ud800); give it as "
                 "UTF-8 text"),
        ("reassign", "argument people of reassign holds bytes that are not UTF-8 (s\\xffm); "
                     "give it as UTF-8 text"),
    ]
    assert _refusals(engine, run_id)[0].payload["attempt"]["reason"] == "bad \\xfe"
    assert engine.verify(run_id).problems == []


def test_a_refused_attempt_keeps_a_bounded_summary(engine: Engine, sop_file: Path) -> None:
    """A stranger's cancel with a 1,000,000-character reason was stored whole (1 MB)."""
    import hashlib
    import json

    run_id = start_content(engine, sop_file)
    reason = "x" * 1_000_000
    with pytest.raises(RunError):
        engine.cancel(run_id, actor="mallory", reason=reason)
    (event,) = _refusals(engine, run_id)
    assert len(json.dumps(event.payload)) < 2_000
    attempt = event.payload["attempt"]
    assert attempt["reason"] == "x" * 200 + "…"
    assert attempt["cut"] == {"reason": {"length": 1_000_000, "sha256": hashlib.sha256(
        reason.encode()).hexdigest()}}
    with pytest.raises(RunError) as info:
        engine.reassign(run_id, "seo", [f"p{i}" for i in range(200_000)], actor="ann")
    assert str(info.value) == ("run 1: the people of role seo are 200000 names; at most 1000 "
                               "are allowed; bind a team's members in smaller roles, or fewer "
                               "people")
    with pytest.raises(RunError):
        engine.start(sop_file, "Big", {**CONTENT_PEOPLE, "seo": [f"p{i}" for i in range(1001)]},
                     {"budget": "1"}, actor="ann")
    assert all(len(json.dumps(e.payload)) < 2_000 for e in _refusals(engine, run_id))


def test_alternating_refusals_are_kept_once_per_state(engine: Engine, sop_file: Path) -> None:
    """Two alternating refusals were never collapsed (1,000 attempts, 5.2 MB); varying the
    text defeated the collapse."""
    run_id = start_content(engine, sop_file)
    for n in range(50):
        with pytest.raises(RunError):
            engine.handoff(run_id, actor="mallory")
        with pytest.raises(RunError):
            engine.cancel(run_id, actor="mallory", reason=f"try {n}")
    assert [(e.actor, e.payload["attempt"]["kind"]) for e in _refusals(engine, run_id)] == [
        ("mallory", "handoff"), ("mallory", "cancel")]
    engine.tick(run_id, 1, actor="wendy")  # the run changed: a new attempt is news again
    with pytest.raises(RunError):
        engine.handoff(run_id, actor="mallory")
    assert len(_refusals(engine, run_id)) == 3
    assert engine.verify(run_id).problems == []


def test_verify_fails_closed_when_an_included_text_is_gone(
        engine: Engine, store_url: str, tmp_path: Path) -> None:
    """Issue 20, item 2: nulling one stored include text made verify skip the whole pin
    check; then `not by` could be dropped from the compiled form unseen."""
    import json

    from engine_support import ONBOARDING_PEOPLE

    run_id = engine.start(SOPS / "employee-onboarding.sop", "Nina", ONBOARDING_PEOPLE,
                          {"work-location": "office"}, actor="pat")
    sop_hash = engine.store.get_run(run_id).sop_hash
    compiled = engine.sop(sop_hash).compiled
    assert compiled["format"] >= 2 and compiled["sop"]["includes"]
    compiled["sop"]["includes"][0]["text"] = None
    included = compiled["sop"]["includes"][0]["path"]
    assert included.endswith("shared/company-roles.sop")
    run_sql(store_url, "UPDATE sops SET compiled = '" + json.dumps(compiled).replace("'", "''")
            + f"' WHERE hash = '{sop_hash}'")
    with Engine(Store.open(store_url), engine.clock) as fresh:
        assert fresh.verify(run_id).problems == [
            f"the pinned SOP lacks the text of included file {included}, so its compiled "
            "form cannot be checked against its source"]


def test_verify_reports_times_that_go_backwards(engine: Engine, sop_file: Path) -> None:
    """Issue 21, item 3: a chain whose times go backwards lies about the order. The engine
    never writes one (tests/test_engine_concurrency.py); a writer that does not lock the
    run could, and verify says so."""
    from opsflow.store import EventDraft

    run_id = start_content(engine, sop_file)
    run = engine.store.get_run(run_id)
    pairs, work = engine.store.projections(run_id)
    engine.store.update_run(
        run_id, expected_version=run.version, status=run.status, phases=run.phases,
        state=run.state, due_at=run.due_at, assignments=pairs, work=work, now=T0,
        events=[EventDraft("mallory", "refused", T0 - dt.timedelta(hours=1), "brief", None,
                           {"attempt": {"kind": "handoff"}, "reason": "x", "error": "E"})])
    assert engine.verify(run_id).problems == [
        "event 2 is dated before event 1: the log's times go backwards"]


