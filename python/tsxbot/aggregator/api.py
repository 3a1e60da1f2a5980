"""The aggregator's HTTP API on 127.0.0.1:7600 (``services.aggregator.apiPort``): state, bots,
positions, orders and risk events, and the kill switch. Every endpoint but ``/health`` needs a key
in ``X-API-Key`` or a session (``tsxbot.runtime.auth``): reads a viewer, flatten a trader, halt,
resume and pausing bots an admin; the internal API key (``TSXBOT_API_KEY``) is an admin's.
``/openapi.json`` describes it. Bad input gets a 4xx naming what is wrong, never
a 5xx."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from tsxbot.config.secrets import Secret
from tsxbot.log import get_logger
from tsxbot.messages import ControlAction
from tsxbot.runtime.auth import SAFE_METHODS, Auth, Keyring, Role, reload_keys_on_sighup
from tsxbot.runtime.http import BAD_BODY, HttpServer, decode_body, error_response, json_response

if TYPE_CHECKING:
    from tsxbot.aggregator.service import Aggregator

log = get_logger("tsxbot.aggregator.api")
MAX_BODY = 64 * 1024


class ControlRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Who asks and why (recorded with the action)."""

    requested_by: str = msgspec.field(default="api")
    reason: str = ""


_json = json_response
_error = error_response


def role_for(method: str, path: str) -> Role:
    """The role an aggregator request needs (also what the control panel asks before it forwards)."""
    if method in SAFE_METHODS:
        return Role.VIEWER
    if path == "/flatten":
        return Role.TRADER
    return Role.ADMIN  # halt, resume, pausing and resuming bots


def required_role(request: web.Request) -> Role:
    return role_for(request.method, request.path)


class AggregatorApi:
    def __init__(self, agg: Aggregator, api_key: Secret, host: str, port: int) -> None:
        self.agg = agg
        self.auth = Auth(Keyring(api_key), public=lambda r: r.path == "/health", required=required_role)
        self.app = self._build()
        self.server = HttpServer(self.app, host, port, "HTTP API")

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def _build(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self.auth.middleware], client_max_size=MAX_BODY)
        self.auth.install(app)
        app.router.add_get("/health", self.health)
        app.router.add_get("/status", self.status)
        app.router.add_get("/bots", self.bots)
        app.router.add_get("/positions", self.positions)
        app.router.add_get("/orders", self.orders)
        app.router.add_get("/risk/events", self.events)
        app.router.add_post("/halt", self.halt)
        app.router.add_post("/resume", self.resume)
        app.router.add_post("/flatten", self.flatten)
        app.router.add_post("/bots/{bot_id}/pause", self.pause)
        app.router.add_post("/bots/{bot_id}/resume", self.resume_bot)
        app.router.add_get("/openapi.json", self.openapi)
        return app

    async def start(self) -> None:
        reload_keys_on_sighup()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    # --- middlewares ------------------------------------------------------------------------------

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 500:
                raise
            return _error(exc.status, exc.reason or "bad request")
        except Exception:
            log.exception("API request failed", path=request.path)
            return _error(503, "the aggregator could not answer this request now")

    # --- reads ------------------------------------------------------------------------------------

    async def health(self, _request: web.Request) -> web.Response:
        healthy = self.agg.healthy
        return _json(
            {"status": "ok" if healthy else "degraded", "service": "aggregator"}, 200 if healthy else 503
        )

    async def status(self, _request: web.Request) -> web.Response:
        return _json(self.agg.status())

    async def bots(self, _request: web.Request) -> web.Response:
        return _json({"bots": self.agg.registry.view(self.agg.monotonic())})

    async def positions(self, _request: web.Request) -> web.Response:
        return _json(self.agg.positions_view())

    async def orders(self, request: web.Request) -> web.Response:
        bot = request.query.get("botId")
        only_open = request.query.get("open", "false").lower() in ("1", "true", "yes")
        rows = [
            r.to_json()
            for r in reversed(self.agg.orders.values())
            if (bot is None or r.bot_id == bot) and (not only_open or r.open)
        ]
        working = [msgspec.to_builtins(u) for u in self.agg.working.all()]
        return _json({"orders": rows[:1000], "working": working})

    async def events(self, _request: web.Request) -> web.Response:
        return _json({"events": [e.to_json() for e in reversed(self.agg.account.events)]})

    # --- the kill switch --------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> ControlRequest | web.Response:
        raw = await request.read()
        if not raw.strip():
            return ControlRequest()
        try:
            body = decode_body(raw, ControlRequest)
        except BAD_BODY as exc:
            return _error(400, f"invalid request body: {exc}")
        if not body.requested_by.strip() or len(body.requested_by) > 128 or len(body.reason) > 1000:
            return _error(400, "requestedBy must be 1-128 characters and reason at most 1000")
        return body

    async def _control(
        self, request: web.Request, action: ControlAction, bot_id: str | None = None
    ) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        try:
            done = await self.agg.command(action, body.requested_by, body.reason, bot_id)
        except LookupError as exc:
            return _error(404, str(exc))
        return _json({"action": action.value, "result": done, "tradingState": self.agg.account.state_name})

    async def halt(self, request: web.Request) -> web.Response:
        return await self._control(request, ControlAction.HALT)

    async def resume(self, request: web.Request) -> web.Response:
        return await self._control(request, ControlAction.RESUME)

    async def flatten(self, request: web.Request) -> web.Response:
        return await self._control(request, ControlAction.FLATTEN)

    async def pause(self, request: web.Request) -> web.Response:
        return await self._control(request, ControlAction.PAUSE_BOT, request.match_info["bot_id"])

    async def resume_bot(self, request: web.Request) -> web.Response:
        return await self._control(request, ControlAction.RESUME_BOT, request.match_info["bot_id"])

    async def openapi(self, _request: web.Request) -> web.Response:
        return _json(openapi_document())


