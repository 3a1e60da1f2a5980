"""The connection manager's HTTP API (the spec's endpoints) and a WebSocket stream of the events
it publishes. Bound to 127.0.0.1 by default; every endpoint but ``/health`` needs a key in
``X-API-Key`` (WebSocket clients that cannot set headers may pass ``?apiKey=``) or a session
(``tsxbot.runtime.auth``): reads a viewer, order commands a trader, switching accounts an admin;
the internal API key is an admin's. ``/openapi.json`` describes it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from aiohttp import web

from tsxbot.config.secrets import Secret
from tsxbot.log import get_logger
from tsxbot.messages import (
    PAYLOAD_TYPES,
    AccountUpdate,
    AnyEnvelope,
    CommandResult,
    Fill,
    MessageType,
    OrderUpdate,
    PositionUpdate,
    UpdateStopLossTakeProfit,
    encode,
    new_message_id,
)
from tsxbot.messages.payload import AccountId, Payload, Price
from tsxbot.runtime.auth import SAFE_METHODS, Auth, Keyring, Role, reload_keys_on_sighup
from tsxbot.runtime.http import (
    BAD_BODY,
    HttpServer,
    broadcast,
    decode_body,
    error_response,
    json_response,
    stream_queue,
)

if TYPE_CHECKING:
    from tsxbot.connection_manager.service import ConnectionManager

from tsxbot.connection_manager.commands import COMMAND_TYPES

log = get_logger("tsxbot.connection_manager.api")
COMMAND_MESSAGE_TYPES = (
    MessageType.PLACE_ORDER,
    MessageType.MODIFY_ORDER,
    MessageType.CANCEL_ORDER,
    MessageType.CLOSE_POSITION,
    MessageType.UPDATE_SLTP,
)
WS_QUEUE = 10_000


class CommandRequest(msgspec.Struct):
    """``POST /command``: a message type and its payload, as on the bus."""

    type: MessageType
    payload: msgspec.Raw


class UpdateSltpRequest(msgspec.Struct, rename="camel"):
    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    stop_loss: Price | None = None
    take_profit: Price | None = None
    account_id: AccountId | None = None


class SwitchAccountRequest(msgspec.Struct, rename="camel"):
    account_id: AccountId


_json = json_response
_error = error_response
PUBLIC_PATHS = frozenset({"/health"})


def required_role(request: web.Request) -> Role:
    if request.method in SAFE_METHODS:
        return Role.VIEWER
    if request.path.startswith("/current-account/"):
        return Role.ADMIN
    return Role.TRADER  # /command, /api/position/update-sltp


class ConnectionManagerApi:
    def __init__(self, manager: ConnectionManager, api_key: Secret, host: str, port: int) -> None:
        self.manager = manager
        self.auth = Auth(
            Keyring(api_key),
            public=lambda r: r.path in PUBLIC_PATHS,
            required=required_role,
            query_key_paths=frozenset({"/ws"}),
        )
        self._queues: set[asyncio.Queue[bytes]] = set()
        self.app = self._build()
        self.server = HttpServer(self.app, host, port, "HTTP API")

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def _build(self) -> web.Application:
        app = web.Application(middlewares=[self.auth.middleware, self._ready])
        self.auth.install(app)
        app.router.add_get("/health", self.health)
        app.router.add_get("/status", self.status)
        app.router.add_get("/current-account/{service}", self.current_account)
        app.router.add_post("/current-account/{service}", self.switch_account)
        app.router.add_get("/account/balance", self.balance)
        app.router.add_post("/command", self.command)
        app.router.add_get("/api/positions", self.positions)
        app.router.add_get("/api/orders", self.orders)
        app.router.add_get("/api/fills", self.fills)
        app.router.add_post("/api/position/update-sltp", self.update_sltp)
        app.router.add_get("/ws", self.stream)
        app.router.add_get("/openapi.json", self.openapi)
        return app

    async def start(self) -> None:
        reload_keys_on_sighup()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    # --- readiness --------------------------------------------------------------------------------

    @web.middleware
    async def _ready(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self.manager.starting and not request.path.startswith(
            ("/health", "/status", "/openapi.json", "/auth/")
        ):
            return _error(503, f"not ready: {self.manager.starting}")
        return await handler(request)

    # --- endpoints --------------------------------------------------------------------------------

    async def health(self, _request: web.Request) -> web.Response:
        ready, reason = self.manager.readiness()
        body: dict[str, Any] = {"status": "ok" if ready else "degraded", "service": "connection-manager"}
        body["ready"] = ready
        if not ready:
            body["reason"] = reason
        return _json(body, 200 if ready else 503)

    async def status(self, _request: web.Request) -> web.Response:
        return _json(self.manager.status())

    async def current_account(self, request: web.Request) -> web.Response:
        account = self.manager.accounts.for_service(request.match_info["service"])
        return _json(
            {
                "service": request.match_info["service"],
                **msgspec.to_builtins(self.manager.normalizer.account(account)),
            }
        )

    async def switch_account(self, request: web.Request) -> web.Response:
        body = await self._body(request, SwitchAccountRequest)
        if isinstance(body, web.Response):
            return body
        try:
            account = self.manager.accounts.switch(request.match_info["service"], body.account_id)
        except LookupError as exc:
            return _error(404, str(exc))
        log.info("account switched", service=request.match_info["service"], account_id=account.id)
        return _json(
            {
                "service": request.match_info["service"],
                **msgspec.to_builtins(self.manager.normalizer.account(account)),
            }
        )

    async def balance(self, request: web.Request) -> web.Response:
        service = request.query.get("service", "default")
        account: AccountUpdate = self.manager.normalizer.account(self.manager.accounts.for_service(service))
        return _json(
            {
                "accountId": account.account_id,
                "name": account.name,
                "balance": account.balance,
                "canTrade": account.can_trade,
            }
        )

    def _refuse_when_stopping(self) -> web.Response | None:
        if self.manager.accepting_commands:
            return None
        return _error(503, "the connection manager is stopping (or has failed): no new commands")

    async def command(self, request: web.Request) -> web.Response:
        if (refused := self._refuse_when_stopping()) is not None:
            return refused
        body = await self._body(request, CommandRequest)
        if isinstance(body, web.Response):
            return body
        if body.type not in COMMAND_MESSAGE_TYPES:
            return _error(
                400, f"{body.type.value} is not a command", commands=[t.value for t in COMMAND_MESSAGE_TYPES]
            )
        try:
            payload = msgspec.json.decode(body.payload, type=PAYLOAD_TYPES[body.type])
        except BAD_BODY as exc:
            return _error(400, f"invalid {body.type.value} payload: {_reason(exc)}")
        assert isinstance(payload, COMMAND_TYPES)
        result = await self.manager.execute_command(payload, service=request.query.get("service", "api"))
        return _json(result, 200 if result.ok else 422)

    async def positions(self, _request: web.Request) -> web.Response:
        updates: list[PositionUpdate] = self.manager.positions()
        return _json({"positions": updates, "stale": self.manager.positions_stale})

    async def orders(self, _request: web.Request) -> web.Response:
        working: list[OrderUpdate] = self.manager.working_orders()
        return _json({"orders": working})

    async def fills(self, request: web.Request) -> web.Response:
        since = request.query.get("since")
        if since is None:
            return _error(
                400, "give since: an ISO-8601 time with its offset (exchange time), e.g. 2026-11-24T15:30:00Z"
            )
        try:
            when = parse_since(since)
        except ValueError as exc:
            return _error(400, f"invalid since {since[:64]!r}: {exc}")
        found: list[Fill] = self.manager.fills(when)
        complete = self.manager.fills_complete_since()
        now = self.manager.exchange_time
        return _json(
            {
                "fills": found,
                "since": when.isoformat(),
                "completeSince": complete.isoformat() if complete is not None else None,
                "exchangeTime": now.isoformat() if now is not None else None,
            }
        )

    async def update_sltp(self, request: web.Request) -> web.Response:
        if (refused := self._refuse_when_stopping()) is not None:
            return refused
        body = await self._body(request, UpdateSltpRequest)
        if isinstance(body, web.Response):
            return body
        if body.stop_loss is None and body.take_profit is None:
            return _error(400, "give stopLoss, takeProfit or both")
        command = UpdateStopLossTakeProfit(
            command_id=new_message_id(),
            symbol=body.symbol,
            account_id=body.account_id,
            stop_loss=body.stop_loss,
            take_profit=body.take_profit,
        )
        service = request.query.get("service", "api")  # whose account, when the body names none
        result: CommandResult = await self.manager.execute_command(command, service=service)
        return _json(result, 200 if result.ok else 422)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        return await stream_queue(request, self.server, self._queues, WS_QUEUE)

    def broadcast(self, envelope: AnyEnvelope) -> None:
        """Every published event to every WebSocket client (a slow client drops its oldest)."""
        if self._queues:
            broadcast(self._queues, encode(envelope))

    async def openapi(self, _request: web.Request) -> web.Response:
        return _json(openapi_document())

    async def _body(self, request: web.Request, tp: type[Any]) -> Any:
        """The JSON body as ``tp``, or a 400 naming what is wrong with it (never a 500)."""
        try:
            data = await request.read()
        except web.HTTPException as exc:  # too large (413), or the client went away
            return _error(exc.status, f"invalid request body: {exc.reason}")
        if not data.strip():
            return _error(400, "empty request body: send a JSON object")
        try:
            return decode_body(data, tp)
        except BAD_BODY as exc:
            return _error(400, f"invalid request body: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, OverflowError):
        return f"a number out of range ({exc})"
    return str(exc)


def parse_since(value: str) -> dt.datetime:
    """An ISO-8601 time with its offset (``Z`` or ``+hh:mm``), as the exchange's time."""
    if len(value) > 64:
        raise ValueError("too long for a time")
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise ValueError("not an ISO-8601 time, e.g. 2026-11-24T15:30:00Z") from None
    if when.tzinfo is None:
        raise ValueError("give the offset (Z for UTC)")
    return when.astimezone(dt.UTC)


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for the API; message schemas come from the msgspec types themselves."""
    payloads: list[type[Payload]] = [PAYLOAD_TYPES[t] for t in COMMAND_MESSAGE_TYPES]
    (_, components) = msgspec.json.schema_components(
        [
            *payloads,
            CommandResult,
            PositionUpdate,
            OrderUpdate,
            Fill,
            UpdateSltpRequest,
            SwitchAccountRequest,
        ],
        ref_template="#/components/schemas/{name}",
    )

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def json_body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    secured: list[dict[str, list[str]]] = [{"ApiKey": []}]
    command_schema = {
        "type": "object",
        "required": ["type", "payload"],
        "properties": {
            "type": {"type": "string", "enum": [t.value for t in COMMAND_MESSAGE_TYPES]},
            "payload": {"oneOf": [ref(p.__name__) for p in payloads]},
        },
    }
    account = {
        "type": "object",
        "properties": {
            "service": {"type": "string"},
            "accountId": {"type": "integer"},
            "name": {"type": "string"},
            "balance": {"type": "number"},
            "canTrade": {"type": "boolean"},
        },
    }
    health = {
        "type": "object",
        "required": ["status", "service", "ready"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "service": {"type": "string"},
            "ready": {"type": "boolean"},
            "reason": {"type": "string", "description": "why not ready (only when ready is false)"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "tsxbot connection manager", "version": "1"},
        "components": {
            "schemas": components,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
        "paths": {
            "/health": {
                "get": {
                    "summary": "Liveness and readiness (no key needed)",
                    "responses": {
                        "200": ok(health, "Ready"),
                        "503": ok(health, "Not ready yet (logging in, connecting) or degraded: see reason"),
                    },
                }
            },
            "/status": {
                "get": {
                    "summary": "Connections, hubs, accounts, counters",
                    "security": secured,
                    "responses": {"200": ok({"type": "object"})},
                }
            },
            "/current-account/{service}": {
                "parameters": [
                    {"name": "service", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "get": {
                    "summary": "The account a service trades",
                    "security": secured,
                    "responses": {"200": ok(account)},
                },
                "post": {
                    "summary": "Switch the account a service trades",
                    "security": secured,
                    "requestBody": json_body(ref("SwitchAccountRequest")),
                    "responses": {"200": ok(account), "404": {"description": "Unknown account"}},
                },
            },
            "/account/balance": {
                "get": {
                    "summary": "Balance of the (service's) account",
                    "security": secured,
                    "responses": {"200": ok(account)},
                }
            },
            "/command": {
                "post": {
                    "summary": "Execute an order command (bypasses the aggregator's risk checks)",
                    "security": secured,
                    "requestBody": json_body(command_schema),
                    "responses": {
                        "200": ok(ref("CommandResult")),
                        "422": ok(ref("CommandResult"), "Refused"),
                        "400": {"description": "Malformed command (the error names what is wrong)"},
                        "413": {"description": "Body over 1 MiB"},
                    },
                }
            },
            "/api/positions": {
                "get": {
                    "summary": "Open positions (exchange truth)",
                    "security": secured,
                    "responses": {
                        "200": ok(
                            {
                                "type": "object",
                                "properties": {
                                    "positions": {"type": "array", "items": ref("PositionUpdate")},
                                    "stale": {
                                        "type": "boolean",
                                        "description": "reconciliation is failing (or the user hub is "
                                        "down): positions are as last confirmed (lastConfirmed)",
                                    },
                                },
                            }
                        )
                    },
                }
            },
            "/api/orders": {
                "get": {
                    "summary": "Working orders (entries, stops and targets), each with its bot",
                    "security": secured,
                    "responses": {
                        "200": ok(
                            {
                                "type": "object",
                                "properties": {"orders": {"type": "array", "items": ref("OrderUpdate")}},
                            }
                        )
                    },
                }
            },
            "/api/fills": {
                "get": {
                    "summary": "Fills published since a time (exchange time), oldest first",
                    "security": secured,
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "required": True,
                            "description": "ISO-8601 time with its offset, e.g. 2026-11-24T15:30:00Z",
                            "schema": {"type": "string", "format": "date-time"},
                        }
                    ],
                    "responses": {
                        "200": ok(
                            {
                                "type": "object",
                                "properties": {
                                    "fills": {"type": "array", "items": ref("Fill")},
                                    "since": {"type": "string", "format": "date-time"},
                                    "completeSince": {
                                        "type": ["string", "null"],
                                        "format": "date-time",
                                        "description": "every fill from then on is in the answer "
                                        "(null: not yet reconciled with the exchange)",
                                    },
                                    "exchangeTime": {
                                        "type": ["string", "null"],
                                        "format": "date-time",
                                        "description": "the exchange's time now (null: not known yet)",
                                    },
                                },
                            }
                        ),
                        "400": {"description": "since missing or not an ISO-8601 time with an offset"},
                    },
                }
            },
            "/api/position/update-sltp": {
                "post": {
                    "summary": "Move a position's stop loss and/or take profit",
                    "security": secured,
                    "requestBody": json_body(ref("UpdateSltpRequest")),
                    "responses": {
                        "200": ok(ref("CommandResult")),
                        "422": ok(ref("CommandResult"), "Refused"),
                    },
                }
            },
            "/ws": {
                "get": {
                    "summary": "WebSocket stream of every published event (JSON envelopes)",
                    "security": secured,
                    "responses": {"101": {"description": "Switching Protocols"}},
                }
            },
        },
    }
