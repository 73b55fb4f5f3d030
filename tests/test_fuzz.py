"""Bad input never escapes as anything but opsflow diagnostics.

Property tests (hypothesis) feed random text, soups of the language's own
words and random mutations of the example procedures (lines deleted,
duplicated, swapped, re-indented, characters inserted, words replaced,
text truncated) to :func:`opsflow.check_text` and through ``opsflow check``.
Explicit cases cover the inputs named in issue 2, item 9: empty, binary and
non-UTF-8 files, a folder without ``.sop`` files, a missing path, a
10,000-phase file, a 1 MB line, and 200 levels of parentheses and of
indentation.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import opsflow
from opsflow.cli import cli
from opsflow.errors import Diagnostic

SOPS = Path(__file__).resolve().parent.parent / "sops"
EXAMPLES = {p.name: p.read_text("utf-8") for p in sorted(SOPS.rglob("*.sop"))}
WORDS = [
    *(
        "sop phase role field event include owner accountable consulted informed due done when "
        "approval by quorum all majority veto not open at least handoff to on go if milestone "
        "end parallel track then join one of is and or text number date business days hours "
        'minutes week ( ) , > < = != >= 2/3 2027-03-01 2027-02-30 "Title" -1 10000 x draft #c'
    ).split(),
    *("\n", "\n  ", "\n    ", "\n\t", "- item", "> doc"),
]

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def expected_alternatives(message: str) -> list[str]:
    """The alternatives listed after "expected" in a syntax error message."""
    match = re.search(r"\bexpected (.*?)(?:, found .*)?$", message)
    if not match:
        return []
    listed = re.sub(r"\([^)]*\)", "", match.group(1))
    listed = re.sub(r" or one of \d+ more$", "", listed)
    return [a.strip() for a in re.split(r", | or (?=[`a-z])", listed) if a.strip()]


def is_readable(alternative: str) -> bool:
    return alternative.startswith(("`", "a ", "an ", "the "))


def assert_only_diagnostics(result: object) -> list[Diagnostic]:
    """``check_text`` gave a list of well-formed opsflow diagnostics."""
    assert isinstance(result, list)
    for d in result:
        assert isinstance(d, Diagnostic)
        assert re.fullmatch(r"[EW]\d{3}", d.code), d
        assert d.severity == ("error" if d.code[0] == "E" else "warning")
        assert d.message and "\n" not in d.message
        assert "Traceback" not in d.message
        if d.code == "E001":
            assert all(is_readable(a) for a in expected_alternatives(d.message)), d.message
    return result


def check_both_ways(text: str) -> None:
    """``check_text`` returns diagnostics; ``loads`` agrees and raises only SopError."""
    diagnostics = assert_only_diagnostics(opsflow.check_text(text, "fuzz.sop"))
    has_errors = any(d.is_error for d in diagnostics)
    try:
        opsflow.loads(text, "fuzz.sop")
    except opsflow.SopError as exc:
        assert has_errors and exc.diagnostics
    else:
        assert not has_errors


def run_check(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


# ---- mutations ---------------------------------------------------------------------

_INSERTS = ["x", " ", "(", '"', "\t", "é", "\x00", "\r", "#", ">", "-", ",", "\\", "\ufeff", "\n"]
_OPS = ("delete", "duplicate", "swap", "insert", "indent", "truncate", "word")


def mutate(text: str, ops: list[tuple[str, int, int]]) -> str:
    """Apply mutations; each is (operation, a, b) with a and b any non-negative ints."""
    lines = text.split("\n")
    for op, a, b in ops:
        i = a % len(lines) if lines else 0
        if op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif op == "swap" and lines:
            j = b % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert" and lines:
            line = lines[i]
            at = b % (len(line) + 1)
            lines[i] = line[:at] + _INSERTS[b % len(_INSERTS)] + line[at:]
        elif op == "indent" and lines:
            lines[i] = " " * (b % 13) + lines[i].lstrip()
        elif op == "truncate":
            joined = "\n".join(lines)
            lines = joined[: b % (len(joined) + 1)].split("\n")
        elif op == "word" and lines:
            parts = lines[i].split(" ")
            parts[b % len(parts)] = WORDS[b % len(WORDS)]
            lines[i] = " ".join(parts)
    return "\n".join(lines)


mutations = st.lists(
    st.tuples(st.sampled_from(_OPS), st.integers(0, 10**6), st.integers(0, 10**6)),
    min_size=1,
    max_size=5,
)


def test_mutate_changes_the_text() -> None:
    text = EXAMPLES["content-publishing.sop"]
    assert mutate(text, [("delete", 0, 0)]) == text.split("\n", 1)[1]
    assert mutate(text, [("truncate", 0, 10)]) == text[:10]
    assert mutate(text, [("indent", 1, 4)]).split("\n")[1].startswith("    sop ")


# ---- properties ------------------------------------------------------------------


@FAST
@given(st.text(max_size=400))
def test_random_text_gives_only_diagnostics(text: str) -> None:
    check_both_ways(text)


@FAST
@given(st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join))
def test_soup_of_keywords_gives_only_diagnostics(text: str) -> None:
    check_both_ways(text)


@FAST
@given(st.sampled_from(sorted(EXAMPLES)), mutations)
def test_mutated_examples_give_only_diagnostics(name: str, ops: list[tuple[str, int, int]]) -> None:
    check_both_ways(mutate(EXAMPLES[name], ops))


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(sorted(EXAMPLES)), mutations)
def test_mutated_examples_through_the_cli(name: str, ops: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(mutate(EXAMPLES[name], ops).encode("utf-8", "surrogatepass"))
        result = run_check(str(path))
    assert result.exit_code in (0, 1)
    assert result.output.strip().splitlines()[-1].startswith("checked 1 file")


# ---- explicit bad input -------------------------------------------------------------


def _codes(path: Path | str) -> set[str]:
    return {d.code for d in opsflow.check_paths([str(path)]).errors}


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.sop"
    path.write_text("")
    assert run_check(str(path)).exit_code == 1


def test_empty_text_gives_only_diagnostics() -> None:
    for text in ("", "\n", "   \n\n", "# only a comment\n", "\ufeff"):
        check_both_ways(text)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.sop"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = run_check(str(path))
    assert result.exit_code == 1
    assert "binary file" in result.output and _codes(path) == {"E101"}


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.sop"
    path.write_bytes('sop caf "Café"\n'.encode("latin-1"))
    result = run_check(str(path))
    assert result.exit_code == 1
    assert "not valid UTF-8" in result.output and "latin1.sop:1:13" in result.output


def test_folder_without_sop_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a procedure")
    result = run_check(str(tmp_path))
    assert result.exit_code == 1
    assert f"no .sop files in {tmp_path}" in result.output


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "x.sop"
    result = run_check(str(missing))
    assert result.exit_code == 1
    assert f"no such file or folder: {missing}" in result.output


def _many_phases(count: int, last: str = "  end") -> str:
    lines = ['sop big "Big"', "  owner lead", 'role lead "Lead"']
    for i in range(count):
        lines += [f'phase p{i} "Phase {i}"', "  owner lead", "  due 2 business days"]
        lines.append(f"  handoff to p{i + 1}" if i < count - 1 else last)
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_ten_thousand_phases(tmp_path: Path) -> None:
    good = tmp_path / "big.sop"
    good.write_text(_many_phases(10_000))
    assert run_check(str(good)).exit_code == 0
    bad = tmp_path / "big-bad.sop"
    bad.write_text(_many_phases(10_000, last="  handoff to p10000"))
    result = run_check(str(bad))
    assert result.exit_code == 1
    last_line = 3 + 4 * 10_000
    assert f"big-bad.sop:{last_line}:14: error[E211]: unknown phase `p10000`" in result.output


def test_one_megabyte_line(tmp_path: Path) -> None:
    path = tmp_path / "long.sop"
    path.write_text('sop long "Long"\n  owner lead\n  > ' + "word " * 200_000 + "\n  ?\n")
    result = run_check(str(path))
    assert result.exit_code == 1
    assert "long.sop:4:3: error[E001]" in result.output
    assert max(len(line) for line in result.output.splitlines()) < 400


def test_one_megabyte_word_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sop"
    path.write_text("x" * 1_000_000 + " ?\n")
    result = run_check(str(path))
    assert result.exit_code == 1
    assert "garbage.sop:1:1: error[E001]" in result.output


def test_one_megabyte_word_gives_a_short_message(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sop"
    path.write_text("x" * 1_000_000 + " ?\n")
    result = run_check(str(path))
    assert max(len(line) for line in result.output.splitlines()) < 400


def _nested(depth: int) -> str:
    condition = "(" * depth + "budget > 1" + ")" * depth
    return (
        'sop deep "Deep"\n  owner lead\nrole lead "Lead"\nfield budget "Budget" number\n'
        f'phase a "A"\n  owner lead\n  handoff to b if {condition}\n  handoff to b\n'
        'phase b "B"\n  owner lead\n  end\n'
    )


def test_deeply_nested_parentheses(tmp_path: Path) -> None:
    check_both_ways(_nested(10))
    assert not opsflow.check_text(_nested(10), "deep.sop")
    path = tmp_path / "deep.sop"
    path.write_text(_nested(200))
    result = run_check(str(path))
    assert result.exit_code == 1
    assert "deep.sop:7:" in result.output and "error[E001]" in result.output


def test_deeply_nested_not(tmp_path: Path) -> None:
    text = _nested(0).replace("if budget", "if " + "not " * 200 + "budget")
    check_both_ways(text)


def test_deeply_nested_indentation(tmp_path: Path) -> None:
    text = 'sop deep "Deep"\n' + "".join(" " * (i + 1) + "> level\n" for i in range(200))
    check_both_ways(text)
    path = tmp_path / "indent.sop"
    path.write_text(text)
    result = run_check(str(path))
    assert result.exit_code == 1
    assert "indent.sop:3:3: error[E001]" in result.output


# ---- syntax errors speak the language, not Lark's --------------------------------------


SYNTAX_CASES = {
    "condition-ends-early": 'sop x "X"\nphase p "P"\n  owner a\n  handoff to d if f is not\n',
    "statement-under-role": 'role a "A"\n  on\n',
    "statement-under-header": 'sop x "X"\n  on\n',
}


def test_readable_alternatives_are_recognised() -> None:
    message = (
        "expected `all` or `majority`, a fraction like 2/3 or a whole number, "
        "found the end of the line"
    )
    assert expected_alternatives(message) == [
        "`all`",
        "`majority`",
        "a fraction like 2/3",
        "a whole number",
    ]
    assert all(is_readable(a) for a in expected_alternatives(message))
    assert not is_readable(expected_alternatives("expected doc or role_plus_2, found x")[1])
    assert expected_alternatives("unexpected indentation") == []


@pytest.mark.parametrize("text", SYNTAX_CASES.values(), ids=list(SYNTAX_CASES))
def test_syntax_errors_name_no_grammar_internals(text: str) -> None:
    messages = [d.message for d in opsflow.check_text(text, "x.sop") if d.code == "E001"]
    assert messages
    for message in messages:
        assert all(is_readable(a) for a in expected_alternatives(message)), message