def openapi_document() -> dict[str, Any]:
    (_, components) = msgspec.json.schema_components(
        [ControlRequest], ref_template="#/components/schemas/{name}"
    )
    secured: list[dict[str, list[str]]] = [{"ApiKey": []}]
    obj = {"type": "object"}

    def get(summary: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "security": secured,
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": obj}}}},
            }
        }

    def post(summary: str, path_param: bool = False) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "summary": summary,
            "security": secured,
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ControlRequest"}}},
            },
            "responses": {
                "200": {"description": "Done", "content": {"application/json": {"schema": obj}}},
                "400": {"description": "Malformed body"},
                "401": {"description": "Missing or invalid key"},
            },
        }
        if path_param:
            operation["responses"]["404"] = {"description": "Unknown bot"}
            return {
                "parameters": [
                    {"name": "bot_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "post": operation,
            }
        return {"post": operation}

    return {
        "openapi": "3.1.0",
        "info": {"title": "tsxbot trading aggregator", "version": "1"},
        "components": {
            "schemas": components,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
        "paths": {
            "/health": {
                "get": {
                    "summary": "Liveness (no key needed)",
                    "responses": {"200": {"description": "OK"}, "503": {"description": "Degraded"}},
                }
            },
            "/status": get("Trading state and why, limits and how much of each is used, queue depth, P&L"),
            "/bots": get("Bots: registration, config hash, heartbeat, stale, paused"),
            "/positions": get("Positions per bot and net (with the exchange's)"),
            "/orders": get("Recent orders (?botId=, ?open=true) and the working orders at the exchange"),
            "/risk/events": get("Risk events, newest first: who asked what and why"),
            "/halt": post("Halt: no new orders until resumed"),
            "/resume": post("Resume after a halt or the circuit breaker"),
            "/flatten": post("Close every position and cancel every working order, across bots; then HALTED"),
            "/bots/{bot_id}/pause": post("Pause one bot (its exits still pass)", path_param=True),
            "/bots/{bot_id}/resume": post("Resume one bot", path_param=True),
        },
    }
