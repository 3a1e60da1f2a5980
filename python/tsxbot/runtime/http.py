"""The one way a service serves HTTP: an aiohttp application on host:port (port 0: a free one,
read back after the start), its WebSocket clients closed on the way out, JSON responses and
errors shaped the same everywhere."""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import msgspec
from aiohttp import web

from tsxbot.log import get_logger

log = get_logger("tsxbot.runtime.http")


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
