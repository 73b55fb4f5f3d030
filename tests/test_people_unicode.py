"""One person, one name: identity by Unicode's own rules (issue 20, item 1).

On main of 2026-12-07, 269 default-ignorable or blank code points survived
into a person key, and so did look-alike letters: `ed` + U+034F approved their
own request as the requester, `ed,ed` + U+FE0F gave both votes of a quorum 2.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import pytest
from engine_support import Runner, compiled_text

from opsflow.run.errors import RunError
from opsflow.run.people import lookalikes, person_key

#: every default-ignorable code point, by Unicode's DerivedCoreProperties (the table
#: precis-i18n ships), plus the blank and filler characters the attack round used
INVISIBLE = ["\u034f", "\ufe00", "\ufe0f", "\U000e0100", "\U000e01ef", "\u115f", "\u1160",
             "\u3164", "\uffa0", "\u2800", "\u17b4", "\u17b5", "\u200b", "\u2060", "\u00ad",
             "\u180e", "\U0001d173"]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_and_blank_characters_are_refused(char: str) -> None:
    with pytest.raises(RunError) as info:
        person_key(f"ed{char}")
    assert "U+" in str(info.value) or unicodedata.name(char, "") in str(info.value)


def test_every_default_ignorable_code_point_is_refused() -> None:
    """The whole property, not a hand list: each of Unicode's 4,174 default-ignorable code
    points (precis-i18n's table, from DerivedCoreProperties.txt) is refused."""
    from precis_i18n.unicode import _DEFAULT_IGNORABLE  # type: ignore[attr-defined]

    refused = 0
    for cp in range(sys.maxunicode + 1):
        if cp in _DEFAULT_IGNORABLE:
            with pytest.raises(RunError):
                person_key("ed" + chr(cp))
            refused += 1
    assert refused == 4174


def test_the_unicode_tables_match_the_runtime() -> None:
    """precis-i18n's default-ignorable table (from DerivedCoreProperties.txt) agrees with
    the Python runtime's Unicode data: every format character (Cf) the runtime knows is in
    it, except the visible ones Unicode leaves out of the property (prepended
    concatenation marks, interlinear annotation, Egyptian hieroglyph format controls),
    and every code point in it that the runtime has assigned is a format character, a
    mark, a filler letter or a variation selector."""
    from precis_i18n.unicode import _DEFAULT_IGNORABLE  # type: ignore[attr-defined]

    visible_format = {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890,
                      0x0891, 0x08E2, 0x110BD, 0x110CD, 0xFFF9, 0xFFFA, 0xFFFB,
                      *range(0x13430, 0x13440)}
    for cp in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(cp))
        if category == "Cf" and cp not in visible_format:
            assert cp in _DEFAULT_IGNORABLE, f"U+{cp:04X} ({unicodedata.unidata_version})"
        if cp in _DEFAULT_IGNORABLE and category != "Cn":
            assert category in ("Cf", "Mn", "Lo"), f"U+{cp:04X} is {category}"


@pytest.mark.parametrize("name", ["\u0435d", "b\u03bfb", "p\u0430ypal"])
def test_names_that_mix_scripts_are_refused_with_code_points(name: str) -> None:
    with pytest.raises(RunError) as info:
        person_key(name)
    assert "mixes scripts" in str(info.value) and "U+" in str(info.value)


@pytest.mark.parametrize("name", ["o\u2019brien", "jean-luc", "ann@example.com", "José",
                                  "Борис", "山田太郎", "やまだ", "Müller", "李小龙 lee"])
def test_real_names_in_many_scripts_are_fine(name: str) -> None:
    assert person_key(name) == " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def test_whole_script_lookalikes_are_one_run_s_problem() -> None:
    assert lookalikes(["poe", "\u0440\u043e\u0435"]) == ("poe", "\u0440\u043e\u0435")
    assert lookalikes(["борис", "boris", "ann"]) is None
    assert lookalikes(["al", "a1"]) is None  # plain ASCII: people see those apart


SOD = """\
sop req "Request"
  owner lead
role lead "Lead"
role requester "Requester"
role editor "Editor"
phase ask "Ask"
  owner requester
  handoff to review
phase review "Review"
  owner lead
  approval by editor
    quorum 2
    not by requester
  on approve go to done
  on reject go to ask
phase done "Done"
  owner lead
  end
"""


def test_the_attacks_of_the_issue_are_refused(tmp_path: Path) -> None:
    run = Runner(compiled_text(SOD, tmp_path))
    for editors in (["ed\u034f", "eve", "max"], ["ed", "ed\ufe0f", "eve"],
                    ["\u0435d", "eve", "max"]):
        with pytest.raises(RunError):
            run.start({"lead": ["lee"], "requester": ["ed"], "editor": editors}, actor="lee")
    with pytest.raises(RunError) as info:
        run.start({"lead": ["lee"], "requester": ["poe"],
                   "editor": ["\u0440\u043e\u0435", "max"]}, actor="lee")
    assert info.value.code == "lookalike"
    run.start({"lead": ["poe"], "requester": ["ed"], "editor": ["eve", "max"]}, actor="poe")
    with pytest.raises(RunError) as info:  # a look-alike of the lead
        run.do("reassign", "poe", role="editor", people=["eve", "max", "\u0440\u043e\u0435"])
    assert info.value.code == "lookalike"
    with pytest.raises(RunError):
        run.do("reassign", "poe", role="editor", people=["eve", "max", "bo\u034f"])
    assert run.s.assignments["editor"] == ["eve", "max"]
