"""Every Markdown output parses cleanly with markdown-it-py: tables keep their
column count, task lists are task lists, descriptions stay Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from render_support import (
    assert_tables_well_formed,
    example_paths,
    load_evil,
    sample_run,
    tables,
)

import opsflow
from opsflow.render import render_playbook, render_raci
from opsflow.render.escape import markdown_block, md_cell, md_inline
from opsflow.render.markdown import to_html

EXAMPLES = example_paths()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_playbook_tables_and_task_lists(path: Path) -> None:
    sop = opsflow.load(path)
    text = render_playbook(sop)
    assert assert_tables_well_formed(text) >= 1
    criteria = sum(len(p.checklist) for p in sop.phases)
    html = to_html(text)
    assert html.count('class="task-list-item"') == criteria
    assert html.count("<h3") + html.count("<h4") >= len(sop.phases)
    assert "```mermaid" in text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_raci_markdown_has_a_column_per_role(path: Path) -> None:
    sop = opsflow.load(path)
    text = render_raci(sop, "md")
    assert assert_tables_well_formed(text) == 1
    header = tables(text)[0][0]
    local_roles = [r for r in sop.roles if r.span.file == sop.span.file]
    assert header >= 1 + len(local_roles)
    assert "**Legend:**" in text and "## RACI check" in text


def test_adversarial_markdown_keeps_its_tables(tmp_path: Path) -> None:
    sop = load_evil(tmp_path)
    for text in (render_playbook(sop), render_raci(sop, "md")):
        assert assert_tables_well_formed(text) >= 1


def test_run_playbook_ticks_and_tables() -> None:
    sop = opsflow.load(Path(__file__).parent.parent / "sops" / "content-publishing.sop")
    text = render_playbook(sop, sample_run())
    assert assert_tables_well_formed(text) == 2
    html = to_html(text)
    assert html.count('checked="checked"') == 4  # brief 2 + draft 2


def test_md_inline_round_trips_through_markdown_it() -> None:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for text in ["a | b", "`code`", "*x* _y_ ~~z~~", "<b>x</b>", "[a](b)", "&amp;", "# h",
                 "- item", "+ item", "= x", "1. x", "{{ 7*7 }}", "$x$", "back\\slash", "x!"]:
        html = md.renderInline(md_inline(text))
        unescaped = (html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                     .replace("&amp;", "&"))
        assert unescaped == text, (text, html)


def test_md_cell_is_one_line_with_escaped_pipes() -> None:
    cell = md_cell("line one | a\nline two <script>x</script>")
    assert "\n" not in cell
    assert "\\|" in cell and "&lt;script>" in cell


def test_markdown_block_closes_fences_and_neutralises_html() -> None:
    block = markdown_block("text <img src=x onerror=y>\n```\n<b>in code</b>")
    assert block.endswith("\n```")
    assert "&lt;img" in block
    assert "<b>in code</b>" in block  # code is shown as written
    kept = markdown_block("see <https://example.org> and `a <b> c` and a < b")
    assert kept == "see <https://example.org> and `a <b> c` and a < b"
    assert markdown_block("``a `<b>` c`` <i>") == "``a `<b>` c`` &lt;i>"
