"""The JSON API of the web app (``/api/...``): the same reads and actions as the pages,
for scripts and other tools, authenticated with personal tokens.

* **Auth**: ``Authorization: Bearer opsflow_…`` — a token from ``opsflow login`` or
  ``opsflow people`` (:mod:`opsflow.identity`). Cookies never authenticate an API
  call, so another site cannot make a browser call it (no CSRF token is needed).
  A missing or bad token is 401 with ``WWW-Authenticate: Bearer``.
* **Documents**: the answers are the CLI's JSON documents (``status``, ``inbox``,
  ``list``, ``history``: the schemas in ``opsflow/schemas/``), so a script reads one
  format whichever way it asks. ``GET /api/openapi.json`` describes every endpoint
  (:func:`openapi`).
* **Errors** are ``{"error": MESSAGE, "code": CODE}``: 400 for a request that is not
  what the endpoint takes, 404 for a run one may not see (as if it did not exist),
  413 for a body over :data:`MAX_BODY`, 422 for what the engine refuses (its message,
  nothing changed), 409 when the run stayed busy.

Every action goes through the same engine call as the pages (:func:`perform`).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import documents
from ..errors import OpsflowError
from ..identity import IdentityError, authenticate
from ..procedures import UnknownProcedureError, procedure
from ..run.engine import Engine
from ..run.events import to_json

__all__ = ["ACTIONS", "MAX_BODY", "api_routes", "openapi", "perform"]

#: the largest request body read (an action or a start is a few hundred bytes)
MAX_BODY = 64 * 1024
#: action -> the arguments it takes (besides ``action``), each a string (``criterion``
#: may also be a number)
ACTIONS: dict[str, tuple[str, ...]] = {
    "tick": ("criterion", "phase"),
    "untick": ("criterion", "phase"),
    "vote": ("decision", "comment", "phase"),
    "handoff": ("phase",),
    "fire": ("event", "comment", "phase"),
    "set": ("field", "value"),
}


class BadRequest(OpsflowError):
    """A request the API cannot take as it is (not JSON, a wrong type, a missing key)."""

    status = 400


class TooLarge(BadRequest):
    status = 413


def perform(engine: Engine, run_id: int, actor: str, action: str,
            args: Mapping[str, str | int | None]) -> None:
    """Do one action of :data:`ACTIONS` on run ``run_id`` as ``actor``: the one dispatch
    of the web pages and the API to the engine's entry points (which decide)."""

    def text(name: str) -> str:
        value = args.get(name)
        return "" if value is None else str(value)

    phase = text("phase") or None
    if action in ("tick", "untick"):
        criterion = args.get("criterion")
        wanted: int | str = criterion if isinstance(criterion, int) else text("criterion")
        if isinstance(wanted, str) and wanted.isdigit() and len(wanted) <= 6:
            wanted = int(wanted)
        call = engine.tick if action == "tick" else engine.untick
        call(run_id, wanted, actor=actor, phase=phase)
    elif action == "vote":
        engine.vote(run_id, text("decision"), actor=actor, comment=text("comment"),
                    phase=phase)
    elif action == "handoff":
        engine.handoff(run_id, actor=actor, phase=phase)
    elif action == "fire":
        engine.fire(run_id, text("event"), actor=actor, phase=phase, comment=text("comment"))
    elif action == "set":
        engine.set_field(run_id, text("field"), text("value"), actor=actor)
    else:
        raise BadRequest(f"unknown action {action[:40]!r}; actions: {', '.join(ACTIONS)}")


def _error(status: int, message: str, code: str | None = None,
           headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status,
                        headers=dict(headers or {}))


def _code(error: OpsflowError) -> str | None:
    code = getattr(error, "code", "")
    return code or None


