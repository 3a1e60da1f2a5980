"""One SignalR connection: its subscriptions (dropped with it), an outbox drained by one writer
task (records batched into as few text frames as possible, never split), keep-alive pings when
idle, the client timeout, and the fault hooks (stall, drop, close)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, NamedTuple

from aiohttp import WSMsgType, web

from tsxbot.log import get_logger
from tsxbot.sim.hubs import protocol
from tsxbot.sim.tokens import TokenInfo

log = get_logger("tsxbot.sim.hubs")

MAX_FRAME_BYTES = 256 * 1024


class Topic(NamedTuple):
    """What a connection subscribed to: the hub method that subscribes to it and its argument
    (``SubscribeOrders(1001)``; ``arg`` None for SubscribeAccounts, which takes none)."""

    method: str
    arg: int | str | None = None

    def describe(self) -> dict[str, Any]:
        """As ``/admin/state`` shows it: ``{"method": "SubscribeOrders", "args": [1001]}``."""
        return {"method": self.method, "args": [] if self.arg is None else [self.arg]}


class HubConnection:
    def __init__(self, hub: str, connection_id: str, ws: web.WebSocketResponse, token: TokenInfo) -> None:
        self.hub = hub
        self.id = connection_id
        self.ws = ws
        self.token = token
        self.subscriptions: set[Topic] = set()
        self.opened_at = time.time()
        self.last_inbound = time.monotonic()
        self.last_outbound = time.monotonic()
        self.stalled_until = 0.0
        self.invocations = 0
        self.pushes = 0
        self.closed = False
        self.close_reason: str | None = None
        self._outbox: list[bytes] = []
        self.queued_bytes = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._writer: asyncio.Task[None] | None = None

    # --- sending -------------------------------------------------------------------------------
    def start(self) -> None:
        self._writer = asyncio.ensure_future(self._write_loop())

    def send(self, record: bytes) -> None:
        if self.closed:
            return
        self._outbox.append(record)
        self.queued_bytes += len(record)
        self._drained.clear()
        self._wake.set()

    async def wait_drained(self, within: float) -> bool:
        try:
            await asyncio.wait_for(self._drained.wait(), within)
        except TimeoutError:
            return False
        return True

    async def _write_loop(self) -> None:
        ws = self.ws
        try:
            while not self.closed:
                await self._wake.wait()
                self._wake.clear()
                pause = self.stalled_until - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                    self._wake.set()
                    continue
                while self._outbox:
                    batch: list[bytes] = []
                    size, taken = 0, 0
                    for record in self._outbox:
                        if batch and size + len(record) > MAX_FRAME_BYTES:
                            break
                        batch.append(record)
                        size += len(record)
                        taken += 1
                    del self._outbox[:taken]
                    self.queued_bytes -= size
                    await ws.send_frame(b"".join(batch), WSMsgType.TEXT)
                    self.last_outbound = time.monotonic()
                self._drained.set()
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            self._drained.set()
        except Exception as exc:  # the socket went away under us
            log.debug("hub writer stopped", hub=self.hub, connection=self.id, error=repr(exc))
            self._drained.set()

    async def flush(self, within: float = 2.0) -> None:
        if self._outbox and self.stalled_until <= time.monotonic():
            await self.wait_drained(within)

    # --- closing -------------------------------------------------------------------------------
    async def close(self, error: str | None = None, allow_reconnect: bool | None = None) -> None:
        """Sends a SignalR Close, then closes the socket normally."""
        if self.closed:
            return
        self.send(protocol.close_message(error, allow_reconnect))
        await self.flush()
        await self.abort(reason=error or "closed by the server", code=1000)

    async def abort(self, reason: str = "dropped", code: int = 1000) -> None:
        """Closes the socket without a SignalR Close (a drop, as a network failure looks)."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self._wake.set()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)

    async def kill(self) -> None:
        """Drops the TCP connection with no WebSocket close frame at all."""
        self.closed = True
        self.close_reason = "killed"
        if self._writer is not None:
            self._writer.cancel()
        transport = self.ws._req.transport if self.ws._req is not None else None
        if transport is not None:
            transport.abort()
