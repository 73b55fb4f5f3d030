"""Grammar rules → model: the one place where the language becomes dataclasses.

The transformer runs *inside* the LALR parser (Lark's tree-less mode: each
rule's callback is called as soon as the rule is reduced), so no parse tree
is built. Node spans therefore come from tokens: each construct starts with
a named keyword token (``PHASE``, ``HANDOFF``, …) kept by the grammar.

Each grammar rule has a method here that returns either a model node or a
small tagged tuple that the enclosing rule folds in. Statements inside a
block may come in any order; repeated ones are kept so the checker can
report them (for example a second ``owner`` line).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from lark import Token, Transformer

from ..errors import Diagnostic
from . import model as m

_UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
}
_ESCAPE = re.compile(r"\\(.)")


def _unquote(token: Token) -> str:
    return _ESCAPE.sub(r"\1", str(token)[1:-1])


def slug(title: str) -> str:
    """A stable id made from a title: ``"Campaign live"`` → ``campaign-live``."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "milestone"


class SopTransformer(Transformer[Token, m.Sop]):
    """Builds a :class:`~opsflow.lang.model.Sop` from the tree of one file."""

    def __init__(self, filename: str = "<text>", source: str = "") -> None:
        super().__init__()
        self.reset(filename, source)

    def reset(self, filename: str, source: str) -> None:
        """Prepare for the next file (the parser reuses one transformer)."""
        self.filename = filename
        self.source = source
        #: problems found while building (for example an impossible date)
        self.problems: list[Diagnostic] = []

    # ---- spans -----------------------------------------------------------
    def _span(self, first: Token, last: Token | None = None) -> m.Span:
        """From the start of ``first`` to the end of ``last`` (or of ``first``)."""
        last = last if last is not None else first
        return m.Span(
            self.filename,
            first.line or 0,
            first.column or 0,
            last.end_line or 0,
            last.end_column or 0,
        )

    @staticmethod
    def _join(first: m.Span, last: m.Span) -> m.Span:
        return m.Span(first.file, first.line, first.column, last.end_line, last.end_column)

    def _tspan(self, token: Token) -> m.Span:
        return m.Span(
            self.filename,
            token.line or 0,
            token.column or 0,
            token.end_line or 0,
            token.end_column or 0,
        )

    def _ref(self, token: Token) -> m.Ref:
        return m.Ref(str(token), span=self._tspan(token))

    def _date(self, token: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            self.problems.append(
                Diagnostic(
                    "E002",
                    "error",
                    f"`{token}` is not a real date",
                    self._tspan(token),
                    "write a date as YEAR-MONTH-DAY, like 2027-03-01",
                )
            )
            return dt.date.min

    # ---- file ------------------------------------------------------------
    def start(self, items: list[Any]) -> m.Sop:
        header: dict[str, Any] = {}
        roles, fields, events, phases, parallels, includes = [], [], [], [], [], []
        headers = []
        start = ""
        for item in items:
            if item is None:
                continue
            if isinstance(item, tuple) and item[0] == "header":
                headers.append(item)
            elif isinstance(item, m.Role):
                roles.append(item)
            elif isinstance(item, m.Field):
                fields.append(item)
            elif isinstance(item, m.Event):
                events.append(item)
            elif isinstance(item, m.Phase):
                phases.append(item)
                start = start or item.id
            elif isinstance(item, m.Parallel):
                parallels.append(item)
                start = start or item.id
            elif isinstance(item, m.Include):
                includes.append(item)
        if headers:
            header = headers[0][1]
        return m.Sop(
            id=header.get("id", ""),
            title=header.get("title", ""),
            path=self.filename,
            version=header.get("version", ""),
            owner=header.get("owner"),
            description=header.get("description", ""),
            roles=tuple(roles),
            fields=tuple(fields),
            events=tuple(events),
            phases=tuple(phases),
            parallels=tuple(parallels),
            includes=tuple(includes),
            start=start,
            source=self.source,
            span=header.get("span", m.Span(self.filename, 1, 1, 1, 1)),
            extra_headers=tuple(h[1]["span"] for h in headers[1:]),
        )

    def header(self, children: list[Any]) -> tuple[str, dict[str, Any]]:
        keyword, name, title, *stmts = children
        info: dict[str, Any] = {
            "id": str(name),
            "title": _unquote(title),
            "span": self._span(keyword, title),
        }
        docs = []
        for stmt in stmts:
            if stmt is None:
                continue
            kind = stmt[0]
            if kind == "doc":
                docs.append(stmt[1])
            elif kind == "version":
                info["version"] = stmt[1]
            elif kind == "owner":
                info.setdefault("owner", stmt[1])
        info["description"] = "\n".join(docs)
        return ("header", info)

    def version(self, children: list[Token]) -> tuple[str, str]:
        return ("version", str(children[0]))

    def sop_owner(self, children: list[Token]) -> tuple[str, m.Ref]:
        return ("owner", self._ref(children[0]))

    def doc(self, children: list[Token]) -> tuple[str, str]:
        text = str(children[0])[1:]
        if text.startswith(" "):
            text = text[1:]
        return ("doc", text.rstrip())

    @staticmethod
    def _docs(children: list[Any]) -> str:
        return "\n".join(c[1] for c in children if isinstance(c, tuple) and c[0] == "doc")

    # ---- declarations ----------------------------------------------------
    def include(self, children: list[Token]) -> m.Include:
        keyword, path = children
        return m.Include(_unquote(path), span=self._span(keyword, path))

    def role(self, children: list[Any]) -> m.Role:
        keyword, name, title, *rest = children
        span = self._span(keyword, title)
        return m.Role(str(name), _unquote(title), self._docs(rest), span=span)

    def field(self, children: list[Any]) -> m.Field:
        keyword, name, title, ftype, *stmts = children
        span = self._span(keyword, title)
        required = False
        before: list[m.Ref] = []
        set_by: list[m.Ref] = []
        seen: set[str] = set()
        repeated: list[tuple[str, m.Span]] = []
        for stmt in stmts:
            if stmt is None or stmt[0] == "doc":
                continue
            kind, where, value = stmt
            if kind in seen:
                repeated.append((kind, where))
                continue
            seen.add(kind)
            if kind == "required":
                required = True
            elif kind == "required before":
                before.extend(value)
            else:
                set_by.extend(value)
        return m.Field(str(name), _unquote(title), ftype, self._docs(stmts), required,
                       tuple(before), tuple(set_by), tuple(repeated), span=span)

    def required(self, children: list[Token]) -> tuple[str, m.Span, None]:
        return ("required", self._span(children[0]), None)

    def required_before(self, children: list[Any]) -> tuple[str, m.Span, Any]:
        keyword, refs = children
        return ("required before", self._join(self._tspan(keyword), refs[-1].span), refs)

    def set_by(self, children: list[Any]) -> tuple[str, m.Span, Any]:
        keyword, refs = children
        return ("set by", self._join(self._tspan(keyword), refs[-1].span), refs)

    def text_type(self, children: list[Any]) -> m.FieldType:
        return m.FieldType("text")

    def number_type(self, children: list[Any]) -> m.FieldType:
        return m.FieldType("number")

    def date_type(self, children: list[Any]) -> m.FieldType:
        return m.FieldType("date")

    def choice_type(self, children: list[Any]) -> m.FieldType:
        return m.FieldType("choice", tuple(r.name for r in children[0]))

    def event(self, children: list[Any]) -> m.Event:
        keyword, name, title, by, *rest = children
        span = self._span(keyword, title)
        return m.Event(str(name), _unquote(title), tuple(by or ()), self._docs(rest), span=span)

    def name_list(self, children: list[Token]) -> tuple[m.Ref, ...]:
        return tuple(self._ref(t) for t in children)

    # ---- phases ----------------------------------------------------------
    def phase(self, children: list[Any]) -> m.Phase:
        keyword, name, title, *stmts = children
        owners: list[m.Ref] = []
        accountable: list[m.Ref] = []
        consulted: list[m.Ref] = []
        informed: list[m.Ref] = []
        docs: list[str] = []
        criteria: list[m.Criterion] = []
        routes: list[m.Route] = []
        milestones: list[m.Milestone] = []
        due = None
        approval = None
        end = False
        repeated: list[tuple[str, m.Span]] = []
        for stmt in stmts:
            if stmt is None:
                continue
            if isinstance(stmt, m.Route):
                routes.append(stmt)
            elif isinstance(stmt, m.Milestone):
                milestones.append(stmt)
            elif isinstance(stmt, m.Approval):
                if approval is not None:
                    repeated.append(("approval", stmt.span))
                approval = approval or stmt
            else:
                kind, value = stmt
                if kind == "owner":
                    owners.append(value)
                elif kind == "accountable":
                    accountable.extend(value)
                elif kind == "consulted":
                    consulted.extend(value)
                elif kind == "informed":
                    informed.extend(value)
                elif kind == "doc":
                    docs.append(value)
                elif kind == "due":
                    if due is not None:
                        repeated.append(("due", value.span))
                    due = due or value
                elif kind == "checklist":
                    criteria.extend(value)
                elif kind == "end":
                    end = True
        numbered = tuple(
            m.Criterion(i, c.text, span=c.span) for i, c in enumerate(criteria, start=1)
        )
        return m.Phase(
            id=str(name),
            title=_unquote(title),
            owner=owners[0] if owners else None,
            accountable=tuple(accountable),
            consulted=tuple(consulted),
            informed=tuple(informed),
            description="\n".join(docs),
            due=due,
            checklist=numbered,
            approval=approval,
            routes=tuple(routes),
            milestones=tuple(milestones),
            end=end,
            owners=tuple(owners),
            repeated=tuple(repeated),
            span=self._span(keyword, title),
        )

    def owner(self, children: list[Token]) -> tuple[str, m.Ref]:
        return ("owner", self._ref(children[0]))

    def accountable(self, children: list[Any]) -> tuple[str, Any]:
        return ("accountable", children[0])

    def consulted(self, children: list[Any]) -> tuple[str, Any]:
        return ("consulted", children[0])

    def informed(self, children: list[Any]) -> tuple[str, Any]:
        return ("informed", children[0])

    def due(self, children: list[Any]) -> tuple[str, Any]:
        return ("due", children[0])

    def end(self, children: list[Any]) -> tuple[str, bool]:
        return ("end", True)

    def checklist(self, children: list[m.Criterion]) -> tuple[str, Any]:
        return ("checklist", [c for c in children if c is not None])

    def criterion(self, children: list[Token]) -> m.Criterion:
        text = str(children[0])[1:].strip()
        return m.Criterion(0, text, span=self._span(children[0]))

    def duration(self, children: list[Token]) -> m.Duration:
        amount, unit = children
        span = self._span(amount, unit)
        return m.Duration(int(amount), _UNITS[str(unit)], span=span)  # type: ignore[arg-type]

    def business_duration(self, children: list[Token]) -> m.Duration:
        amount, unit = children
        kind: m.DurationUnit = "business_hours" if str(unit).startswith("hour") \
            else "business_days"
        return m.Duration(int(amount), kind, span=self._span(amount, unit))

    # ---- approvals ---------------------------------------------------------
    def approval(self, children: list[Any]) -> m.Approval:
        keyword, by, *stmts = children
        quorum = m.Quorum("count", 1)
        veto = False
        not_by: list[m.Ref] = []
        window = None
        reopen = False
        seen: set[str] = set()
        repeated: list[tuple[str, m.Span]] = []
        for kind, where, value in (s for s in stmts if s is not None):
            if kind == "not by":
                not_by.extend(value)
                continue
            if kind in seen:  # a second single-valued line: reported, never applied
                repeated.append((kind, where))
                continue
            seen.add(kind)
            if kind == "quorum":
                quorum = value
            elif kind == "veto":
                veto = True
            elif kind == "open at least":
                window = value
            elif kind == "reopen on change":
                reopen = True
        span = self._join(self._tspan(keyword), by[-1].span)
        return m.Approval(tuple(by), quorum, veto, tuple(not_by), window, reopen,
                          tuple(repeated), span=span)

    def quorum(self, children: list[Token]) -> tuple[str, m.Span, m.Quorum]:
        keyword, token = children
        span = self._tspan(token)
        where = self._span(keyword, token)
        text = str(token)
        if token.type == "INT":
            return ("quorum", where, m.Quorum("count", int(text), span=span))
        if token.type == "FRACTION":
            num, den = (int(x) for x in text.split("/"))
            return ("quorum", where, m.Quorum("fraction", 0, num, den, span=span))
        return ("quorum", where, m.Quorum(text, span=span))  # type: ignore[arg-type]

    def veto(self, children: list[Token]) -> tuple[str, m.Span, bool]:
        return ("veto", self._span(children[0]), True)

    def not_by(self, children: list[Any]) -> tuple[str, m.Span, Any]:
        return ("not by", children[0][0].span, children[0])

    def window(self, children: list[Any]) -> tuple[str, m.Span, Any]:
        keyword, duration = children
        return ("open at least", self._join(self._tspan(keyword), duration.span), duration)

    def reopen(self, children: list[Token]) -> tuple[str, m.Span, bool]:
        return ("reopen on change", self._span(children[0]), True)

    # ---- routes and milestones ----------------------------------------------
    def handoff(self, children: list[Any]) -> m.Route:
        keyword, target, condition = children
        span = self._route_span(keyword, target, condition)
        event = m.Ref("handoff", span=self._span(keyword))
        return m.Route(event, self._ref(target), condition, span=span)

    def on_route(self, children: list[Any]) -> m.Route:
        keyword, event, target, condition = children
        span = self._route_span(keyword, target, condition)
        return m.Route(self._ref(event), self._ref(target), condition, span=span)

    def _route_span(self, keyword: Token, target: Token, condition: Any) -> m.Span:
        first = self._tspan(keyword)
        return self._join(first, condition.span if condition is not None else self._tspan(target))

    def milestone(self, children: list[Any]) -> m.Milestone:
        keyword, title, owner, due = children
        if isinstance(due, Token):
            last_token: Token = due
            due = self._date(due)
            span = self._span(keyword, last_token)
            text = _unquote(title)
            return m.Milestone(slug(text), text, self._ref(owner), due, span=span)
        text = _unquote(title)
        last = due.span if isinstance(due, m.Duration) else self._tspan(owner)
        span = self._join(self._tspan(keyword), last)
        return m.Milestone(slug(text), text, self._ref(owner), due, span=span)

    # ---- parallel --------------------------------------------------------------
    def parallel(self, children: list[Any]) -> m.Parallel:
        keyword, name, title, *stmts = children
        tracks = tuple(s[1] for s in stmts if s is not None and s[0] == "track")
        thens = [s[1] for s in stmts if s is not None and s[0] == "then"]
        return m.Parallel(
            str(name),
            _unquote(title),
            tracks,
            thens[0] if thens else None,
            self._docs(stmts),
            span=self._span(keyword, title),
        )

    def track(self, children: list[Token]) -> tuple[str, m.Ref]:
        return ("track", self._ref(children[0]))

    def then(self, children: list[Token]) -> tuple[str, m.Ref]:
        return ("then", self._ref(children[0]))

    # ---- conditions ------------------------------------------------------------
    def or_cond(self, children: list[Any]) -> m.Or:
        return m.Or(tuple(children), span=self._join(children[0].span, children[-1].span))

    def and_cond(self, children: list[Any]) -> m.And:
        return m.And(tuple(children), span=self._join(children[0].span, children[-1].span))

    def not_cond(self, children: list[Any]) -> m.Not:
        return m.Not(children[0], span=children[0].span)

    def comparison(self, children: list[Any]) -> m.Compare:
        name, op, value = children
        span = self._join(self._tspan(name), value.span)
        return m.Compare(self._ref(name), str(op), value, span=span)  # type: ignore[arg-type]

    def is_cond(self, children: list[Any]) -> m.Compare:
        name, value = children
        span = self._join(self._tspan(name), value.span)
        return m.Compare(self._ref(name), "=", value, span=span)

    def is_not_cond(self, children: list[Any]) -> m.Compare:
        name, value = children
        span = self._join(self._tspan(name), value.span)
        return m.Compare(self._ref(name), "!=", value, span=span)

    def one_of(self, children: list[Any]) -> m.Member:
        name, *values = children
        span = self._join(self._tspan(name), values[-1].span)
        return m.Member(self._ref(name), tuple(values), False, span=span)

    def not_one_of(self, children: list[Any]) -> m.Member:
        name, *values = children
        span = self._join(self._tspan(name), values[-1].span)
        return m.Member(self._ref(name), tuple(values), True, span=span)

    def number(self, children: list[Token]) -> m.Value:
        return m.Value("number", Decimal(str(children[0])), span=self._tspan(children[0]))

    def text(self, children: list[Token]) -> m.Value:
        return m.Value("text", _unquote(children[0]), span=self._tspan(children[0]))

    def date(self, children: list[Token]) -> m.Value:
        return m.Value("date", self._date(children[0]), span=self._tspan(children[0]))

    def word(self, children: list[Token]) -> m.Value:
        return m.Value("word", str(children[0]), span=self._tspan(children[0]))
