"""The web app (Starlette): sign-in, sessions, CSRF, security headers, "my work".

* **Sessions** are signed cookies (itsdangerous, the app's secret key): HttpOnly,
  ``SameSite=Lax``, ``Secure`` over HTTPS, valid for :data:`SESSION_HOURS`. They hold
  the person's key and the session's CSRF token, nothing else; no state is kept in
  memory between requests.
* **CSRF**: every form that changes something carries the session's token (the
  sign-in form a token of a short-lived cookie), compared in constant time; a POST
  without it is refused (403) and changes nothing.
* **Headers** on every response: a Content-Security-Policy with no inline script or
  style (``default-src 'self'``, ``frame-ancestors 'none'``), ``nosniff``, no referrer
  to other sites.
* Pages are Jinja2 templates in ``renderers/app/`` with autoescaping: text from users
  is shown as text.

Endpoints are plain functions (Starlette runs them in its thread pool): the engine
and store are synchronous.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import secrets
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any

import jinja2
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import OpsflowError
from ..procedures import Procedure, UnknownProcedureError, catalogue, procedure
from ..resources import templates_root
from ..run.engine import Engine
from ..run.errors import RunError
from ..run.people import person_key
from .api import ACTIONS, api_routes, perform
from .startform import INPUT_TYPES, form_for, submitted
from .tracker import SORTS, STATUSES, RunFilter, sort_runs

__all__ = ["SESSION_HOURS", "create_app"]

SESSION = "opsflow_session"
SIGNIN_CSRF = "opsflow_signin"
SESSION_HOURS = 12
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _templates() -> jinja2.Environment:
    root = templates_root().joinpath("app")

    def load(name: str) -> str:
        return root.joinpath(name).read_text("utf-8")

    return jinja2.Environment(loader=jinja2.FunctionLoader(load), autoescape=True,
                              undefined=jinja2.StrictUndefined)


class _Headers:
    """Adds :data:`HEADERS` to every response (a plain ASGI middleware: Starlette's
    ``BaseHTTPMiddleware`` costs every request a task and a stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.extra = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                      for k, v in HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in self.extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def _networks(addresses: Sequence[str]) -> list[IPv4Network | IPv6Network]:
    return [ip_network(a, strict=False) for a in addresses]


def _trusted(host: str, networks: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def local_time(zone: str) -> Callable[[dt.datetime | str | None], str]:
    """A formatter of times in time zone ``zone``, the CLI's wording
    (:func:`opsflow.run.status.when`): ``2025-01-07 10:00 CET``."""
    from ..run.status import when

    def shown(value: dt.datetime | str | None) -> str:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) and value \
            else value or None
        return when(moment if isinstance(moment, dt.datetime) else None, zone)

    return shown


def _where(file: str, line: int, folder: Path) -> str:
    """A diagnostic's place for people: the file relative to the SOP folder (never the
    server's own paths), and the line."""
    path = Path(file)
    try:
        shown = path.resolve().relative_to(folder.resolve()).as_posix()
    except (ValueError, OSError):
        shown = path.name
    return f"{shown}:{line}" if line else shown


def create_app(engine: Engine, secret_key: str, *,
               sops: str | os.PathLike[str] | None = None) -> Starlette:
    """The app on ``engine``'s database; ``secret_key`` signs the session cookies (every
    process of one team must use the same one). ``sops``: the folder of the procedures
    people may start (default: the workspace's ``sops`` folder, if there is one)."""
    from .accounts import TooManyAttempts, sign_in

    signer = URLSafeTimedSerializer(secret_key, salt="opsflow-session")
    pages = _templates()
    workspace = engine.store.workspace
    if sops is None and workspace is not None:
        sops = workspace.sops_folder
    proxy_header = workspace.proxy_header if workspace is not None else ""
    trusted = _networks(workspace.trusted_proxies if workspace is not None else ())
    folder = Path(sops) if sops is not None else None

    def page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(pages.get_template(template).render(**values), status_code=status)

    def signed_page(data: dict[str, str], template: str, status: int = 200,
                    **values: Any) -> HTMLResponse:
        """A page for a signed-in person: the header names them and offers sign-out; times
        are shown in their time zone (the directory's, else the workspace's)."""
        zone = data.get("timezone") or (workspace.timezone if workspace is not None
                                        else "UTC")
        return page(template, status, me=data["person"], csrf=data["csrf"],
                    name=data.get("name") or data["person"],
                    proxied=data.get("via") == "proxy", at=local_time(zone), **values)

    def proxied(request: Request) -> dict[str, str] | None:
        """The person a trusted reverse proxy names in its header (``[web]`` in
        ``opsflow.toml``); the header from any other address is ignored."""
        if not proxy_header or request.client is None:
            return None
        name = request.headers.get(proxy_header, "").strip()
        if not name or not _trusted(request.client.host, trusted):
            return None
        try:
            key = person_key(name)
        except Exception:
            return None
        found = engine.store.people([key])
        if not found or not found[0].active:
            return None
        # no cookie: the form token is derived from the person and the app's secret
        token = hmac.new(secret_key.encode(), f"csrf:{key}".encode(), "sha256").hexdigest()
        return {"person": key, "csrf": token, "via": "proxy", "name": found[0].name,
                "timezone": found[0].timezone or ""}

    def session(request: Request) -> dict[str, str] | None:
        by_proxy = proxied(request)
        if by_proxy is not None:
            return by_proxy
        raw = request.cookies.get(SESSION)
        if not raw:
            return None
        try:
            data = signer.loads(raw, max_age=SESSION_HOURS * 3600)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("person"), str) \
                or not isinstance(data.get("csrf"), str):
            return None
        found = engine.store.people([data["person"]])
        if not found or not found[0].active:
            return None
        # what the page header shows, read once per request
        return {"person": data["person"], "csrf": data["csrf"], "name": found[0].name,
                "timezone": found[0].timezone or ""}

    def secure(request: Request) -> bool:
        return request.url.scheme == "https"

    def signin_form(request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        response = page("signin.html", csrf=token, problem=None, person="")
        response.set_cookie(SIGNIN_CSRF, token, max_age=600, httponly=True, samesite="strict",
                            secure=secure(request), path="/signin")
        return response

    async def signin(request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(SIGNIN_CSRF, "")
        sent = str(form.get("csrf", ""))
        if not cookie or not hmac.compare_digest(cookie, sent):
            return page("refused.html", 403, problem="This form has expired; sign in again.")
        name, password = str(form.get("person", "")), str(form.get("password", ""))
        try:
            key = person_key(name)
        except Exception:
            key = ""
        from starlette.concurrency import run_in_threadpool

        try:
            ok = bool(key) and await run_in_threadpool(sign_in, engine.store, key, password)
        except TooManyAttempts as error:
            return page("signin.html", 429, csrf=cookie, person=name, problem=str(error))
        if not ok:
            return page("signin.html", 401, csrf=cookie, person=name,
                        problem="That name and password do not match an account.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION, signer.dumps({"person": key,
                                                   "csrf": secrets.token_urlsafe(24)}),
                            max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax",
                            secure=secure(request), path="/")
        response.delete_cookie(SIGNIN_CSRF, path="/signin")
        return response

    async def signout(request: Request) -> Response:
        data = session(request)
        form = await request.form()
        if data is None or not hmac.compare_digest(data["csrf"], str(form.get("csrf", ""))):
            return page("refused.html", 403, problem="This form has expired; reload the page.")
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION, path="/")
        return response

    def my_work(request: Request) -> Response:
        data = session(request)
        if data is None:
            return RedirectResponse("/signin", status_code=303)
        return signed_page(data, "work.html", items=engine.inbox(data["person"]))

    def _run_page(me: str, data: dict[str, str], run_id: int, problem: str | None = None,
                  status: int = 200) -> Response:
        from .. import documents
        from ..render.markdown import to_html
        from ..run.describe import describe  # one wording of events for both front ends

        people = {p.key: p for p in engine.store.people()}
        view = documents.status(engine.status(run_id), people)
        compiled = engine.compiled(engine.store.get_run(run_id).sop_hash)
        choices = engine.choices(run_id, me)
        phases = {p["phase"]: {
            "text": to_html(compiled.phase(p["phase"]).description),
            "handoff": "handoff" in compiled.phase(p["phase"]).events
                       or compiled.phase(p["phase"]).end,
            "events": [(event, title) for pid, event, title in choices.events
                       if pid == p["phase"]],
        } for p in view["phases"]}
        fields = [{"id": f.id, "title": f.title, "value": view["fields"].get(f.id),
                   "input": INPUT_TYPES.get(f.type, "text"), "choices": f.choices,
                   "settable": f.id in choices.fields} for f in compiled.fields.values()]
        events = [(e.at, e.actor, describe(e)) for e in engine.timeline(run_id)]
        return signed_page(data, "run.html", status, run=view, problem=problem, events=events,
                           phases=phases, fields=fields)

    def _allowed(request: Request) -> tuple[str, dict[str, str], int] | Response:
        data = session(request)
        if data is None:
            return RedirectResponse("/signin", status_code=303)
        try:
            run_id = int(request.path_params["run_id"])
        except (KeyError, ValueError):
            return page("refused.html", 404, problem="There is no such run.")
        if not 1 <= run_id <= 2**31 - 1 or not engine.may_see(run_id, data["person"]):
            return page("refused.html", 404, problem="There is no such run.")
        return data["person"], data, run_id

    def run_page(request: Request) -> Response:
        allowed = _allowed(request)
        if isinstance(allowed, Response):
            return allowed
        me, data, run_id = allowed
        return _run_page(me, data, run_id)

    async def act(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        from ..errors import OpsflowError

        allowed = await run_in_threadpool(_allowed, request)
        if isinstance(allowed, Response):
            return allowed
        me, data, run_id = allowed
        form = await request.form()
        if not hmac.compare_digest(data["csrf"], str(form.get("csrf", ""))):
            return page("refused.html", 403, problem="This form has expired; reload the page.")
        kind = request.path_params["action"]

        def do() -> None:
            perform(engine, run_id, me, kind, {name: str(form.get(name, "")) or None
                                               for name in ACTIONS.get(kind, ())})

        if kind not in ACTIONS:
            return page("refused.html", 404, problem="There is no such action.")
        try:
            await run_in_threadpool(do)
        except OpsflowError as error:
            return await run_in_threadpool(_run_page, me, data, run_id, str(error), 422)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    def runs_page(request: Request) -> Response:
        """The runs I may see (I hold a role in them, or view their SOP), filtered by
        status, SOP, phase, person and overdue, sorted by one of :data:`SORTS`."""
        data = session(request)
        if data is None:
            return RedirectResponse("/signin", status_code=303)
        query = request.query_params
        wanted = RunFilter.parse(query)
        mine = engine.visible_runs(data["person"])
        shown = engine.visible_runs(data["person"], status=wanted.status, sop_id=wanted.sop,
                                    overdue=wanted.overdue)
        if wanted.phase:
            shown = [r for r in shown if wanted.phase in r.phases]
        if wanted.person:
            try:
                theirs = {r.id for r in engine.list_runs(person=wanted.person)}
            except OpsflowError:  # not a name anyone can have: nobody's runs
                theirs = set()
            shown = [r for r in shown if r.id in theirs]
        shown = sort_runs(shown, wanted.sort)
        counts = {s: sum(1 for r in mine if r.status == s) for s in STATUSES}
        people = [p for p in engine.store.people() if p.active]
        return signed_page(data, "runs.html", runs=shown, counts=counts, wanted=wanted,
                           sops=sorted({r.sop_id for r in mine}),
                           phases=sorted({p for r in mine for p in r.phases}),
                           people=people, sorts=SORTS, now=engine.clock.now())

    def board_page(request: Request) -> Response:
        """One SOP's active runs (those I hold a role in) by phase and owner role."""
        data = session(request)
        if data is None:
            return RedirectResponse("/signin", status_code=303)
        sop_id = request.path_params["sop_id"]
        current: Procedure | None = None
        if folder is not None:
            try:
                current = procedure(folder, sop_id)
            except UnknownProcedureError:
                current = None
        try:
            shown = engine.board(sop_id, person=data["person"],
                                 current=current.sop if current else None,
                                 files=current.files if current else None)
        except RunError:
            return page("refused.html", 404, problem="There is no board for that SOP.")
        return signed_page(data, "board.html", board=shown)

    def procedures_page(request: Request) -> Response:
        """The workspace's procedures, each with a link to start a run of it."""
        data = session(request)
        if data is None:
            return RedirectResponse("/signin", status_code=303)
        listed = catalogue(folder) if folder is not None else []
        started = request.query_params.get("started", "")
        return signed_page(data, "procedures.html", folder=folder, procedures=listed,
                           started=started if started.isdigit() else "")

    def _procedure(request: Request) -> tuple[dict[str, str], Procedure] | Response:
        data = session(request)
        if data is None:
            return RedirectResponse("/signin", status_code=303)
        if folder is None:
            return page("refused.html", 404, problem="This app has no procedures.")
        try:
            return data, procedure(folder, request.path_params["sop_id"])
        except UnknownProcedureError:
            return page("refused.html", 404, problem="There is no such procedure.")

    def procedure_page(request: Request) -> Response:
        """One procedure's playbook, flow, roles, RACI chart and check diagnostics."""
        import shutil

        from ..render.pages import sop_parts

        found = _procedure(request)
        if isinstance(found, Response):
            return found
        data, shown = found
        assert folder is not None
        diagnostics = [{"where": _where(d.span.file, d.span.line, folder),
                        "severity": d.severity, "code": d.code, "message": d.message,
                        "hint": d.hint} for d in shown.diagnostics]
        parts = sop_parts(shown.sop) if shown.sop is not None else None
        drawn = parts is not None and shutil.which("dot") is not None  # else the flow in words
        return signed_page(data, "procedure.html", 200 if parts else 422, procedure=shown,
                           diagnostics=diagnostics, parts=parts, svg=drawn)

    def diagram(request: Request) -> Response:
        """The procedure's flow diagram (Graphviz SVG, as publish draws it)."""
        from ..render.diagram import svg
        from ..render.pages import flow_dot

        found = _procedure(request)
        if isinstance(found, Response):
            return found
        drawn = svg(flow_dot(found[1].sop)) if found[1].sop is not None else None
        if drawn is None:
            return page("refused.html", 404, problem="There is no diagram of it.")
        return Response(drawn, media_type="image/svg+xml")

    def _startable(request: Request) -> tuple[dict[str, str], Procedure] | Response:
        allowed = _procedure(request)
        if isinstance(allowed, Response):
            return allowed
        data, found = allowed
        if found.sop is None:
            return page("refused.html", 422, problem=f"{found.path} has errors, so it cannot "
                        "be started; run `opsflow check` on it and fix them.")
        return data, found

    def start_form(request: Request) -> Response:
        allowed = _startable(request)
        if isinstance(allowed, Response):
            return allowed
        data, found = allowed
        assert found.sop is not None
        return signed_page(data, "start.html", problem=None,
                           form=form_for(found.sop, engine.store.people()))

    async def start_run(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        from ..errors import OpsflowError

        allowed = await run_in_threadpool(_startable, request)
        if isinstance(allowed, Response):
            return allowed
        data, found = allowed
        sop = found.sop
        assert sop is not None
        form = await request.form()
        if not hmac.compare_digest(data["csrf"], str(form.get("csrf", ""))):
            return page("refused.html", 403, problem="This form has expired; reload the page.")
        sent = {key: [str(v) for v in form.getlist(key)] for key in form.keys()}
        title, assignments, values = submitted(sop, sent)

        def do() -> Response:
            me = data["person"]
            try:
                run_id = engine.start(sop, title, assignments, values, actor=me,
                                      files=found.files)
            except OpsflowError as error:
                return signed_page(data, "start.html", 422, problem=str(error),
                                   form=form_for(sop, engine.store.people(), title,
                                                 assignments, values))
            where = f"/runs/{run_id}" if engine.may_see(run_id, me) \
                else f"/procedures?started={run_id}"
            return RedirectResponse(where, status_code=303)

        return await run_in_threadpool(do)

    def stylesheet(request: Request) -> Response:
        css = templates_root().joinpath("app", "app.css").read_text("utf-8")
        return Response(css, media_type="text/css")

    return Starlette(routes=[
        *api_routes(engine, folder),
        Route("/", my_work),
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/runs", runs_page, methods=["GET"]),
        Route("/runs/{run_id}", run_page, methods=["GET"]),
        Route("/board/{sop_id}", board_page, methods=["GET"]),
        Route("/runs/{run_id}/{action}", act, methods=["POST"]),
        Route("/procedures", procedures_page, methods=["GET"]),
        Route("/procedures/{sop_id}", procedure_page, methods=["GET"]),
        Route("/procedures/{sop_id}/diagram.svg", diagram, methods=["GET"]),
        Route("/procedures/{sop_id}/start", start_form, methods=["GET"]),
        Route("/procedures/{sop_id}/start", start_run, methods=["POST"]),
        Route("/static/app.css", stylesheet),
    ], middleware=[Middleware(_Headers)])
