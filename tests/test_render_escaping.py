"""Hostile text in titles, roles, criteria and descriptions is shown as text
in every output: Markdown, CSV, HTML, Mermaid, DOT, SVG and the site."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt
from render_support import EVIL_TEXTS, EVIL_TITLE, load_evil, write_evil

from opsflow.render import publish, render_diagram, render_playbook, render_raci
from opsflow.render.escape import one_line

#: what a Markdown renderer that passes raw HTML (like GitHub's) would produce
GITHUB_LIKE = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


class _Page(HTMLParser):
    """Collects start tags, attributes and the visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((k, v or "") for k, v in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def visible(page: _Page) -> str:
    return one_line(" ".join(page.text))


def assert_safe_html(page: _Page) -> None:
    assert not {"script", "iframe", "object", "embed"} & set(page.tags)
    assert not [name for name, _ in page.attrs if name.startswith("on")]
    links = [v.strip().lower() for name, v in page.attrs if name in ("href", "src")]
    assert not [v for v in links if v.startswith("javascript:")]
    sources = [v.strip().lower() for name, v in page.attrs if name == "src"]
    assert not [v for v in sources if v.startswith(("http:", "https:", "//"))]


def test_markdown_shows_hostile_text_as_text(tmp_path: Path) -> None:
    sop = load_evil(tmp_path)
    for markdown in (render_playbook(sop), render_raci(sop, "md")):
        page = parse_html(GITHUB_LIKE.render(markdown))
        assert_safe_html(page)
        assert not {"b", "i"} & set(page.tags), "user text became markup"
        assert "49" not in markdown
        text = visible(page)
        for raw in EVIL_TEXTS[:2]:
            assert one_line(raw) in text
    playbook_text = visible(parse_html(GITHUB_LIKE.render(render_playbook(sop))))
    for raw in EVIL_TEXTS:
        assert one_line(raw) in playbook_text, raw
    assert "{% if true %}jinja{% endif %}" in playbook_text


def test_description_markdown_is_kept_but_raw_html_is_not(tmp_path: Path) -> None:
    markdown = render_playbook(load_evil(tmp_path))
    page = parse_html(GITHUB_LIKE.render(markdown))
    assert "code" in page.tags  # `code <b>kept</b>` stays a code span
    assert "<script>alert('x')</script>" in visible(page)
    assert "<img src=x onerror=alert(1)>" in visible(page)
    # the unclosed fence in the summary is closed before the roles table
    assert page.tags.count("table") == 2


def test_csv_cells_hold_the_exact_text(tmp_path: Path) -> None:
    sop = load_evil(tmp_path)
    rows = list(csv.reader(io.StringIO(render_raci(sop, "csv"))))
    assert rows[0] == ["Phase ID", "Phase", *[r.title for r in sop.roles]]
    assert rows[1][:2] == ["start", f"1. {sop.phases[0].title}"]
    assert all(len(row) == len(rows[0]) for row in rows)


def test_csv_neutralises_formulas() -> None:
    from opsflow.render.escape import csv_field

    assert csv_field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\""
    assert csv_field("@sum") == "'@sum"
    assert csv_field("plain") == "plain"


def test_raci_html_is_escaped(tmp_path: Path) -> None:
    sop = load_evil(tmp_path)
    text = render_raci(sop, "html")
    page = parse_html(text)
    assert_safe_html(page)
    assert not {"b", "i"} & set(page.tags)
    assert one_line(EVIL_TITLE) in visible(page)
    assert one_line(sop.roles[0].title) in visible(page)
    assert "{{ 7*7 }}" in text and "49" not in text


def _mermaid_text(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


def test_mermaid_labels_are_quoted_and_decode_to_the_text(tmp_path: Path) -> None:
    sop = load_evil(tmp_path)
    source = render_diagram(sop, "mermaid")
    labels = re.findall(r'"([^"]*)"', source)
    decoded = [_mermaid_text(label).replace("<br/>", "\n") for label in labels]
    for line in (part for label in decoded for part in label.split("\n")):
        assert line  # no empty labels
    joined = "\n".join(decoded)
    for phase in sop.phases:
        assert one_line(phase.title) in joined
    for label in labels:
        assert "<" not in label.replace("<br/>", "") and ">" not in label.replace("<br/>", "")
        assert "`" not in label
    # every statement line is either structure or a quoted label
    for line in source.splitlines()[1:]:
        outside = re.sub(r'"[^"]*"', '""', line)
        assert "<" not in outside and "{{" not in outside, line


def test_dot_is_valid_and_svg_shows_the_text(tmp_path: Path) -> None:
    sop = load_evil(tmp_path)
    source = render_diagram(sop, "dot")
    assert shutil.which("dot"), "Graphviz `dot` is required by the tests (apt-get install graphviz)"
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    svg = render_diagram(sop, "svg")
    root = ET.fromstring(svg)
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    texts = " ".join(t for el in root.iter() if el.tag.endswith("text") for t in [el.text or ""])
    assert one_line(EVIL_TITLE) in texts
    assert "1. " + one_line(sop.phases[0].title) in texts


def test_published_site_is_escaped(tmp_path: Path) -> None:
    write_evil(tmp_path / "src")
    publish([tmp_path / "src"], tmp_path / "out")
    pages = sorted((tmp_path / "out").rglob("*.html"))
    assert len(pages) == 2
    for path in pages:
        page = parse_html(path.read_text("utf-8"))
        assert_safe_html(page)
        assert not {"b", "i"} & set(page.tags), path
        assert one_line(EVIL_TITLE) in visible(page), path
        assert "49" not in path.read_text("utf-8")
    sop_page = (tmp_path / "out" / "pages" / "evil.html").read_text("utf-8")
    text = visible(parse_html(sop_page))
    assert "<script>alert('x')</script>" in text
    assert html.escape("<script>") in sop_page
