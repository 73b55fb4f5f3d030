"""Helpers for the render tests: the examples, an adversarial SOP, goldens,
and a Markdown table checker that reads the source (markdown-it pads or cuts
rows to the header's width, so its tokens cannot show a wrong column count)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from markdown_it import MarkdownIt

import opsflow
from opsflow.lang.model import Sop
from opsflow.render import RunView

ROOT = Path(__file__).resolve().parent.parent
SOPS = ROOT / "sops"
GOLDEN = Path(__file__).resolve().parent / "golden" / "render"
UPDATE = os.environ.get("OPSFLOW_UPDATE_GOLDEN") == "1"


def example_paths() -> list[Path]:
    """Every example procedure in sops/ (shared files without a header excluded)."""
    return [p for p in sorted(SOPS.rglob("*.sop")) if not opsflow.load(p).is_library]


#: a title that is HTML, a Markdown table cell breaker and a Jinja expression at once
EVIL_TITLE = "<script>alert(1)</script> | {{ 7*7 }} `tick` *bold* [link](javascript:alert(1))"
EVIL_ROLE = "Boss | <b>chief</b> `x` {{ 7*7 }} & co"
EVIL_WRITER = 'Writer "quoted" \\ back -->|x| end; %% note'
EVIL_CRITERION = "Check | pipes `backticks` <script>alert(4)</script> {{ 7*7 }} {% raw %} $x$"
EVIL_PHASE = "Start | <script>alert(2)</script> {{ 7*7 }} #35;"
EVIL_DONE = 'Done ]"] --> x; {{ 7*7 }} \\l'
EVIL_MILESTONE = "Live <script>alert(5)</script> | {{ 7*7 }}"
EVIL_FIELD = "Amount | <i>EUR</i>"
#: every text above, as it must appear (after whitespace is collapsed) in each output
EVIL_TEXTS = [EVIL_TITLE, EVIL_ROLE, EVIL_WRITER, EVIL_CRITERION, EVIL_PHASE, EVIL_DONE]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


EVIL_SOURCE = f"""\
sop evil {_quoted(EVIL_TITLE)}
  version 1
  owner boss
  > Summary with <script>alert('x')</script> and <img src=x onerror=alert(1)>, {{{{ 7*7 }}}}
  > and {{% if true %}}jinja{{% endif %}} and `code <b>kept</b>` and <https://example.org>.
  > ```
  > an unclosed fence

role boss {_quoted(EVIL_ROLE)}
  > Role text | with <script>alert(6)</script> and a pipe.
role writer {_quoted(EVIL_WRITER)}
field amount {_quoted(EVIL_FIELD)} number

phase start {_quoted(EVIL_PHASE)}
  > Phase text <script>alert(3)</script> `code <b>` {{{{ 7*7 }}}}
  owner writer
  accountable boss
  done when
    - {EVIL_CRITERION}
    - [x] looks ticked but is not
  approval by boss
    not by writer
  on approve go to done if amount > 10
  on approve go to done
  on reject go to start
  milestone {_quoted(EVIL_MILESTONE)} owner boss

phase done {_quoted(EVIL_DONE)}
  owner boss
  end
"""


def write_evil(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evil.sop"
    path.write_text(EVIL_SOURCE, encoding="utf-8")
    return path


def load_evil(folder: Path) -> Sop:
    return opsflow.load(write_evil(folder))


def check_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; OPSFLOW_UPDATE_GOLDEN=1 rewrites it instead."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="")
        return
    assert path.is_file(), f"missing golden {path}; run with OPSFLOW_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (f"{path} differs; review the change and regenerate with "
                                "OPSFLOW_UPDATE_GOLDEN=1")


_PIPE = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> int:
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return len(_PIPE.split(text))


def tables(markdown: str) -> list[list[int]]:
    """Cells per source line of every GFM table (header, delimiter, rows)."""
    md = MarkdownIt("commonmark").enable("table")
    lines = markdown.split("\n")
    found = []
    for token in md.parse(markdown):
        if token.type == "table_open" and token.map:
            start, end = token.map
            found.append([_cells(line) for line in lines[start:end] if line.strip()])
    return found


def assert_tables_well_formed(markdown: str) -> int:
    """Every table row has the header's column count; returns the number of tables."""
    found = tables(markdown)
    for rows in found:
        assert len(rows) >= 2, rows
        assert all(count == rows[0] for count in rows), f"ragged table: {rows}"
    return len(found)


def sample_run() -> RunView:
    """A run of content-publishing in client review: brief and draft done, a
    vote in internal review, client review overdue with two votes."""
    import datetime as dt

    from opsflow.render import PhaseRun, Vote

    utc = dt.UTC

    def at(day: int, hour: int = 9) -> dt.datetime:
        return dt.datetime(2027, 3, day, hour, 30, tzinfo=utc)

    return RunView(
        id="42",
        title="Spring campaign | landing page",
        status="active",
        started_at=at(1),
        as_of=at(12, 15),
        people={"writer": ("wanda",), "editor": ("eddie",), "account": ("ann",),
                "client": ("carl", "cora")},
        current=("client-review",),
        phases={
            "brief": PhaseRun(entered_at=at(1), due_at=at(3), left_at=at(2),
                              ticked=frozenset({1, 2})),
            "draft": PhaseRun(entered_at=at(2), due_at=at(5), left_at=at(4),
                              ticked=frozenset({1, 2})),
            "internal-review": PhaseRun(entered_at=at(4), left_at=at(5), votes=(
                Vote("eddie", "approve", at(5), "Tight and on brief"),)),
            "client-review": PhaseRun(entered_at=at(5), due_at=at(10), overdue=True, votes=(
                Vote("cora", "reject", at(9, 11), "Needs the new logo"),
                Vote("carl", "approve", at(8)),
            )),
        },
        fields={"budget": "12000"},
    )
