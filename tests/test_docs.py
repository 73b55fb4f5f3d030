"""Every ```sop example in ``docs/language.md`` is checked.

The convention (also written at the top of the document, in an HTML
comment): a block whose first statement is ``sop`` or ``include`` is a
complete procedure and must check with no errors and no warnings, as if it
were saved in ``sops/``. Any other block is a fragment, wrapped by
:func:`wrap_fragment` in a small skeleton procedure: no errors at all and no
warnings on the fragment's own lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import opsflow
from opsflow.errors import Diagnostic

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "language.md"
SOPS = ROOT / "sops"

#: what fragments may use without declaring it (see the comment atop the doc)
ROLES = {
    "lead": "Team lead",
    "writer": "Writer",
    "editor": "Editor",
    "client": "Client",
    "finance": "Finance controller",
    "legal": "Legal counsel",
}
FIELDS = {
    "budget": "number",
    "risk": "one of low, medium, high",
    "region": "text",
    "launch": "date",
}
EVENTS = {"withdraw": "by lead"}
TARGETS = ("draft", "review", "revision", "publish")
ENDS = ("done", "cancelled")

_DECLARATION = re.compile(
    r"^(role|field|event|phase|parallel)\s+([A-Za-z][A-Za-z0-9_-]*)", re.MULTILINE
)
_ROUTE = re.compile(r"^\s+(handoff to|on \S+ go to)\s", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One ```sop block: the doc line its text starts on, and the text."""

    line: int
    text: str

    @property
    def first_statement(self) -> str:
        for line in self.text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                return line
        return ""

    @property
    def is_complete(self) -> bool:
        return self.first_statement.split(" ", 1)[0] in ("sop", "include")

    @property
    def is_indented(self) -> bool:
        return self.first_statement[:1].isspace()


def sop_blocks(markdown: str) -> list[Block]:
    """The ```sop fenced blocks of a Markdown text, in order."""
    tokens = MarkdownIt().parse(markdown)
    return [
        Block(t.map[0] + 2, t.content)
        for t in tokens
        if t.type == "fence" and t.info.strip() == "sop" and t.map is not None
    ]


@dataclass(frozen=True)
class Wrapped:
    """A fragment inside its skeleton; ``first``..``last`` are its lines (1-based)."""

    text: str
    first: int
    last: int


def wrap_fragment(fragment: str) -> Wrapped:
    """Put a fragment into a minimal valid procedure (the documented skeleton)."""
    declared: dict[str, set[str]] = {"role": set(), "field": set(), "event": set(), "flow": set()}
    flow_order: list[str] = []
    for kind, name in _DECLARATION.findall(fragment):
        key = "flow" if kind in ("phase", "parallel") else kind
        declared[key].add(name)
        if key == "flow":
            flow_order.append(name)
    head: list[str] = []
    tail: list[str] = []
    if Block(0, fragment).is_indented:
        head, tail = _phase_around(fragment)
        flow_order = ["step"]

    lines = ['sop example "Example"', "  owner lead"]
    lines += [f'role {n} "{t}"' for n, t in ROLES.items() if n not in declared["role"]]
    lines += [
        f'field {n} "{n.title()}" {t}' for n, t in FIELDS.items() if n not in declared["field"]
    ]
    lines += [
        f'event {n} "{n.title()}" {b}' for n, b in EVENTS.items() if n not in declared["event"]
    ]
    informed = sorted((set(ROLES) | declared["role"]) - {"lead"})
    lines += ['phase kickoff "Kick-off"', "  owner lead", f"  informed {', '.join(informed)}"]
    entries = [f for f in flow_order if f not in _track_phases(fragment)] or ["done"]
    lines += [f"  handoff to {t} if risk is high" for t in TARGETS + ENDS + tuple(entries[1:])]
    lines.append(f"  handoff to {entries[0]}")
    lines += head
    first = len(lines) + 1
    lines += fragment.rstrip("\n").splitlines()
    last = len(lines)
    lines += tail
    for target in TARGETS:
        if target not in declared["flow"]:
            lines += [f'phase {target} "{target.title()}"', "  owner lead", "  handoff to done"]
    for end in ENDS:
        if end not in declared["flow"]:
            lines += [f'phase {end} "{end.title()}"', "  owner lead", "  end"]
    return Wrapped("\n".join(lines) + "\n", first, last)