async def _body(request: Request) -> dict[str, Any]:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise TooLarge(f"the request body is over {MAX_BODY // 1024} KiB")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON; send a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _strings(data: Mapping[str, Any], name: str, *, allow_int: bool = False) -> str | int | None:
    value = data.get(name)
    if value is None or isinstance(value, str) or (allow_int and isinstance(value, int)
                                                   and not isinstance(value, bool)):
        return value
    raise BadRequest(f"{name} must be a string" + (" or a number" if allow_int else ""))


def api_routes(engine: Engine, folder: Path | None) -> list[Route]:
    """The ``/api`` routes on ``engine``; ``folder``: the procedures runs start from."""

    def person_of(request: Request) -> str | JSONResponse:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="opsflow"'}
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "send a personal token: Authorization: Bearer opsflow_… "
                          "(`opsflow login` makes one)", "no-token", challenge)
        try:
            return authenticate(engine.store, token)
        except IdentityError as error:
            return _error(401, str(error), "bad-token", challenge)

    def people() -> dict[str, Any]:
        return {p.key: p for p in engine.store.people()}

    def run_id_of(request: Request, me: str) -> int | JSONResponse:
        raw = request.path_params.get("run_id", "")
        run_id = int(raw) if raw.isdigit() and len(raw) <= 10 else 0
        if not 1 <= run_id <= 2**31 - 1 or not engine.may_see(run_id, me):
            return _error(404, "there is no such run", "unknown-run")
        return run_id

    def reading(handler: Callable[[Request, str], Any]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            me = person_of(request)
            if isinstance(me, Response):
                return me
            try:
                result = handler(request, me)
            except OpsflowError as error:
                return _error(422, str(error), _code(error))
            return result if isinstance(result, Response) else JSONResponse(result)
        return endpoint

    def me_doc(request: Request, me: str) -> Any:
        return documents.person(me, people())

    def inbox(request: Request, me: str) -> Any:
        return documents.inbox(me, engine.inbox(me), people())

    def runs(request: Request, me: str) -> Any:
        status = request.query_params.get("status") or None
        if status not in (None, "active", "done", "cancelled"):
            return _error(400, "status must be active, done or cancelled", "bad-argument")
        found = engine.visible_runs(me, status=status,
                                    sop_id=request.query_params.get("sop") or None,
                                    overdue=request.query_params.get("overdue") == "1")
        gone = engine.store.waiting_on_deactivated([r.id for r in found])
        return documents.runs(found, engine.clock.now(), gone)

    def run(request: Request, me: str) -> Any:
        run_id = run_id_of(request, me)
        if isinstance(run_id, Response):
            return run_id
        return documents.status(engine.status(run_id), people())

    def history(request: Request, me: str) -> Any:
        run_id = run_id_of(request, me)
        if isinstance(run_id, Response):
            return run_id
        return documents.history(run_id, [to_json(e) for e in engine.timeline(run_id)])

    async def act(request: Request) -> Response:
        me = await run_in_threadpool(person_of, request)
        if isinstance(me, Response):
            return me
        run_id = await run_in_threadpool(run_id_of, request, me)
        if isinstance(run_id, Response):
            return run_id
        try:
            data = await _body(request)
            action = _strings(data, "action")
            if not isinstance(action, str) or action not in ACTIONS:
                raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")
            unknown = sorted(set(data) - {"action", *ACTIONS[action]})
            if unknown:
                raise BadRequest(f"{action} takes {', '.join(ACTIONS[action])}, not "
                                 f"{', '.join(k[:40] for k in unknown)}")
            args = {name: _strings(data, name, allow_int=name == "criterion")
                    for name in ACTIONS[action]}
        except BadRequest as error:
            return _error(error.status, str(error), "bad-request")

        def do() -> Response:
            try:
                perform(engine, run_id, me, action, args)
            except OpsflowError as error:
                return _error(409 if type(error).__name__ == "RunBusyError" else 422,
                              str(error), _code(error))
            return JSONResponse(documents.status(engine.status(run_id), people()))

        return await run_in_threadpool(do)

    async def start(request: Request) -> Response:
        me = await run_in_threadpool(person_of, request)
        if isinstance(me, Response):
            return me
        try:
            data = await _body(request)
            unknown = sorted(set(data) - {"sop", "title", "roles", "fields"})
            if unknown:
                raise BadRequest(f"a start takes sop, title, roles and fields, not "
                                 f"{', '.join(k[:40] for k in unknown)}")
            sop_id, title = _strings(data, "sop"), _strings(data, "title")
            roles, fields = data.get("roles") or {}, data.get("fields") or {}
            if not isinstance(sop_id, str) or not sop_id:
                raise BadRequest("sop must name a procedure of the workspace")
            if not isinstance(roles, dict) or not all(
                    isinstance(v, list) and all(isinstance(p, str) for p in v)
                    for v in roles.values()):
                raise BadRequest('roles must map each role to a list of people, like '
                                 '{"writer": ["wendy"]}')
            if not isinstance(fields, dict) or not all(
                    isinstance(v, str | int | float) and not isinstance(v, bool)
                    for v in fields.values()):
                raise BadRequest('fields must map each field to a value, like '
                                 '{"budget": "12000"}')
        except BadRequest as error:
            return _error(error.status, str(error), "bad-request")

        def do() -> Response:
            if folder is None:
                return _error(404, "this app has no procedures", "unknown-sop")
            try:
                found = procedure(folder, sop_id)
            except UnknownProcedureError as error:
                return _error(404, str(error).replace(os.fspath(folder), "the workspace"),
                              "unknown-sop")
            if found.sop is None:
                return _error(422, f"{found.path} has errors; run `opsflow check` on it",
                              "sop-errors")
            try:
                run_id = engine.start(found.sop, str(title or ""), roles,
                                      {k: str(v) for k, v in fields.items()}, actor=me,
                                      files=found.files)
            except OpsflowError as error:
                return _error(422, str(error), _code(error))
            document = documents.status(engine.status(run_id), people())
            return JSONResponse(document, status_code=201,
                                headers={"Location": f"/api/runs/{run_id}"})

        return await run_in_threadpool(do)

    def description(request: Request) -> Response:
        return JSONResponse(openapi())

    return [
        Route("/api/openapi.json", description, methods=["GET"]),
        Route("/api/me", reading(me_doc), methods=["GET"]),
        Route("/api/inbox", reading(inbox), methods=["GET"]),
        Route("/api/runs", reading(runs), methods=["GET"]),
        Route("/api/runs", start, methods=["POST"]),
        Route("/api/runs/{run_id}", reading(run), methods=["GET"]),
        Route("/api/runs/{run_id}/history", reading(history), methods=["GET"]),
        Route("/api/runs/{run_id}/actions", act, methods=["POST"]),
    ]


def _component(value: Any) -> Any:
    """A shipped schema as a component of the description: without its own ``$id`` and
    ``$schema`` (the description is one document) and with its ``person`` definition
    shared as ``#/components/schemas/Person``."""
    if isinstance(value, dict):
        return {k: ("#/components/schemas/Person" if k == "$ref" and v == "#/$defs/person"
                    else _component(v))
                for k, v in value.items() if k not in ("$id", "$schema", "$defs")}
    if isinstance(value, list):
        return [_component(v) for v in value]
    return value


def _schema(kind: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parent.parent / "schemas" / f"{kind}-1.schema.json"
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the API (its response schemas are the shipped JSON
    schemas; the tests check the app's real answers against it): a fresh copy each call."""
    return copy.deepcopy(_description())


@cache
def _description() -> dict[str, Any]:
    """The description, built once per process (it reads the schema files)."""
    from .. import __version__

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def answer(description: str, schema: str) -> dict[str, Any]:
        return {"description": description,
                "content": {"application/json": {"schema": ref(schema)}}}

    errors = {"401": answer("no token, or one that is not valid", "Error"),
              "422": answer("refused: the engine's message; nothing changed", "Error")}
    run_param = {"name": "run_id", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1}}
    not_found = {"404": answer("no such run, or one you hold no role in", "Error")}
    person_schema = _schema("status")["$defs"]["person"]
    action_props: dict[str, Any] = {"action": {"enum": list(ACTIONS)}}
    for names in ACTIONS.values():
        for name in names:
            action_props[name] = {"type": ["string", "integer"]} if name == "criterion" \
                else {"type": "string"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "opsflow", "version": __version__,
                 "description": "Runs of standard operating procedures: read them, act on "
                                "them. Answers are the documents of docs/json.md."},
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                          "description": "a personal token (opsflow login)"}},
            "schemas": {
                **{name: _component(_schema(kind)) for name, kind in (
                    ("Status", "status"), ("Inbox", "inbox"), ("List", "list"),
                    ("History", "history"))},
                "Person": person_schema,
                "Error": {"type": "object", "required": ["error", "code"],
                          "properties": {"error": {"type": "string"},
                                         "code": {"type": ["string", "null"]}},
                          "additionalProperties": False},
                "Action": {"type": "object", "required": ["action"],
                           "properties": action_props, "additionalProperties": False},
                "Start": {"type": "object", "required": ["sop", "title"],
                          "properties": {
                              "sop": {"type": "string"}, "title": {"type": "string"},
                              "roles": {"type": "object", "additionalProperties": {
                                  "type": "array", "items": {"type": "string"}}},
                              "fields": {"type": "object", "additionalProperties": {
                                  "type": ["string", "number"]}}},
                          "additionalProperties": False},
            },
        },
        "security": [{"token": []}],
        "paths": {
            "/api/me": {"get": {"summary": "Who the token is for",
                                "responses": {"200": answer("the person", "Person"),
                                              **errors}}},
            "/api/inbox": {"get": {"summary": "Everything waiting on me, overdue first",
                                   "responses": {"200": answer("my work", "Inbox"),
                                                 **errors}}},
            "/api/runs": {
                "get": {"summary": "The runs I may see (I hold a role, or view the SOP)",
                        "parameters": [
                            {"name": "status", "in": "query",
                             "schema": {"enum": ["active", "done", "cancelled"]}},
                            {"name": "sop", "in": "query", "schema": {"type": "string"}},
                            {"name": "overdue", "in": "query", "schema": {"enum": ["1"]}}],
                        "responses": {"200": answer("the runs", "List"),
                                      "400": answer("a bad filter", "Error"), **errors}},
                "post": {"summary": "Start a run of a procedure of the workspace",
                         "requestBody": {"required": True, "content": {
                             "application/json": {"schema": ref("Start")}}},
                         "responses": {"201": answer("the new run", "Status"),
                                       "400": answer("not a start request", "Error"),
                                       "413": answer("a body over 64 KiB", "Error"),
                                       "404": answer("no such procedure", "Error"),
                                       **errors}}},
            "/api/runs/{run_id}": {"get": {
                "summary": "A run: phases, checklists, votes, who is next",
                "parameters": [run_param],
                "responses": {"200": answer("the run", "Status"), **not_found, **errors}}},
            "/api/runs/{run_id}/history": {"get": {
                "summary": "Every event of a run, oldest first",
                "parameters": [run_param],
                "responses": {"200": answer("the events", "History"), **not_found,
                              **errors}}},
            "/api/runs/{run_id}/actions": {"post": {
                "summary": "Tick, untick, vote, hand off, fire an event or set a field",
                "parameters": [run_param],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": ref("Action")}}},
                "responses": {"200": answer("the run after the action", "Status"),
                              "400": answer("not an action request", "Error"),
                              "413": answer("a body over 64 KiB", "Error"),
                              "409": answer("the run stayed busy; try again", "Error"),
                              **not_found, **errors}}},
        },
    }

