"""Issue 22, item 2: the people directory, on SQLite and PostgreSQL.

While it is empty any name binds (see the other run tests); once it has people,
`start` and `reassign` bind roles only to its active people, in the library and
the CLI alike, and a typo is refused with the closest key. CSV import writes
nothing when a row is bad (unless --skip-bad), and export reads back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from engine_support import SOPS, T0

from opsflow.cli import cli
from opsflow.run.clock import FixedClock
from opsflow.run.directory import DirectoryError, parse_csv, person, to_csv
from opsflow.run.engine import Engine
from opsflow.store import PersonExistsError, Store

SOP = SOPS / "purchase-request.sop"
FIELDS = {"amount": "800", "category": "office"}
ROLES = {"requester": ["ann"], "manager": ["mia"], "finance": ["fin"], "it": ["ivy"],
         "procurement": ["pat"], "cfo": ["cy"]}


def opsflow(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--db", url])


def directory(store: Store) -> None:
    store.add_people([person(key, key.capitalize()) for keys in ROLES.values()
                      for key in keys])


def test_roles_bind_only_to_active_people_of_a_directory(store_url: str) -> None:
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        directory(engine.store)
        with pytest.raises(DirectoryError) as typo:
            engine.start(SOP, "Chairs", {**ROLES, "finance": ["finn"]}, FIELDS, actor="ann")
        assert str(typo.value) == (
            "no person 'finn' in the people directory (did you mean 'fin'?); bind the role "
            "to someone in the directory (`opsflow people list`), or add them with "
            "`opsflow people add`")
        assert engine.list_runs() == []  # nothing was written
        engine.store.add_people([person("cy", "Cy", active=False)], update=True)
        with pytest.raises(DirectoryError, match="'cy' \\(Cy\\) is deactivated in the people "
                                                 "directory; bind the role to an active"):
            engine.start(SOP, "Chairs", ROLES, FIELDS, actor="ann")
        run_id = engine.start(SOP, "Chairs", {**ROLES, "cfo": ["IVY"]}, FIELDS, actor="ann")
        with pytest.raises(DirectoryError, match="no person 'patt'"):
            engine.reassign(run_id, "procurement", ["patt"], actor="ann")
        from opsflow.run.core import Action

        with pytest.raises(DirectoryError, match="no person 'patt'"):  # the generic entry too
            engine.act(run_id, Action("reassign", {"role": "procurement", "people": ["patt"]}),
                       "fin")
        assert engine.reassign(run_id, "procurement", ["mia"], actor="fin").changes
        assert engine.verify(run_id).problems == []


def test_the_cli_refuses_a_typo_with_the_suggestion(store_url: str) -> None:
    with Store.open(store_url) as store:
        directory(store)
    roles = [f"--role={role}={','.join(people)}" for role, people in ROLES.items()]
    done = opsflow(store_url, "start", str(SOP), "--title", "Chairs", *roles[:-1],
                   "--role", "cfo=cyy", "--as", "ann")
    assert done.exit_code == 1
    assert done.output == ("error: no person 'cyy' in the people directory (did you mean "
                           "'cy'?); bind the role to someone in the directory (`opsflow "
                           "people list`), or add them with `opsflow people add`\n")


def test_people_commands_add_edit_deactivate_list(store_url: str) -> None:
    assert opsflow(store_url, "people", "list").output.startswith(
        "the people directory is empty: roles may be bound to any name")
    added = opsflow(store_url, "people", "add", "Wendy", "--name", "Wendy  Writer",
                    "--email", "wendy@example.com", "--team", "content,ops")
    assert (added.exit_code, added.output) == (0, "added wendy (Wendy Writer)\n")
    again = opsflow(store_url, "people", "add", "wendy", "--name", "W")
    assert (again.exit_code, again.output) == (
        1, "error: 'wendy' is in the people directory already; change them with `opsflow "
           "people edit` instead\n")
    assert opsflow(store_url, "people", "edit", "wendy", "--timezone",
                   "Europe/Berlin").exit_code == 0
    assert opsflow(store_url, "people", "deactivate", "wendy").output == (
        "wendy (Wendy Writer) is deactivated\n")
    assert opsflow(store_url, "people", "list").output == (
        "wendy · Wendy Writer (deactivated) · wendy@example.com · Europe/Berlin · "
        "content,ops\n")
    for args, problem in [
        (["add", "x", "--name", "X", "--email", "not-mail"], "'not-mail' is not an email"),
        (["add", "x", "--name", "X", "--timezone", "Mars/Base"], "'Mars/Base' is not a time"),
        (["add", "x", "--name", "X", "--team", "Ops Team"], "'Ops Team' is not a team name"),
        (["add", "x", "--name", "a\x1bb"], "contains a control character"),
        (["edit", "nobody", "--name", "N"], "no person 'nobody' in the people directory"),
    ]:
        done = opsflow(store_url, "people", *args)
        assert done.exit_code == 1 and problem in done.output, (args, done.output)
    with Store.open(store_url) as store:
        assert [p.key for p in store.people()] == ["wendy"]


def test_import_writes_nothing_when_a_row_is_bad_unless_asked(store_url: str,
                                                              tmp_path: Path) -> None:
    file = tmp_path / "team.csv"
    file.write_text("key,name,email,teams,active\n"
                    "fin,Finance Fin,fin@example.com,finance;ops,yes\n"
                    "dee,Dee Director,,,\n"
                    ",No Key,,,\n"
                    "fin,Twice,,,\n"
                    "zed,Zed,,,maybe\n", "utf-8")
    done = opsflow(store_url, "people", "import", str(file))
    assert done.exit_code == 1
    assert done.output.splitlines() == [
        f"{file}: row 4: a person's key is empty; give a name",
        f"{file}: row 5: 'fin' is also on row 2",
        f"{file}: row 6: 'active' is 'maybe'; write yes or no",
        f"error: nothing was imported: 3 bad rows in {file}; fix them, or pass --skip-bad "
        "to import only the good rows"]
    with Store.open(store_url) as store:
        assert store.people() == []
    done = opsflow(store_url, "people", "import", str(file), "--skip-bad")
    assert done.exit_code == 0
    assert done.output.splitlines()[-1] == (
        f"imported 2 people from {file}: 2 added, 0 updated; skipped 3 bad rows")
    with Store.open(store_url) as store:
        assert [(p.key, p.teams) for p in store.people()] == [("dee", ()),
                                                              ("fin", ("finance", "ops"))]


@pytest.mark.parametrize(("data", "problem"), [
    (b"key,name\n\xff\xfe,x\n", "is not UTF-8 text (byte 10 is 0xff)"),
    (b"name,email\nAnn,a@b.org\n", "has no column key in its first row (it has: name, email)"),
    (b"key,name,phone\nann,Ann,1\n", "has columns opsflow does not know or twice: phone"),
    (b"key,name\nann,A\0nn\n", "holds NUL bytes"),
])
def test_a_file_that_is_no_people_csv_is_one_clear_error(data: bytes, problem: str) -> None:
    with pytest.raises(DirectoryError) as caught:
        parse_csv(data, "team.csv")
    assert str(caught.value).startswith("team.csv ") and problem in str(caught.value)


def test_export_reads_back_and_neutralises_formulas(store_url: str) -> None:
    people = [person("ann", "=HYPERLINK(\"http://x\")", email="ann@example.com",
                     teams=["ops"]),
              person("bob", 'Bob "the, builder"', timezone="Asia/Tokyo", active=False)]
    with Store.open(store_url) as store:
        store.add_people(people)
        with pytest.raises(PersonExistsError):
            store.add_people(people[:1])
        stored = store.people()
    exported = to_csv(stored)
    assert "'=HYPERLINK" in exported  # a spreadsheet shows it instead of running it
    again, problems = parse_csv(exported.encode("utf-8"))
    assert problems == []
    assert again[1] == stored[1]
    assert again[0].name == "'" + stored[0].name
    cli_out = opsflow(store_url, "people", "export").output
    assert cli_out == exported


def test_status_and_list_show_names_and_who_is_deactivated(store_url: str) -> None:
    with Engine(Store.open(store_url), FixedClock(T0)) as engine:
        directory(engine.store)
        engine.store.add_people([person("ann", "Ann Asker")], update=True)
        run_id = engine.start(SOP, "Chairs", ROLES, FIELDS, actor="ann")
        engine.store.add_people([person("ann", "Ann Asker", active=False)], update=True)
    shown = opsflow(store_url, "status", str(run_id)).output
    assert "owner role requester (Ann Asker (ann, deactivated))" in shown
    assert ("  warning: this phase waits on ann, deactivated in the people directory; bind "
            "the role to someone else with `opsflow reassign`") in shown
    assert "roles: requester = Ann Asker (ann, deactivated); manager = Mia (mia);" in shown
    listed = opsflow(store_url, "list").output
    assert listed.endswith(" · waits on deactivated ann\n"), listed
    with Store.open(store_url) as store:  # history keeps the key
        assert {e.actor for e in store.events(run_id)} == {"ann"}
