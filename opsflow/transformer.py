"""Parse tree → model: the one place where grammar rules become dataclasses.

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

from lark import Token, Transformer, v_args
from lark.tree import Meta

from . import model as m
from .errors import Diagnostic

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


@v_args(meta=True)
class SopTransformer(Transformer[Token, m.Sop]):
    """Builds a :class:`~opsflow.model.Sop` from the tree of one file."""

    def __init__(self, filename: str, source: str) -> None:
        super().__init__()
        self.filename = filename
        self.source = source
        #: problems found while building (for example an impossible date)
        self.problems: list[Diagnostic] = []

    # ---- spans -----------------------------------------------------------
    def _span(self, meta: Meta) -> m.Span:
        if getattr(meta, "empty", True):
            return m.NO_SPAN
        return m.Span(self.filename, meta.line, meta.column, meta.end_line, meta.end_column)

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
    def start(self, meta: Meta, items: list[Any]) -> m.Sop:
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

    def header(self, meta: Meta, children: list[Any]) -> tuple[str, dict[str, Any]]:
        name, title, *stmts = children
        info: dict[str, Any] = {
            "id": str(name),
            "title": _unquote(title),
            "span": self._span(meta),
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

    def version(self, meta: Meta, children: list[Token]) -> tuple[str, str]:
        return ("version", str(children[0]))

    def sop_owner(self, meta: Meta, children: list[Token]) -> tuple[str, m.Ref]:
        return ("owner", self._ref(children[0]))

    def doc(self, meta: Meta, children: list[Token]) -> tuple[str, str]:
        text = str(children[0])[1:]
        if text.startswith(" "):
            text = text[1:]
        return ("doc", text.rstrip())

    @staticmethod
    def _docs(children: list[Any]) -> str:
        return "\n".join(c[1] for c in children if isinstance(c, tuple) and c[0] == "doc")

    # ---- declarations ----------------------------------------------------
    def include(self, meta: Meta, children: list[Token]) -> m.Include:
        return m.Include(_unquote(children[0]), span=self._span(meta))

    def role(self, meta: Meta, children: list[Any]) -> m.Role:
        name, title, *rest = children
        return m.Role(str(name), _unquote(title), self._docs(rest), span=self._span(meta))

    def field(self, meta: Meta, children: list[Any]) -> m.Field:
        name, title, ftype, *rest = children
        return m.Field(str(name), _unquote(title), ftype, self._docs(rest), span=self._span(meta))

    def text_type(self, meta: Meta, children: list[Any]) -> m.FieldType:
        return m.FieldType("text")

    def number_type(self, meta: Meta, children: list[Any]) -> m.FieldType:
        return m.FieldType("number")

    def date_type(self, meta: Meta, children: list[Any]) -> m.FieldType:
        return m.FieldType("date")

    def choice_type(self, meta: Meta, children: list[Any]) -> m.FieldType:
        return m.FieldType("choice", tuple(r.name for r in children[0]))

    def event(self, meta: Meta, children: list[Any]) -> m.Event:
        name, title, by, *rest = children
        return m.Event(
            str(name), _unquote(title), tuple(by or ()), self._docs(rest), span=self._span(meta)
        )

    def name_list(self, meta: Meta, children: list[Token]) -> tuple[m.Ref, ...]:
        return tuple(self._ref(t) for t in children)

    # ---- phases ----------------------------------------------------------
    def phase(self, meta: Meta, children: list[Any]) -> m.Phase:
        name, title, *stmts = children
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
            span=self._span(meta),
        )

    def owner(self, meta: Meta, children: list[Token]) -> tuple[str, m.Ref]:
        return ("owner", self._ref(children[0]))

    def accountable(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("accountable", children[0])

    def consulted(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("consulted", children[0])

    def informed(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("informed", children[0])

    def due(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("due", children[0])

    def end(self, meta: Meta, children: list[Any]) -> tuple[str, bool]:
        return ("end", True)

    def checklist(self, meta: Meta, children: list[m.Criterion]) -> tuple[str, Any]:
        return ("checklist", [c for c in children if c is not None])

    def criterion(self, meta: Meta, children: list[Token]) -> m.Criterion:
        text = str(children[0])[1:].strip()
        return m.Criterion(0, text, span=self._span(meta))

    def duration(self, meta: Meta, children: list[Token]) -> m.Duration:
        amount, unit = children
        return m.Duration(int(amount), _UNITS[str(unit)], span=self._span(meta))  # type: ignore[arg-type]

    def business_duration(self, meta: Meta, children: list[Token]) -> m.Duration:
        return m.Duration(int(children[0]), "business_days", span=self._span(meta))

    # ---- approvals ---------------------------------------------------------
    def approval(self, meta: Meta, children: list[Any]) -> m.Approval:
        by, *stmts = children
        quorum = m.Quorum("count", 1)
        veto = False
        not_by: list[m.Ref] = []
        window = None
        for kind, value in (s for s in stmts if s is not None):
            if kind == "quorum":
                quorum = value
            elif kind == "veto":
                veto = True
            elif kind == "not_by":
                not_by.extend(value)
            elif kind == "window":
                window = value
        return m.Approval(tuple(by), quorum, veto, tuple(not_by), window, span=self._span(meta))

    def quorum(self, meta: Meta, children: list[Token]) -> tuple[str, m.Quorum]:
        token = children[0]
        span = self._tspan(token)
        text = str(token)
        if token.type == "INT":
            return ("quorum", m.Quorum("count", int(text), span=span))
        if token.type == "FRACTION":
            num, den = (int(x) for x in text.split("/"))
            return ("quorum", m.Quorum("fraction", 0, num, den, span=span))
        return ("quorum", m.Quorum(text, span=span))  # type: ignore[arg-type]

    def veto(self, meta: Meta, children: list[Any]) -> tuple[str, bool]:
        return ("veto", True)

    def not_by(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("not_by", children[0])

    def window(self, meta: Meta, children: list[Any]) -> tuple[str, Any]:
        return ("window", children[0])

    # ---- routes and milestones ----------------------------------------------
    def handoff(self, meta: Meta, children: list[Any]) -> m.Route:
        target, condition = children
        span = self._span(meta)
        return m.Route(m.Ref("handoff", span=span), self._ref(target), condition, span=span)

    def on_route(self, meta: Meta, children: list[Any]) -> m.Route:
        event, target, condition = children
        return m.Route(self._ref(event), self._ref(target), condition, span=self._span(meta))

    def milestone(self, meta: Meta, children: list[Any]) -> m.Milestone:
        title, owner, due = children
        if isinstance(due, Token):
            due = self._date(due)
        text = _unquote(title)
        return m.Milestone(slug(text), text, self._ref(owner), due, span=self._span(meta))

    # ---- parallel --------------------------------------------------------------
    def parallel(self, meta: Meta, children: list[Any]) -> m.Parallel:
        name, title, *stmts = children
        tracks = tuple(s[1] for s in stmts if s is not None and s[0] == "track")
        thens = [s[1] for s in stmts if s is not None and s[0] == "then"]
        return m.Parallel(
            str(name),
            _unquote(title),
            tracks,
            thens[0] if thens else None,
            self._docs(stmts),
            span=self._span(meta),
        )

    def track(self, meta: Meta, children: list[Token]) -> tuple[str, m.Ref]:
        return ("track", self._ref(children[0]))

    def then(self, meta: Meta, children: list[Token]) -> tuple[str, m.Ref]:
        return ("then", self._ref(children[0]))

    # ---- conditions ------------------------------------------------------------
    def or_cond(self, meta: Meta, children: list[Any]) -> m.Or:
        return m.Or(tuple(children), span=self._span(meta))

    def and_cond(self, meta: Meta, children: list[Any]) -> m.And:
        return m.And(tuple(children), span=self._span(meta))

    def not_cond(self, meta: Meta, children: list[Any]) -> m.Not:
        return m.Not(children[0], span=self._span(meta))

    def comparison(self, meta: Meta, children: list[Any]) -> m.Compare:
        name, op, value = children
        return m.Compare(self._ref(name), str(op), value, span=self._span(meta))  # type: ignore[arg-type]

    def is_cond(self, meta: Meta, children: list[Any]) -> m.Compare:
        name, value = children
        return m.Compare(self._ref(name), "=", value, span=self._span(meta))

    def is_not_cond(self, meta: Meta, children: list[Any]) -> m.Compare:
        name, value = children
        return m.Compare(self._ref(name), "!=", value, span=self._span(meta))

    def one_of(self, meta: Meta, children: list[Any]) -> m.Member:
        name, *values = children
        return m.Member(self._ref(name), tuple(values), False, span=self._span(meta))

    def not_one_of(self, meta: Meta, children: list[Any]) -> m.Member:
        name, *values = children
        return m.Member(self._ref(name), tuple(values), True, span=self._span(meta))

    def number(self, meta: Meta, children: list[Token]) -> m.Value:
        return m.Value("number", Decimal(str(children[0])), span=self._tspan(children[0]))

    def text(self, meta: Meta, children: list[Token]) -> m.Value:
        return m.Value("text", _unquote(children[0]), span=self._tspan(children[0]))

    def date(self, meta: Meta, children: list[Token]) -> m.Value:
        return m.Value("date", self._date(children[0]), span=self._tspan(children[0]))

    def word(self, meta: Meta, children: list[Token]) -> m.Value:
        return m.Value("word", str(children[0]), span=self._tspan(children[0]))
