"""A bare SignalR JSON-protocol client on aiohttp (for wire-level tests), and a recorder that
waits for events pushed to the real client libraries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

RS = "\x1e"


class RawHub:
    """One WebSocket speaking the JSON hub protocol by hand."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.pending: list[dict[str, Any]] = []
        self.seen: list[dict[str, Any]] = []  # every record taken off the socket, in order

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        handshake: dict[str, Any] | None = None,
        autoping: bool = True,
    ) -> RawHub:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url.replace("http://", "ws://"), headers=headers, autoping=autoping)
        except BaseException:
            await session.close()
            raise
        hub = cls(session, ws)
        await hub.send_text(json.dumps(handshake or {"protocol": "json", "version": 1}) + RS)
        return hub

    async def send_text(self, text: str) -> None:
        await self.ws.send_str(text)

    async def send(self, *messages: dict[str, Any]) -> None:
        await self.send_text("".join(json.dumps(m) + RS for m in messages))

    async def invoke(self, target: str, *args: Any, invocation_id: str | None = "1") -> None:
        message: dict[str, Any] = {"type": 1, "target": target, "arguments": list(args)}
        if invocation_id is not None:
            message["invocationId"] = invocation_id
        await self.send(message)

    async def next(self, within: float = 5.0) -> dict[str, Any]:
        """The next record (the handshake reply ``{}`` included)."""
        deadline = time.monotonic() + within
        while not self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no record from the server")
            msg = await self.ws.receive(timeout=remaining)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                raise ConnectionResetError("the server closed the socket")
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            assert msg.data.endswith(RS), "a record was split across frames"
            records = [json.loads(r) for r in msg.data.split(RS)[:-1]]
            self.pending.extend(records)
            self.seen.extend(records)
        return self.pending.pop(0)

    async def next_where(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 5.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            record = await self.next(max(0.01, deadline - time.monotonic()))
            if predicate(record):
                return record

    async def completion(self, invocation_id: str = "1", within: float = 5.0) -> dict[str, Any]:
        return await self.next_where(
            lambda r: r.get("type") == 3 and r.get("invocationId") == invocation_id, within
        )

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


class Recorder:
    """Collects (event, arguments) pairs from client callbacks; waits for a condition."""

    def __init__(self, *, threaded: bool = False) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        self._threaded = threaded  # callbacks on other threads (signalrcore): poll, never signal

    def add(self, name: str, args: Any) -> None:
        self.events.append((name, args))
        if not self._threaded:
            self._changed.set()

    def of(self, name: str) -> list[Any]:
        return [args for event, args in self.events if event == name]

    async def wait(self, condition: Callable[[], bool], within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met; got {[e for e, _ in self.events][-20:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))
