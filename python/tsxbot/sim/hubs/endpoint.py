"""A SignalR hub endpoint: ``POST {hub}/negotiate`` (versions 0 and 1) and the WebSocket at
``{hub}`` (with a negotiated ``id=`` or straight away, skip-negotiation), the token from the
``access_token`` query parameter or a Bearer header, the handshake, method dispatch by
case-insensitive name with completions, keep-alive, client timeout and token expiry.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from tsxbot.config.simulator import HubSettings
from tsxbot.log import get_logger
from tsxbot.sim.faults.state import FaultState
from tsxbot.sim.hubs import protocol
from tsxbot.sim.hubs.connection import HubConnection, Topic
from tsxbot.sim.tokens import TokenInfo, TokenStore

log = get_logger("tsxbot.sim.hubs")

MAX_MESSAGE_BYTES = 32 * 1024
NEGOTIATION_TTL_S = 60.0
BINDING_ERROR = (
    "Failed to invoke '{name}' due to an error on the server. InvalidDataException: Error binding "
    "arguments. Make sure that the types of the provided values match the types of the hub method "
    "being invoked."
)


class HubMethodError(Exception):
    """A hub method refused its call; the text goes back in the Completion's ``error``."""


HubMethod = Callable[[HubConnection, list[Any]], None]


@dataclass
class _Negotiated:
    connection_id: str
    token: TokenInfo
    created: float


def _new_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        return header[7:].strip()
    return None


