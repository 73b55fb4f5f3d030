"""E245's question — do these route conditions cover every case? — answered exactly.

:func:`opsflow.lang.coverage.uncovered` tries a few values per field (the
constants and one value between and beyond them). Hypothesis checks it
against many other values: when it says every case is covered, a condition
holds for every value tried here; when it names a case, no condition holds
there.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

import opsflow
from opsflow.lang import coverage
from opsflow.lang import model as m

HEAD = """\
sop t "T"
  owner lead
role lead "Lead"
field n "A number" number
field k "A choice" one of x, y, z
field r "A region" text
phase a "A"
  owner lead
  approval by lead
    reopen on change
{routes}
  on reject go to b
phase b "B"
  owner lead
  end
"""
NUMBERS = st.sampled_from(["0", "1", "2.5", "3", "10"])


def _leaf() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda op, c: f"n {op} {c}", st.sampled_from(["<", "<=", ">", ">=", "=", "!="]),
                  NUMBERS),
        st.builds(lambda c: f"k is {c}", st.sampled_from(["x", "y", "z"])),
        st.builds(lambda cs: f"k is one of {', '.join(cs)}",
                  st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=2,
                           unique=True)),
        st.builds(lambda c: f'r is "{c}"', st.sampled_from(["EMEA", "APAC"])),
    )


CONDITIONS = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner)),
    max_leaves=4)


def _conditions(texts: list[str]) -> tuple[list[m.Condition], dict[str, m.Field]]:
    routes = "\n".join(f"  on approve go to b if {text}" for text in texts)
    sop = opsflow.loads(HEAD.format(routes=routes), "t.sop")
    phase = sop.phases[0]
    conds = [r.condition for r in phase.routes if r.condition is not None]
    return conds, {f.id: f for f in sop.fields}


VALUES = st.fixed_dictionaries({
    "n": st.decimals(min_value=-5, max_value=15, places=2, allow_nan=False),
    "k": st.sampled_from(["x", "y", "z"]),
    "r": st.sampled_from(["EMEA", "APAC", "NA", ""]),
})


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(CONDITIONS, min_size=1, max_size=3), values=st.lists(VALUES, max_size=40))
def test_uncovered_agrees_with_other_values(texts: list[str], values: list[dict]) -> None:
    conds, fields = _conditions(texts)
    case = coverage.uncovered(conds, fields)
    if case is None:  # covered: some condition holds wherever we look
        for sample in values:
            assert any(coverage._holds(c, sample) for c in conds), (texts, sample)
    else:  # the case named is one where nothing holds
        filled = {"n": Decimal(0), "k": "x", "r": "EMEA", **case}
        filled = {k: (v if not isinstance(v, coverage.OtherText) else "\x00other")
                  for k, v in filled.items()}
        assert not any(coverage._holds(c, filled) for c in conds), (texts, case)


def test_cases_that_are_and_are_not_covered() -> None:
    covered, fields = _conditions(["n > 1000", "n <= 1000"])
    assert coverage.uncovered(covered, fields) is None
    gap, fields = _conditions(["n > 1000", "n < 500"])
    assert coverage.uncovered(gap, fields) == {"n": Decimal(500)}
    choices, fields = _conditions(["k is x", "k is one of y, z"])
    assert coverage.uncovered(choices, fields) is None
    texts, fields = _conditions(['r is "EMEA"', 'not (r is "APAC")'])
    assert coverage.uncovered(texts, fields) == {"r": "APAC"}