def _track_phases(fragment: str) -> set[str]:
    """Phases that belong to a parallel track: started by `track` or ending in `join`."""
    tracked = set(re.findall(r"^\s+track\s+(\S+)", fragment, re.MULTILINE))
    for block in re.split(r"^(?=\S)", fragment, flags=re.MULTILINE):
        match = _DECLARATION.match(block)
        if match and re.search(r"^\s+handoff to join\b", block, re.MULTILINE):
            tracked.add(match.group(2))
    return tracked


def _phase_around(fragment: str) -> tuple[list[str], list[str]]:
    """The lines before and after a one-phase fragment that make it a valid phase."""
    statement = Block(0, fragment).first_statement
    pad = statement[: len(statement) - len(statement.lstrip())]
    head = ['phase step "Step"']
    if not re.search(r"^\s+owner\s", fragment, re.MULTILINE):
        head.append(f"{pad}owner lead")
    tail: list[str] = []
    has_route = bool(_ROUTE.search(fragment))
    if "approval by" in fragment:
        for event in ("approve", "reject"):
            if not re.search(rf"^\s+on {event} ", fragment, re.MULTILINE):
                tail.append(f"{pad}on {event} go to done")
        has_route = True
    if not has_route and not re.search(r"^\s+end\s*$", fragment, re.MULTILINE):
        tail.append(f"{pad}handoff to done")
    return head, tail


def _shown(diagnostics: list[Diagnostic], text: str) -> list[str]:
    lines = text.splitlines()
    return [
        f"{d.span.line}: {d.severity}[{d.code}] {d.message}  | {lines[d.span.line - 1].strip()}"
        if 0 < d.span.line <= len(lines)
        else f"{d.severity}[{d.code}] {d.message}"
        for d in diagnostics
    ]


BLOCKS = sop_blocks(DOC.read_text("utf-8"))


def test_the_document_has_examples_of_both_kinds() -> None:
    assert sum(b.is_complete for b in BLOCKS) >= 3
    assert sum(not b.is_complete for b in BLOCKS) >= 10


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.is_complete], ids=lambda b: f"line{b.line}"
)
def test_complete_example_checks_clean(block: Block) -> None:
    name = str(SOPS / f"docs-example-{block.line}.sop")
    diagnostics = opsflow.check_text(block.text, name)
    assert _shown(diagnostics, block.text) == []
    opsflow.loads(block.text, name)


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if not b.is_complete], ids=lambda b: f"line{b.line}"
)
def test_fragment_checks_clean_in_the_skeleton(block: Block) -> None:
    wrapped = wrap_fragment(block.text)
    diagnostics = opsflow.check_text(wrapped.text, "docs-fragment.sop")
    errors = [d for d in diagnostics if d.is_error]
    own_warnings = [
        d for d in diagnostics if not d.is_error and wrapped.first <= d.span.line <= wrapped.last
    ]
    assert _shown(errors + own_warnings, wrapped.text) == [], wrapped.text


def test_the_checks_heading_is_there() -> None:
    text = DOC.read_text("utf-8")
    assert "\n## Checks\n" in text
    assert "opsflow check" in text.split("\n## Checks\n", 1)[1]


# ---- the harness itself can fail ---------------------------------------------------


def test_a_broken_complete_example_is_reported() -> None:
    doc = '```sop\nsop x "X"\n  owner nobody\nphase a "A"\n  owner ghost\n  end\n```\n'
    (block,) = sop_blocks(doc)
    assert block.is_complete and block.line == 2
    codes = {d.code for d in opsflow.check_text(block.text, "x.sop")}
    assert "E210" in codes


@pytest.mark.parametrize(
    ("fragment", "code"),
    [
        ("  approval by client\n    quorum 0\n", "E242"),
        ("  owner ghost\n", "E210"),
        ("  handoff to nowhere\n", "E211"),
        ('phase lonely "Lonely"\n  owner lead\n  handoff to draft\n  handof to done\n', "E001"),
        ("  handoff to draft if risk is extreme\n  handoff to done\n", "E250"),
    ],
)
def test_a_broken_fragment_is_reported(fragment: str, code: str) -> None:
    wrapped = wrap_fragment(fragment)
    codes = {d.code for d in opsflow.check_text(wrapped.text, "f.sop") if d.is_error}
    assert code in codes


def test_a_fragment_warning_on_its_own_lines_is_caught() -> None:
    wrapped = wrap_fragment("  handoff to draft if budget > 10\n")
    warnings = [d for d in opsflow.check_text(wrapped.text, "f.sop") if d.code == "W301"]
    assert warnings and all(wrapped.first <= d.span.line <= wrapped.last for d in warnings)
    assert wrapped.text.splitlines()[wrapped.first - 1] == "  handoff to draft if budget > 10"