class HubEndpoint:
    def __init__(self, name: str, settings: HubSettings, tokens: TokenStore, faults: FaultState) -> None:
        self.name = name
        self.settings = settings
        self.tokens = tokens
        self.faults = faults
        self.methods: dict[str, tuple[str, int, HubMethod]] = {}
        self.connections: dict[str, HubConnection] = {}
        self.topics: dict[Topic, set[HubConnection]] = {}
        self._negotiated: dict[str, _Negotiated] = {}
        # The negotiated keys (connectionToken and connectionId) of live connections: a second
        # WebSocket with one of them is 409 Conflict, as on ASP.NET (unknown keys are 404).
        self._live_keys: dict[str, str] = {}
        self.connects = 0
        self.subscribe_calls = 0
        self._held: dict[HubConnection, list[bytes]] = {}

    # --- methods and topics --------------------------------------------------------------------
    def method(self, name: str, arity: int, handler: HubMethod) -> None:
        self.methods[name.lower()] = (name, arity, handler)

    def subscribe(self, conn: HubConnection, topic: Topic) -> None:
        conn.subscriptions.add(topic)
        self.topics.setdefault(topic, set()).add(conn)
        self.subscribe_calls += 1

    def unsubscribe(self, conn: HubConnection, topic: Topic) -> None:
        conn.subscriptions.discard(topic)
        members = self.topics.get(topic)
        if members is not None:
            members.discard(conn)
            if not members:
                del self.topics[topic]

    def subscribers(self, topic: Topic) -> set[HubConnection]:
        return self.topics.get(topic) or set()

    def publish(self, conns: Iterable[HubConnection], target: str, record: bytes) -> None:
        """Sends one encoded push to each connection, through the event faults if any."""
        faults = self.faults.events
        if faults is None or not faults.applies(self.name, target):
            for conn in conns:
                conn.send(record)
                conn.pushes += 1
            return
        rng = self.faults.rng
        for conn in conns:
            if faults.drop and rng.random() < faults.drop:
                continue
            if faults.reorder and rng.random() < faults.reorder:
                self._held.setdefault(conn, []).append(record)
                continue
            conn.send(record)
            conn.pushes += 1
            if faults.duplicate and rng.random() < faults.duplicate:
                conn.send(record)
            for held in self._held.pop(conn, []):
                conn.send(held)

    # --- HTTP handlers -------------------------------------------------------------------------
    def _token_from(self, request: web.Request) -> str | None:
        for value in request.query.getall("access_token", []):
            if value:
                return value
        return bearer_token(request)

    def _authenticate(self, request: web.Request) -> TokenInfo:
        check = self.tokens.check(self._token_from(request))
        if check.problem is not None or check.info is None:
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return check.info

    async def negotiate(self, request: web.Request) -> web.StreamResponse:
        refusal = self.faults.refused(self.name)
        if refusal is not None:
            return web.Response(status=refusal.status)
        token = self._authenticate(request)
        try:
            requested = int(request.query.get("negotiateVersion", "0"))
        except ValueError:
            requested = 0
        version = min(max(requested, 0), 1)
        connection_id = _new_id()
        entry = _Negotiated(connection_id, token, time.monotonic())
        body: dict[str, Any] = {"connectionId": connection_id, "negotiateVersion": version}
        if version >= 1:
            connection_token = _new_id()
            body["connectionToken"] = connection_token
            self._negotiated[connection_token] = entry
        self._negotiated[connection_id] = entry
        body["availableTransports"] = [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}]
        self._expire_negotiations()
        return web.json_response(body)

    def _expire_negotiations(self) -> None:
        cutoff = time.monotonic() - NEGOTIATION_TTL_S
        for key in [k for k, v in self._negotiated.items() if v.created < cutoff]:
            del self._negotiated[key]

    async def connect(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=400, text="Connection ID required")
        refusal = self.faults.refused(self.name)
        if refusal is not None:
            return web.Response(status=refusal.status)
        token = self._authenticate(request)
        given = request.query.get("id")
        keys: list[str] = []
        if given:
            if given in self._live_keys or any(c.id == given for c in self.connections.values()):
                return web.Response(status=409, text="Connection ID already in use")
            entry = self._negotiated.pop(given, None)
            if entry is None:
                return web.Response(status=404, text="No Connection with that ID")
            keys = [given, *(k for k, v in self._negotiated.items() if v is entry)]
            for key in keys[1:]:
                del self._negotiated[key]
            connection_id = entry.connection_id
        else:
            connection_id = _new_id()
        for key in keys:
            self._live_keys[key] = connection_id
        try:
            ws = web.WebSocketResponse(
                heartbeat=None, autoping=True, compress=False, max_msg_size=4 * 1024 * 1024
            )
            await ws.prepare(request)
            conn = HubConnection(self.name, connection_id, ws, token)
            try:
                await self._run(conn)
            finally:
                self._drop(conn)
        finally:
            for key in keys:
                self._live_keys.pop(key, None)
        return ws

    # --- the connection's life -----------------------------------------------------------------
    async def _handshake(self, conn: HubConnection) -> bool:
        ws = conn.ws
        try:
            msg = await asyncio.wait_for(ws.receive(), self.settings.handshake_timeout)
        except TimeoutError:
            await ws.close()
            return False
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return False
        text = msg.data if msg.type is WSMsgType.TEXT else bytes(msg.data).decode("utf-8", "replace")
        records = text.split(protocol.RS)
        forced = self.faults.handshake_error.get(self.name) or self.faults.handshake_error.get("*")
        error = forced or (
            protocol.check_handshake(records[0]) if len(records) > 1 else "Handshake record incomplete."
        )
        if error is not None:
            await ws.send_frame(protocol.handshake_error(error), WSMsgType.TEXT)
            await ws.close()
            return False
        await ws.send_frame(protocol.HANDSHAKE_OK, WSMsgType.TEXT)
        conn.last_outbound = time.monotonic()
        rest = protocol.RS.join(records[1:])
        if rest:
            await self._handle_text(conn, rest)
        return True

    async def _run(self, conn: HubConnection) -> None:
        if not await self._handshake(conn):
            return
        self.connections[conn.id] = conn
        self.connects += 1
        conn.start()
        keepalive = asyncio.ensure_future(self._keepalive(conn))
        try:
            async for msg in conn.ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    conn.last_inbound = time.monotonic()
                    data = (
                        msg.data if msg.type is WSMsgType.TEXT else bytes(msg.data).decode("utf-8", "replace")
                    )
                    if len(data) > MAX_MESSAGE_BYTES:
                        await conn.close(
                            "Connection closed with an error. The maximum message size was exceeded."
                        )
                        break
                    if not await self._handle_text(conn, data):
                        break
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE, WSMsgType.CLOSING):
                    break
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive
            await conn.abort(reason=conn.close_reason or "client closed")

    async def _handle_text(self, conn: HubConnection, data: str) -> bool:
        """Handles every record in one message; False when the connection must end."""
        try:
            records = protocol.split_records(data)
            for record in records:
                if not await self._handle(conn, protocol.parse(record)):
                    return False
        except protocol.ProtocolError as exc:
            await conn.close(f"Connection closed with an error. InvalidDataException: {exc}")
            return False
        return True

    async def _handle(self, conn: HubConnection, message: dict[str, Any]) -> bool:
        kind = message.get("type")
        if kind == protocol.INVOCATION:
            await self._invoke(conn, message)
        elif kind == protocol.STREAM_INVOCATION:
            invocation_id = message.get("invocationId")
            if isinstance(invocation_id, str):
                conn.send(protocol.completion(invocation_id, "Streaming hub methods are not supported."))
        elif kind == protocol.CLOSE:
            await conn.abort(reason="client sent Close")
            return False
        elif kind is None:
            raise protocol.ProtocolError("Missing required property 'type'.")
        # Ping, CancelInvocation, Completion (client results) and others: nothing to do.
        return True

    async def _invoke(self, conn: HubConnection, message: dict[str, Any]) -> None:
        conn.invocations += 1
        invocation_id = message.get("invocationId")
        target = message.get("target")
        arguments = message.get("arguments", [])
        error: str | None = None
        found = self.methods.get(target.lower()) if isinstance(target, str) else None
        if found is None:
            error = f"Unknown hub method '{target}'"
        elif not isinstance(arguments, list) or len(arguments) != found[1]:
            count = len(arguments) if isinstance(arguments, list) else 0
            error = f"Invocation provides {count} argument(s) but target expects {found[1]}."
        else:
            try:
                found[2](conn, arguments)
            except HubMethodError as exc:
                error = str(exc)
            except (TypeError, ValueError):
                error = BINDING_ERROR.format(name=found[0])
        if not isinstance(invocation_id, str):
            return  # fire-and-forget: never answered, even on error
        if self.faults.drop_completions.get(self.name):
            return
        delay = self.faults.completion_delay_s.get(self.name, 0.0)
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, conn.send, protocol.completion(invocation_id, error))
        else:
            conn.send(protocol.completion(invocation_id, error))

    async def _keepalive(self, conn: HubConnection) -> None:
        settings = self.settings
        tick = min(settings.keep_alive_interval, settings.client_timeout_interval) / 4
        while not conn.closed:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if now < conn.stalled_until:
                continue
            if now - conn.last_inbound >= settings.client_timeout_interval:
                await conn.close("Server timeout elapsed without receiving a message from the client.")
                return
            if settings.on_token_expiry == "close" and time.time() >= conn.token.expires_at:
                await conn.close("Unauthorized: the access token has expired.", allow_reconnect=True)
                return
            if now - conn.last_outbound >= settings.keep_alive_interval:
                conn.send(protocol.PING)

    def _drop(self, conn: HubConnection) -> None:
        """A connection ended: it leaves every topic (subscriptions never survive)."""
        self.connections.pop(conn.id, None)
        for topic in list(conn.subscriptions):
            self.unsubscribe(conn, topic)
        self._held.pop(conn, None)

    # --- faults --------------------------------------------------------------------------------
    def pick(self, connection_id: str | None) -> list[HubConnection]:
        if connection_id:
            found = self.connections.get(connection_id)
            return [found] if found else []
        return list(self.connections.values())

    async def close_all(self, error: str | None = None, allow_reconnect: bool | None = None) -> None:
        await asyncio.gather(*(c.close(error, allow_reconnect) for c in list(self.connections.values())))

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "connectionId": c.id,
                "openedAt": c.opened_at,
                "subscriptions": [
                    t.describe() for t in sorted(c.subscriptions, key=lambda t: (t.method, str(t.arg)))
                ],
                "invocations": c.invocations,
                "pushes": c.pushes,
                "queuedBytes": c.queued_bytes,
            }
            for c in self.connections.values()
        ]
