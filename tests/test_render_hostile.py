"""Newlines, control characters, bidi overrides and spreadsheet-formula prefixes
in SOP and role titles (issue 8, item 10): every output format keeps them as
inert text. CSV cells starting with = + - @ (or tab, CR) get a leading '."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

import opsflow
from opsflow.render import render_diagram, render_playbook, render_raci

SOURCE = """sop demo "Demo"
  owner lead
role lead "Lead"
role ops "Ops"
phase start "Start"
  owner lead
  consulted ops
  handoff to finish
phase finish "Finish"
  owner ops
  end
"""
CONTROLS = ("\x1b", "\x00", "\x07", "\x9b", "\u202e", "\u2066")
HOSTILE_SOP = "=cmd|' /C calc'!A0\n# forged heading\x1b[2J\u202eevil"
HOSTILE_ROLES = ("+1+1\r\nforged,row", "@SUM(A1)\x07\x9b", "-2\tthree\x00")


def hostile_sop() -> opsflow.Sop:
    sop = opsflow.loads(SOURCE, "demo.sop")
    roles = tuple(dataclasses.replace(role, title=title)
                  for role, title in zip(sop.roles, HOSTILE_ROLES[:2], strict=True))
    return dataclasses.replace(sop, title=HOSTILE_SOP, roles=roles)


def assert_inert(text: str) -> None:
    assert not set(CONTROLS) & set(text)


def test_csv_neutralises_formulas_and_controls() -> None:
    text = render_raci(hostile_sop(), "csv")
    assert_inert(text)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][2:] == ["'+1+1\r\nforged,row", "'@SUM(A1)\ufffd\ufffd"]  # quoted, exact
    assert all(len(row) == len(rows[0]) for row in rows)
    for row in rows:
        assert not [cell for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_prefix_gets_a_quote(prefix: str) -> None:
    from opsflow.render.escape import csv_field

    cell = next(csv.reader(io.StringIO(csv_field(prefix + "1+1"))))[0]
    assert cell == "'" + prefix + "1+1"


def test_markdown_keeps_one_line_and_no_controls() -> None:
    text = render_playbook(hostile_sop())
    assert_inert(text)
    assert "\r" not in text and "\n# forged heading" not in text
    first = text.splitlines()[0]
    assert first.startswith("# ") and "forged heading" in first


def test_raci_markdown_has_no_controls_and_html_is_escaped() -> None:
    text = render_raci(hostile_sop(), "md")
    assert_inert(text)
    assert "\r" not in text and "+1+1 forged,row" in text
    html = render_raci(dataclasses.replace(hostile_sop(), title="<b>\n</b>x"), "html")
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_diagrams_keep_labels_on_one_line() -> None:
    sop = dataclasses.replace(
        hostile_sop(),
        phases=tuple(dataclasses.replace(p, title=f'{p.title}\n"]; x --> y\x1b') for p in
                     hostile_sop().phases),
    )
    for fmt in ("mermaid", "dot"):
        text = render_diagram(sop, fmt)
        assert_inert(text)
        assert "\r" not in text
        assert "\n; x --> y" not in text and '\n"]; x' not in text
