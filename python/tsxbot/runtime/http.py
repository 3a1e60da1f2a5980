"""The one way a service serves HTTP: an aiohttp application on host:port (port 0: a free one,
read back after the start), its WebSocket clients closed on the way out, JSON responses and
errors shaped the same everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any, TypeVar

import msgspec
from aiohttp import WSMsgType, web

from tsxbot.log import get_logger
from tsxbot.messages.codec import utf8_problem

log = get_logger("tsxbot.runtime.http")
WS_HEARTBEAT_SECONDS = 30.0
T = TypeVar("T")
# What a malformed body can raise while it is decoded (DecodeError covers ValidationError and
# invalid UTF-8; RecursionError: nesting deeper than the decoder goes).
BAD_BODY = (msgspec.DecodeError, RecursionError, ValueError, OverflowError)


def decode_body(data: bytes, tp: type[T]) -> T:
    """A request body decoded as ``tp``, or one of ``BAD_BODY``; the whole body must be UTF-8 first
    (see ``utf8_problem``: an unknown key or a misspelt optional field's name with a stray byte would
    otherwise be accepted)."""
    problem = utf8_problem(data)
    if problem is not None:
        raise msgspec.DecodeError(problem)
    return msgspec.json.decode(data, type=tp)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(data), status=status, content_type="application/json")


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    return json_response({"error": message, **extra}, status)


class HttpServer:
    """Serves ``app`` on ``host:port``; ``port`` holds the bound port once started. WebSockets
    registered with ``track`` are closed (1001) before the server stops."""

    def __init__(self, app: web.Application, host: str, port: int, what: str) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.what = what
        self._runner: web.AppRunner | None = None
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def track(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:  # tests ask for a free port
            self.port = int(self._runner.addresses[0][1])
        log.info(f"{self.what} listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None


def broadcast(queues: set[asyncio.Queue[bytes]], data: bytes) -> None:
    """``data`` to every WebSocket client's queue; a full queue (a slow client) drops its oldest."""
    for queue in queues:
        if queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
        queue.put_nowait(data)


async def stream_queue(
    request: web.Request,
    server: HttpServer,
    clients: set[asyncio.Queue[bytes]],
    size: int,
    first: bytes | None = None,
) -> web.WebSocketResponse:
    """Serves one WebSocket client: ``first`` (if any), then whatever is ``broadcast`` to
    ``clients`` while it is connected; what the client sends is read and ignored."""
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_SECONDS)
    await ws.prepare(request)
    server.track(ws)
    queue: asyncio.Queue[bytes] = asyncio.Queue(size)
    if first is not None:
        queue.put_nowait(first)
    clients.add(queue)
    sender = asyncio.create_task(_send(ws, queue))
    try:
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        clients.discard(queue)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return ws


async def _send(ws: web.WebSocketResponse, queue: asyncio.Queue[bytes]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        while True:
            data = await queue.get()
            await ws.send_str(data.decode())
