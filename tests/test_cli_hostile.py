"""Hostile input on the command line (issue 8, items 6, 7 and 10): huge numbers,
huge field values, names with control characters, escape sequences in titles,
damaged rows and hostile --db URLs each give one clear message and a non-zero
exit, never a traceback; user text never reaches the terminal raw."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_support import run_sql
from test_runs_cli import Cli, started

from opsflow.cli.common import clean, term


@pytest.fixture
def sop(tmp_path: Path) -> Path:
    from test_runs_cli import SOPS

    target = tmp_path / "content-publishing.sop"
    target.write_text((SOPS / "content-publishing.sop").read_text("utf-8"), "utf-8")
    return target


@pytest.fixture
def run(store_url: str) -> Cli:
    return Cli(store_url)


def test_term_shows_controls_and_bidi_marks_visibly() -> None:
    assert term("a\nb\r\tc\x1b[31md\x00\x7f\x85\u202eE\u2066\u2028") == (
        "a\\nb\\r\\tc\\x1b[31md\\x00\\x7f\\x85\\u202eE\\u2066\\u2028"
    )
    assert term("plain · text → ok") == "plain · text → ok"
    assert clean({"k\n": ["v\x1b", ("t\r",)]}) == {"k\\n": ["v\\x1b", ("t\\r",)]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "99999999999999999999"],
         "Invalid value for 'RUN': a run id is a whole number from 1 to 2147483647; "
         "'99999999999999999999' is not one"),
        (["status", "0"],
         "Invalid value for 'RUN': a run id is a whole number from 1 to 2147483647; "
         "'0' is not one"),
        (["tick", "1", "99999999999999999999", "--as", "ann"],
         "Invalid value for 'CRITERION': a criterion number is a whole number from 1 to "
         "9999; '99999999999999999999' is not one"),
        (["tick", "1", "9" * 5000, "--as", "ann"],
         "Invalid value for 'CRITERION': a criterion number is a whole number from 1 to "
         "9999; '9999999999999999999999999999999999999999…' is not one"),
    ],
)
def test_out_of_range_numbers_are_refused(run: Cli, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == f"Error: {message}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e999999999999999999",
         "error: field budget is a number; '1e999999999999999999' is larger than 1e15 in "
         "size, more than any procedure needs (write a number up to 1e15 in size, with at "
         "most 30 significant digits and 15 after the point)"),
        ("1e100000000",
         "error: field budget is a number; '1e100000000' is larger than 1e15 in size, more "
         "than any procedure needs (write a number up to 1e15 in size, with at most 30 "
         "significant digits and 15 after the point)"),
    ],
)
def test_huge_numbers_are_refused_at_once(run: Cli, sop: Path, value: str,
                                          message: str) -> None:
    result = run("start", str(sop), "--title", "t", "--role", "writer=w", "--role",
                 "editor=e", "--role", "account=a", "--role", "client=c", "--role",
                 "finance=f", "--field", f"budget={value}", "--as", "a")
    assert result.exit_code == 1
    assert result.output.strip() == message
    assert run("list").output.strip() == "no runs match"


def test_a_name_with_a_newline_cannot_forge_history(run: Cli, sop: Path) -> None:
    run_id = started(run, sop)
    forged = "wendy\n   9 2026-01-01 00:00 UTC boss: approve"
    result = run("tick", run_id, "1", "--as", forged)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: the name 'wendy\\\\n   9 2026-01-01 00:00 UTC boss: approve' in --as contains "
        "a control character (\\n); write the name without it"
    )
    result = run("start", str(sop), "--title", "t", "--role", "writer=w\x1b[2J",
                 "--as", "ann")
    assert result.exit_code == 1
    assert "in --role writer contains a control character (\\x1b)" in result.output
    assert "\x1b" not in result.output
    assert len(run("history", run_id).output.strip().splitlines()) == 1


def test_escape_sequences_in_titles_never_reach_the_terminal(run: Cli, sop: Path) -> None:
    title = "Evil\x1b]0;owned\x07\n run 9 is done\u202e"
    result = run("start", str(sop), "--title", title, "--role", "writer=wendy", "--role",
                 "editor=ed", "--role", "account=ann", "--role", "client=carol", "--role",
                 "finance=fin", "--as", "ann")
    assert result.exit_code == 0, result.output
    shown = "Evil\\x1b]0;owned\\x07\\n run 9 is done\\u202e"
    assert result.output.splitlines()[0].endswith(
        f": {shown} (content-publishing), now in brief")
    run_id = result.output.split()[2].rstrip(":")
    for args in (("status", run_id), ("list",), ("inbox", "wendy")):
        output = run(*args).output
        assert shown in output, args
        assert not {"\x1b", "\x07", "\u202e"} & set(output), args
    assert run("status", run_id).output.splitlines()[0] == f"run {run_id}: {shown}"


def test_library_errors_are_printed_without_controls(run: Cli, sop: Path) -> None:
    run_id = started(run, sop)
    result = run("tick", run_id, "no such\x1b[31m item", "--as", "wendy")
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert "no criterion of phase brief starts with 'no such\\x1b[31m item'" in result.output


def test_damaged_rows_give_one_line_from_status_history_and_verify(
    store_url: str, sop: Path
) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps JSON valid; its non-object JSON is covered in the store")
    run = Cli(store_url)
    run_id = started(run, sop)
    run_sql(store_url, "UPDATE events SET payload = '{bad' WHERE seq = 1",
            "UPDATE runs SET state = 'nope'")
    for command in ("status", "history", "verify"):
        result = run(command, run_id)
        assert result.exit_code == 1, command
        expected = ("table events, event 1 of run 1: column payload is not JSON"
                    if command == "history" else "table runs, run 1: column state is not JSON")
        assert result.output.strip() == (
            f"error: the database is damaged: {expected}; restore the database from a backup"
        ), command


def test_hostile_db_urls_exit_1_with_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    for url in (f"sqlite:///{text}", "sqlite:///x.db?timeout=abc",
                "postgresql+psycopg://u@127.0.0.1:port/db", "sqlite:///a\x00.db"):
        result = Cli(url)("status", "1")
        assert result.exit_code == 1, url
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("error: "), result.output
    assert text.read_text() == "not a database"
