"""Stage 2: the checker — named rules over the model, each with a stable code.

Every rule is a generator registered with :func:`rule`; it reports *every*
offender it finds, as a :class:`~opsflow.errors.Diagnostic` pointing at the
source. :func:`run_checks` runs them all and returns the diagnostics sorted
by position. Rules never raise for a user's mistake and never stop at the
first problem. Codes are stable: ``E2xx`` are errors, ``W3xx`` warnings
(``E0xx``/``E1xx`` come from reading and parsing, see :mod:`opsflow.lang.parser`
and :mod:`opsflow.lang.loader`).

This module does not parse, run or render anything.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from ..errors import Diagnostic, Severity
from . import coverage
from . import model as m

__all__ = ["CODES", "RULES", "Rule", "run_checks"]


@dataclass(frozen=True)
class Rule:
    """A named check: its code, severity, one-line summary and function."""

    code: str
    name: str
    severity: Severity
    summary: str
    func: Callable[[Context], Iterable[Diagnostic]]


RULES: list[Rule] = []

#: codes reported by the reader and parser, listed with the rules for reference
CODES: dict[str, str] = {
    "E001": "syntax error: the text is not in the .sop language",
    "E002": "a date that does not exist (like 2027-02-30)",
    "E100": "a path that is missing, or a folder without .sop files",
    "E101": "a file that is not UTF-8 text, or is too large",
    "E102": "an include that cannot be read, or includes itself",
    "E103": "an included file that has phases (it may only declare roles, fields, events)",
}


def rule(code: str, name: str, summary: str) -> Callable[
    [Callable[[Context], Iterable[Diagnostic]]], Callable[[Context], Iterable[Diagnostic]]
]:
    """Register a check. Codes starting with ``W`` are warnings."""

    def register(
        func: Callable[[Context], Iterable[Diagnostic]],
    ) -> Callable[[Context], Iterable[Diagnostic]]:
        severity: Severity = "warning" if code.startswith("W") else "error"
        RULES.append(Rule(code, name, severity, summary, func))
        CODES[code] = summary
        return func

    return register


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def _names(items: Iterable[str]) -> str:
    quoted = [f"`{i}`" for i in items]
    if not quoted:
        return "none"
    if len(quoted) <= 6:
        return ", ".join(quoted)
    return ", ".join(quoted[:6]) + f" and {len(quoted) - 6} more"


class Context:
    """What every rule needs: the SOP and lookups built once."""

    def __init__(self, sop: m.Sop) -> None:
        self.sop = sop
        self.roles = {r.id: r for r in sop.roles}
        self.fields = {f.id: f for f in sop.fields}
        self.events = {e.id: e for e in sop.events}
        self.phases = {p.id: p for p in sop.phases}
        self.parallels = {p.id: p for p in sop.parallels}

    def diag(self, code: str, message: str, span: m.Span, hint: str = "") -> Diagnostic:
        severity: Severity = "warning" if code.startswith("W") else "error"
        return Diagnostic(code, severity, message, span, hint)

    @property
    def nodes(self) -> set[str]:
        """Every id a route may target: phases and parallel blocks."""
        return set(self.phases) | set(self.parallels)

    @cached_property
    def track_of(self) -> dict[str, str]:
        return self.sop.track_of()

    @cached_property
    def tracks(self) -> dict[str, frozenset[tuple[str, int]]]:
        """Phase → every track (block id, index) whose start reaches it (see the model)."""
        found: dict[str, set[tuple[str, int]]] = defaultdict(set)
        for key, members in self.sop.track_members().items():
            for pid in members:
                found[pid].add(key)
        return {pid: frozenset(keys) for pid, keys in found.items()}

    @cached_property
    def outside(self) -> set[str]:
        """Phases of the flow outside every track.

        Reached from the start (unless it is itself in a track, which E273
        reports) and from each block's ``then``, following routes; a route to
        a block continues at its ``then``; a route into a track phase is not
        followed (E273 reports it).
        """
        start = [] if self.sop.start in self.tracks else [self.sop.start]
        seeds = start + [b.then.name for b in self.sop.parallels if b.then]

        def step(node: str) -> Iterator[str]:
            block = self.parallels.get(node)
            if block is not None:
                if block.then is not None:
                    yield block.then.name
                return
            phase = self.phases.get(node)
            for route in phase.routes if phase is not None else ():
                target = route.target.name
                if target in self.parallels or (target in self.phases
                                                and target not in self.tracks):
                    yield target

        starts = [n for n in seeds if n in self.parallels or n in self.phases]
        return {n for n in _reach(starts, step) if n in self.phases}

    @cached_property
    def edges(self) -> dict[str, list[str]]:
        """The flow graph: node → nodes it can lead to (``join`` → the block's ``then``)."""
        graph: dict[str, list[str]] = defaultdict(list)
        for phase in self.sop.phases:
            for route in phase.routes:
                target = route.target.name
                if target == m.JOIN:
                    block = self.parallels.get(self.track_of.get(phase.id, ""))
                    if block is not None and block.then is not None:
                        graph[phase.id].append(block.then.name)
                elif target in self.phases or target in self.parallels:
                    graph[phase.id].append(target)
        for block in self.sop.parallels:
            graph[block.id].extend(t.name for t in block.tracks if t.name in self.phases)
        return graph

    def role_refs(self) -> Iterator[tuple[m.Ref, str]]:
        """Every reference to a role, with where it is used (for messages)."""
        sop = self.sop
        if sop.owner is not None:
            yield sop.owner, "the SOP owner"
        for event in sop.events:
            for ref in event.by:
                yield ref, f"event `{event.id}`"
        for fld in sop.fields:
            for ref in fld.set_by:
                yield ref, f"field `{fld.id}`"
        for phase in sop.phases:
            where = f"phase `{phase.id}`"
            for ref in phase.owners:
                yield ref, where
            for ref in (*phase.accountable, *phase.consulted, *phase.informed):
                yield ref, where
            if phase.approval is not None:
                for ref in (*phase.approval.by, *phase.approval.not_by):
                    yield ref, where
            for milestone in phase.milestones:
                yield milestone.owner, f"milestone `{milestone.title}`"


def _reach(starts: Iterable[str], step: Callable[[str], Iterable[str]]) -> set[str]:
    """Every node reachable from ``starts`` (included) following ``step``."""
    seen = set(starts)
    todo = list(seen)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def run_checks(sop: m.Sop) -> list[Diagnostic]:
    """Run every rule over ``sop``; all diagnostics, sorted by position."""
    ctx = Context(sop)
    found: list[Diagnostic] = []
    for check in RULES:
        found.extend(check.func(ctx))
    return sorted(found, key=Diagnostic.sort_key)


# ---- structure ----------------------------------------------------------------


@rule("E201", "duplicate-id", "two declarations of the same kind share an id")
def check_duplicates(ctx: Context) -> Iterator[Diagnostic]:
    sop = ctx.sop
    groups: list[tuple[str, Iterable[tuple[str, m.Span]]]] = [
        ("role", ((r.id, r.span) for r in sop.roles)),
        ("field", ((f.id, f.span) for f in sop.fields)),
        ("event", ((e.id, e.span) for e in sop.events)),
        (
            "phase",
            [(p.id, p.span) for p in sop.phases] + [(p.id, p.span) for p in sop.parallels],
        ),
    ]
    for kind, items in groups:
        seen: dict[str, m.Span] = {}
        for ident, span in items:
            if ident in seen:
                first = seen[ident]
                yield ctx.diag(
                    "E201",
                    f"{kind} `{ident}` is declared twice (first at line {first.line}"
                    + (f" of {first.file}" if first.file != span.file else "")
                    + ")",
                    span,
                    f"give this {kind} another id, or remove one of the two",
                )
            else:
                seen[ident] = span
    for phase in sop.phases:
        if phase.id in m.BUILTIN_EVENTS or phase.id == m.JOIN:
            yield ctx.diag("E201", f"`{phase.id}` is a reserved word and cannot name a phase",
                           phase.span, "choose another id for this phase")


@rule("E207", "reserved-event",
      "an event takes a name the engine uses for its own moves or records")
def check_reserved_events(ctx: Context) -> Iterator[Diagnostic]:
    for event in ctx.sop.events:
        if event.id in m.BUILTIN_EVENTS:
            yield ctx.diag("E207", f"`{event.id}` is a built-in event and cannot be declared",
                           event.span, f"use `on {event.id}` without declaring it, or give "
                           f"this event another id")
        elif event.id in m.ENGINE_RECORDS:
            yield ctx.diag("E207", f"`{event.id}` is a name the engine uses in a run's history "
                           "and cannot name an event", event.span,
                           f"choose another id for this event, e.g. `{event.id}-request`")


@rule("E202", "one-header", "a file has more than one `sop` header")
def check_one_header(ctx: Context) -> Iterator[Diagnostic]:
    for span in ctx.sop.extra_headers:
        yield ctx.diag("E202", "a file may have only one `sop` header", span,
                       "put each procedure in a file of its own")


@rule("E203", "needs-header", "a file with phases has no `sop` header")
def check_header(ctx: Context) -> Iterator[Diagnostic]:
    sop = ctx.sop
    if sop.is_library and (sop.phases or sop.parallels):
        first: m.Phase | m.Parallel = sop.phases[0] if sop.phases else sop.parallels[0]
        yield ctx.diag(
            "E203",
            "this file has phases but no `sop` header",
            first.span,
            'start the file with a header like: sop my-procedure "My procedure"',
        )


@rule("E206", "empty-file", "a file with nothing in it")
def check_empty(ctx: Context) -> Iterator[Diagnostic]:
    sop = ctx.sop
    declared = sop.roles or sop.fields or sop.events or sop.includes or sop.phases
    if sop.is_library and not (declared or sop.parallels):
        yield ctx.diag("E206", "this file is empty", m.Span(sop.path, 1, 1, 1, 1),
                       'start it with a header like: sop my-procedure "My procedure"')


@rule("E204", "needs-phases", "an SOP has no phases")
def check_has_phases(ctx: Context) -> Iterator[Diagnostic]:
    sop = ctx.sop
    if not sop.is_library and not sop.phases:
        yield ctx.diag("E204", f"SOP `{sop.id}` has no phases", sop.span,
                       'add at least one `phase ID "Title"` with an owner')


@rule("E205", "repeated-statement",
      "a single-valued statement is written twice in a phase or a field")
def check_repeated(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        for keyword, span in phase.repeated:
            yield ctx.diag("E205", f"phase `{phase.id}` has more than one `{keyword}`", span,
                           f"keep one `{keyword}` per phase")
    for fld in ctx.sop.fields:
        for keyword, span in fld.repeated:
            yield ctx.diag("E205", f"field `{fld.id}` has more than one `{keyword}`", span,
                           f"keep one `{keyword}` per field (list several names on it "
                           "with commas)" if keyword != "required" else
                           "keep one `required` per field")


# ---- references ---------------------------------------------------------------


@rule("E210", "unknown-role", "a role is used that is not declared")
def check_unknown_roles(ctx: Context) -> Iterator[Diagnostic]:
    for ref, where in ctx.role_refs():
        if ref.name not in ctx.roles:
            hint = _did_you_mean(ref.name, ctx.roles) or (
                f'declare it: role {ref.name} "Title"' if ctx.roles else
                f'declare the role first: role {ref.name} "Title"'
            )
            yield ctx.diag("E210", f"unknown role `{ref.name}` in {where}", ref.span, hint)


@rule("E211", "unknown-phase", "a route, track or field names a phase that does not exist")
def check_unknown_phases(ctx: Context) -> Iterator[Diagnostic]:
    known = ctx.nodes
    for phase in ctx.sop.phases:
        for route in phase.routes:
            target = route.target
            if target.name == m.JOIN or target.name in known:
                continue
            yield ctx.diag("E211", f"unknown phase `{target.name}` in phase `{phase.id}`",
                           target.span, _did_you_mean(target.name, known)
                           or "declare that phase, or route to one that exists")
    for block in ctx.sop.parallels:
        refs = list(block.tracks) + ([block.then] if block.then is not None else [])
        for ref in refs:
            if ref.name not in known:
                yield ctx.diag("E211", f"unknown phase `{ref.name}` in parallel `{block.id}`",
                               ref.span, _did_you_mean(ref.name, known)
                               or "declare that phase, or name one that exists")
    for fld in ctx.sop.fields:
        for ref in fld.required_before:
            if ref.name not in known:
                yield ctx.diag("E211", f"unknown phase `{ref.name}` in field `{fld.id}`",
                               ref.span, _did_you_mean(ref.name, known)
                               or "declare that phase, or name one that exists")


@rule("E212", "unknown-field", "a condition uses a field that is not declared")
def check_unknown_fields(ctx: Context) -> Iterator[Diagnostic]:
    for phase, leaf in _condition_leaves(ctx):
        if leaf.field.name not in ctx.fields:
            yield ctx.diag(
                "E212",
                f"unknown field `{leaf.field.name}` in a condition of phase `{phase.id}`",
                leaf.field.span,
                _did_you_mean(leaf.field.name, ctx.fields)
                or f'declare it: field {leaf.field.name} "Title" number',
            )


@rule("E213", "unknown-event", "a route names an event that is not declared")
def check_unknown_events(ctx: Context) -> Iterator[Diagnostic]:
    known = list(m.BUILTIN_EVENTS) + list(ctx.events)
    for phase in ctx.sop.phases:
        for route in phase.routes:
            name = route.event.name
            if name not in known:
                yield ctx.diag(
                    "E213",
                    f"unknown event `{name}` in phase `{phase.id}`",
                    route.event.span,
                    _did_you_mean(name, known) or f'declare it: event {name} "Title"',
                )


# ---- phases -------------------------------------------------------------------


@rule("E220", "phase-owner", "a phase must have exactly one owner")
def check_owner(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if not phase.owners:
            yield ctx.diag("E220", f"phase `{phase.id}` has no owner", phase.span,
                           "add a line `owner ROLE` under the phase: the role that does the work")
        for extra in phase.owners[1:]:
            yield ctx.diag("E220", f"phase `{phase.id}` has more than one owner", extra.span,
                           "a phase has exactly one owner; list the others as `consulted`")


@rule("E230", "unreachable-phase", "a phase no route leads to")
def check_unreachable(ctx: Context) -> Iterator[Diagnostic]:
    start = ctx.sop.start
    if not start:
        return
    seen = _reach([start], lambda node: ctx.edges.get(node, ()))
    nodes: list[m.Phase | m.Parallel] = [*ctx.sop.phases, *ctx.sop.parallels]
    for node in nodes:
        if node.id not in seen:
            yield ctx.diag(
                "E230",
                f"{'parallel' if node.id in ctx.parallels else 'phase'} `{node.id}` can never "
                f"be reached from the start (`{start}`)",
                node.span,
                f"route to it from another phase (`handoff to {node.id}`), or remove it",
            )


@rule("E231", "no-way-to-end", "a phase from which no end phase can be reached")
def check_reaches_end(ctx: Context) -> Iterator[Diagnostic]:
    ends = [p.id for p in ctx.sop.phases if p.end]
    if not ends:
        return  # reported by E233
    reverse: dict[str, list[str]] = defaultdict(list)
    for src, targets in ctx.edges.items():
        for dst in targets:
            reverse[dst].append(src)
    for block in ctx.sop.parallels:
        if block.then is not None:
            reverse[block.then.name].append(block.id)
    alive = _reach(ends, lambda node: reverse.get(node, ()))
    for phase in ctx.sop.phases:
        if phase.id in alive:
            continue
        if not phase.routes:
            yield ctx.diag(
                "E231",
                f"phase `{phase.id}` has no way out: no route leaves it and it is not an `end`",
                phase.span,
                "add `handoff to PHASE`, or a line `end` if the procedure finishes here",
            )
        else:
            yield ctx.diag(
                "E231",
                f"no end phase can be reached from phase `{phase.id}`",
                phase.span,
                "make at least one route from here lead to a phase marked `end`",
            )


@rule("E232", "end-with-routes", "an end phase has outgoing routes")
def check_end_routes(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if phase.end and phase.routes:
            yield ctx.diag(
                "E232",
                f"end phase `{phase.id}` has routes leaving it",
                phase.routes[0].span,
                "an `end` phase finishes the run: remove its routes, or remove `end`",
            )


@rule("E233", "no-end", "an SOP has no end phase")
def check_has_end(ctx: Context) -> Iterator[Diagnostic]:
    sop = ctx.sop
    if sop.phases and not any(p.end for p in sop.phases):
        yield ctx.diag("E233", f"SOP `{sop.id or sop.path}` has no end phase", sop.span,
                       "mark the last phase of each outcome with a line `end`")


# ---- approvals ----------------------------------------------------------------


@rule("E240", "approval-routes", "an approval phase lacks an approve or a reject route")
def check_approval_routes(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if phase.approval is None or phase.end:
            continue
        events = set(phase.events)
        for needed in ("approve", "reject"):
            if needed not in events:
                yield ctx.diag(
                    "E240",
                    f"approval phase `{phase.id}` has no `on {needed}` route",
                    phase.approval.span,
                    f"add `on {needed} go to PHASE` so the run knows where to go",
                )


_VOTE_EVENTS = ("approve", "reject", "no-quorum")


@rule("E241", "vote-without-approval",
      "`on approve`, `on reject` or `on no-quorum` in a phase without approval")
def check_vote_routes(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if phase.approval is not None:
            continue
        for route in phase.routes:
            if route.event.name in _VOTE_EVENTS:
                yield ctx.diag(
                    "E241",
                    f"phase `{phase.id}` has `on {route.event.name}` but no approval",
                    route.event.span,
                    "add `approval by ROLE` to the phase, or use `handoff to PHASE`",
                )


@rule("E242", "impossible-quorum", "a quorum that can never be met")
def check_quorum(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        approval = phase.approval
        if approval is None:
            continue
        q = approval.quorum
        if q.kind == "count" and q.count == 0:
            yield ctx.diag("E242", f"quorum 0 in phase `{phase.id}` means nobody needs to approve",
                           q.span, "use `quorum 1` or more, or remove the approval")
        if q.kind == "fraction" and not (0 < q.numerator <= q.denominator):
            yield ctx.diag(
                "E242",
                f"quorum {q} in phase `{phase.id}` can never be met",
                q.span,
                "write a fraction between 0 and 1, like 2/3",
            )


@rule("E243", "self-excluding-approval", "`not by` names a role that approves")
def check_not_by(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        approval = phase.approval
        if approval is None:
            continue
        approvers = {r.name for r in approval.by}
        for ref in approval.not_by:
            if ref.name in approvers:
                yield ctx.diag(
                    "E243",
                    f"`not by {ref.name}` in phase `{phase.id}` excludes a role that approves",
                    ref.span,
                    "name the role whose holders may not vote (e.g. the author of the work)",
                )


@rule("E244", "repeated-policy", "a single-valued policy line is written twice in one approval")
def check_repeated_policy(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if phase.approval is None:
            continue
        for keyword, span in phase.approval.repeated:
            yield ctx.diag(
                "E244",
                f"the approval of phase `{phase.id}` has more than one `{keyword}` line",
                span,
                f"keep the one `{keyword}` line you mean; a second one does not replace the first",
            )


@rule("W343", "reopen-without-fields", "`reopen on change` where no route reads a field")
def check_reopen(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        approval = phase.approval
        if approval is None or not approval.reopen_on_change:
            continue
        if not any(r.condition is not None for r in phase.routes):
            yield ctx.diag(
                "W343",
                f"`reopen on change` in phase `{phase.id}` never takes effect: no route of "
                "the phase has a condition, so no field change can reopen the vote",
                approval.span,
                "remove `reopen on change`, or give a route of this phase an `if` on the "
                "field whose change should reopen the vote",
            )


# ---- conditions ---------------------------------------------------------------

_Leaf = m.Compare | m.Member


_leaves = coverage.leaves


def _condition_leaves(ctx: Context) -> Iterator[tuple[m.Phase, _Leaf]]:
    for phase in ctx.sop.phases:
        for route in phase.routes:
            if route.condition is not None:
                for leaf in _leaves(route.condition):
                    yield phase, leaf


_KIND_WORDS = {"number": "a number", "text": "a quoted text", "date": "a date", "word": "a word"}


def _value_problem(field: m.Field, value: m.Value) -> str | None:
    kind = field.type.kind
    if kind == "number" and value.kind != "number":
        return f"field `{field.id}` is a number but is compared with {_KIND_WORDS[value.kind]}"
    if kind == "date" and value.kind != "date":
        return f"field `{field.id}` is a date but is compared with {_KIND_WORDS[value.kind]}"
    if kind == "text" and value.kind not in ("text", "word"):
        return f"field `{field.id}` is text but is compared with {_KIND_WORDS[value.kind]}"
    if kind == "choice":
        if value.kind not in ("word", "text") or str(value.value) not in field.type.choices:
            return (
                f"`{value}` is not one of the choices of field `{field.id}` "
                f"({_names(field.type.choices)})"
            )
    return None


@rule("E250", "condition-type", "a condition compares a field with a value of the wrong type")
def check_condition_types(ctx: Context) -> Iterator[Diagnostic]:
    for _phase, leaf in _condition_leaves(ctx):
        field = ctx.fields.get(leaf.field.name)
        if field is None:
            continue
        values = leaf.values if isinstance(leaf, m.Member) else (leaf.value,)
        for value in values:
            problem = _value_problem(field, value)
            if problem:
                hint = _did_you_mean(str(value.value), field.type.choices) if (
                    field.type.kind == "choice") else ""
                yield ctx.diag("E250", problem, value.span, hint or _type_hint(field))
        if (
            isinstance(leaf, m.Compare)
            and leaf.op in ("<", "<=", ">", ">=")
            and field.type.kind in ("text", "choice")
        ):
            yield ctx.diag(
                "E250",
                f"`{leaf.op}` compares order, but field `{field.id}` is {field.type.kind}",
                leaf.span,
                "use `is`, `is not` or `is one of` for text and choices",
            )


def _type_hint(field: m.Field) -> str:
    return {
        "number": "compare a number field with a number, like 10000",
        "date": "compare a date field with a date, like 2027-03-01",
        "text": 'compare a text field with a quoted text, like "EMEA"',
        "choice": f"use one of: {', '.join(field.type.choices)}",
    }[field.type.kind]


def _stalls(phase: m.Phase, event: str) -> bool:
    """Whether a vote outcome whose routes all have a condition could leave the run
    stuck: the votes decided, no route holds, and the fields cannot change (they are
    frozen by the vote unless it says ``reopen on change``)."""
    return (event in _VOTE_EVENTS and phase.approval is not None
            and not phase.approval.reopen_on_change)


def _routes_by_event(phase: m.Phase) -> dict[str, list[m.Route]]:
    by_event: dict[str, list[m.Route]] = defaultdict(list)
    for route in phase.routes:
        by_event[route.event.name].append(route)
    return by_event


def _case(values: dict[str, object], fields: dict[str, m.Field]) -> str:
    def one(name: str, value: object) -> str:
        field = fields.get(name)
        if field is not None and field.type.kind == "text" and isinstance(value, str):
            return f'{name} is "{value}"'
        return f"{name} is {coverage.shown_value(value)}"

    return " and ".join(one(name, value) for name, value in values.items())


@rule("E245", "vote-outcome-can-stall",
      "the conditions of a vote outcome's routes leave a case uncovered and the vote "
      "does not reopen")
def check_vote_fallback(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if phase.approval is None or phase.approval.reopen_on_change or not any(
                r.condition is not None for r in phase.routes):
            continue  # only a vote that cannot reopen, with a conditional route, can stall
        for event, routes in _routes_by_event(phase).items():
            if not _stalls(phase, event) or any(r.condition is None for r in routes):
                continue
            case = coverage.uncovered([r.condition for r in routes if r.condition], ctx.fields)
            if case is None:
                continue  # the conditions cover every case
            yield ctx.diag(
                "E245",
                f"no `{event}` route of phase `{phase.id}` applies when "
                f"{_case(case, ctx.fields)}; the votes would decide `{event}` and the run "
                "would be stuck, since the fields the vote read cannot change under it",
                routes[-1].span,
                f"add a last `on {event} go to PHASE` without `if` for every other case, "
                "or say `reopen on change` so that changing a field sends the run back to a "
                "new vote",
            )


@rule("W301", "no-fallback", "conditional routes with no unconditional fallback")
def check_fallback(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        for event, routes in _routes_by_event(phase).items():
            if _stalls(phase, event):
                continue  # E245, which knows whether the conditions cover every case
            if all(r.condition is not None for r in routes):
                line = "handoff to" if event == "handoff" else f"on {event} go to"
                yield ctx.diag(
                    "W301",
                    f"every `{event}` route of phase `{phase.id}` has a condition; when none "
                    f"holds, `{event}` is refused until a field changes",
                    routes[-1].span,
                    "make sure the conditions cover every case you expect; a last "
                    f"`{line} PHASE` without `if` would instead send every other case "
                    "there without asking, so add one only if that is what should happen",
                )


# ---- RACI ---------------------------------------------------------------------


@rule("E260", "one-accountable", "a phase has more than one accountable role")
def check_accountable(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if len(phase.accountable) > 1:
            yield ctx.diag(
                "E260",
                f"phase `{phase.id}` has {len(phase.accountable)} accountable roles "
                f"({_names(r.name for r in phase.accountable)})",
                phase.accountable[1].span,
                "RACI allows one accountable role per phase; list the others as `consulted`",
            )


@rule("E261", "owner-in-ci", "the owner is also listed as consulted or informed")
def check_owner_ci(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if phase.owner is None:
            continue
        for letter, refs in (("consulted", phase.consulted), ("informed", phase.informed)):
            for ref in refs:
                if ref.name == phase.owner.name:
                    yield ctx.diag(
                        "E261",
                        f"`{ref.name}` owns phase `{phase.id}` and is also listed as {letter}",
                        ref.span,
                        f"the owner does the work; remove `{ref.name}` from `{letter}`",
                    )


@rule("W302", "unused-role", "a role is declared and never used")
def check_unused_roles(ctx: Context) -> Iterator[Diagnostic]:
    if ctx.sop.is_library:
        return
    used = {ref.name for ref, _ in ctx.role_refs()}
    own = ctx.sop.path
    for role in ctx.sop.roles:
        if role.id not in used and role.span.file == own:
            yield ctx.diag("W302", f"role `{role.id}` is declared but never used", role.span,
                           "give it a part in a phase, or remove it")


# ---- parallel tracks ----------------------------------------------------------


@rule("E270", "track-joins", "a parallel track never reaches `join`")
def check_tracks_join(ctx: Context) -> Iterator[Diagnostic]:
    for block in ctx.sop.parallels:
        for track in block.tracks:
            if track.name not in ctx.phases:
                continue
            inside = _reach([track.name], lambda pid: (
                r.target.name for r in ctx.phases[pid].routes if r.target.name in ctx.phases))
            joined = any(r.target.name == m.JOIN for pid in inside for r in ctx.phases[pid].routes)
            if not joined:
                yield ctx.diag(
                    "E270",
                    f"track `{track.name}` of parallel `{block.id}` never joins",
                    track.span,
                    "end the track's last phase with `handoff to join`",
                )


@rule("E271", "join-outside-track", "`join` used by a phase that is not in a parallel track")
def check_join_outside(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        if phase.id in ctx.track_of:
            continue
        for route in phase.routes:
            if route.target.name == m.JOIN:
                yield ctx.diag(
                    "E271",
                    f"phase `{phase.id}` routes to `join` but is not in a parallel track",
                    route.target.span,
                    "only phases inside a `parallel` block's tracks can hand off to `join`",
                )


@rule("E273", "track-entered-from-outside", "a route leads into a parallel track from outside")
def check_track_entry(ctx: Context) -> Iterator[Diagnostic]:
    for phase in ctx.sop.phases:
        inside = ctx.track_of.get(phase.id)
        for route in phase.routes:
            target = route.target.name
            block = ctx.track_of.get(target)
            if block is None or block == inside or target in ctx.outside:
                continue  # a track route out to the outside flow is E274's
            yield ctx.diag(
                "E273",
                f"phase `{phase.id}` routes into `{target}`, which is inside a track of "
                f"parallel `{block}`",
                route.target.span,
                f"route to the parallel block `{block}` itself, so that every track starts",
            )
    start = ctx.sop.start
    if start in ctx.track_of:
        yield ctx.diag("E273", f"the run starts in `{start}`, which is inside a track of "
                       f"parallel `{ctx.track_of[start]}`", ctx.phases[start].span,
                       "put the parallel block first, or a phase before it")


@rule("E272", "parallel-shape", "a parallel block needs two tracks and a `then`")
def check_parallel_shape(ctx: Context) -> Iterator[Diagnostic]:
    for block in ctx.sop.parallels:
        if len(block.tracks) < 2:
            yield ctx.diag("E272", f"parallel `{block.id}` has {len(block.tracks)} track"
                           f"{'' if len(block.tracks) == 1 else 's'}; it needs at least two",
                           block.span, "add `track PHASE` lines, or use a plain handoff")
        if block.then is None:
            yield ctx.diag("E272", f"parallel `{block.id}` has no `then go to PHASE`",
                           block.span, "say where the run goes once every track has joined")


@rule("W305", "sop-owner", "an SOP without an owner")
def check_sop_owner(ctx: Context) -> Iterator[Diagnostic]:
    sop = ctx.sop
    if not sop.is_library and sop.owner is None:
        yield ctx.diag("W305", f"SOP `{sop.id}` has no owner", sop.span,
                       "add `owner ROLE` under the `sop` line: who keeps this procedure current")


def _track_name(ctx: Context, key: tuple[str, int]) -> str:
    block, index = key
    return f"track `{ctx.parallels[block].tracks[index].name}` of parallel `{block}`"


def _track_routes(ctx: Context) -> Iterator[tuple[m.Phase, frozenset[tuple[str, int]], m.Route]]:
    """Routes leaving phases that are inside tracks only (not also on the outside flow)."""
    for phase in ctx.sop.phases:
        keys = ctx.tracks.get(phase.id)
        if keys and phase.id not in ctx.outside:
            for route in phase.routes:
                yield phase, keys, route


@rule("E274", "route-leaves-track", "a route from a track phase to a phase outside its track")
def check_track_exit(ctx: Context) -> Iterator[Diagnostic]:
    starts = {b.tracks[i].name: (b.id, i) for b in ctx.sop.parallels
              for i in range(len(b.tracks))}
    thens = {b.id: b.then.name for b in ctx.sop.parallels if b.then is not None}
    for phase, keys, route in _track_routes(ctx):
        target = ctx.phases.get(route.target.name)
        if target is None or target.end:
            continue
        where = _track_name(ctx, min(keys))
        start = starts.get(target.id)
        if target.id in thens.values() and any(thens.get(b) == target.id for b, _ in keys):
            problem = f"the phase after parallel `{min(keys)[0]}`"
            hint = ("end the track with `handoff to join`; the run goes on to "
                    f"`{target.id}` once every track has joined")
        elif start is not None and start not in keys:
            problem = f"the start of {_track_name(ctx, start)}"
            hint = "a track cannot start or join another; end it with `handoff to join`"
        elif target.id in ctx.outside:
            problem = "a phase outside the parallel block"
            hint = ("end the track with `handoff to join`, or route to an `end` phase "
                    "if the whole run should finish here")
        else:
            continue
        yield ctx.diag(
            "E274",
            f"phase `{phase.id}` ({where}) routes to `{target.id}`, {problem}",
            route.target.span,
            hint,
        )


@rule("E275", "track-reenters-block", "a route from inside a track to its own parallel block")
def check_track_reentry(ctx: Context) -> Iterator[Diagnostic]:
    for phase, keys, route in _track_routes(ctx):
        target = route.target.name
        if any(block == target for block, _ in keys):
            yield ctx.diag(
                "E275",
                f"phase `{phase.id}` is inside parallel `{target}` and routes to it again",
                route.target.span,
                "a track cannot restart its own block; loop back to a phase of the same "
                "track, or end the track with `handoff to join`",
            )


@rule("E276", "phase-in-two-tracks", "a phase reachable from two different tracks")
def check_shared_phase(ctx: Context) -> Iterator[Diagnostic]:
    starts = {t.name for b in ctx.sop.parallels for t in b.tracks}
    for phase in ctx.sop.phases:
        keys = ctx.tracks.get(phase.id, frozenset())
        if len(keys) < 2 or phase.id in ctx.outside or phase.id in starts:
            continue  # a track start reached from another track is reported by E274
        entries = [p for p in ctx.sop.phases if p.id in ctx.tracks
                   and any(r.target.name == phase.id for r in p.routes)
                   and not keys <= ctx.tracks[p.id]]
        if not entries:
            continue  # inside a shared stretch; reported where it begins
        yield ctx.diag(
            "E276",
            f"phase `{phase.id}` is reached from {len(keys)} tracks "
            f"({', '.join(_track_name(ctx, k) for k in sorted(keys))})",
            phase.span,
            "each phase belongs to one track: give every track a phase of its own "
            "(two phases may share a title)",
        )
