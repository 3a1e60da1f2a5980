"""A TCP proxy in front of a real Redis that can, for a while, answer every command itself: with
an error reply, as a Redis busy running a script (``-BUSY``) or wrongly configured (``-NOAUTH``,
``-MISCONF``) does, or with a reply of the wrong shape. Real sockets and real RESP: the bus under
test cannot tell it from a Redis in that state.

    proxy = RedisProxy(redis.host, redis.port)
    await proxy.start()                    # forwards everything to the real Redis
    proxy.answer(b"-BUSY ...\\r\\n")        # drops every connection; new ones get that reply
    proxy.forward()                        # new connections reach the real Redis again
"""

from __future__ import annotations

import asyncio
import contextlib

import hiredis


class RedisProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._reply: bytes | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # The role (the last part of the ``CLIENT SETNAME`` name: pub, ack, sub, journal) of every
        # connection the proxy answered itself, in order.
        self.answered: list[str] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"redis://{host}:{port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    def answer(self, reply: bytes) -> None:
        """From now on every command of every new connection gets ``reply`` (raw RESP); the
        connections open now are dropped."""
        self._reply = reply
        for writer in list(self._writers):
            writer.close()

    def forward(self) -> None:
        """New connections reach the real Redis again."""
        self._reply = None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            if self._reply is not None:
                await self._answer(reader, writer, self._reply)
            else:
                await self._forward(reader, writer)
        except (OSError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: bytes) -> None:
        parser = hiredis.Reader()
        role: str | None = None
        while data := await reader.read(1 << 16):
            parser.feed(data)
            replies: list[bytes] = []
            while (command := parser.gets()) is not False:
                if command[:2] == [b"CLIENT", b"SETNAME"] and role is None:
                    role = command[2].decode().rsplit("-", 1)[-1]
                    self.answered.append(role)
                replies.append(reply)
            writer.write(b"".join(replies))
            await writer.drain()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers.add(up_writer)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(1 << 16):
                    sink.write(data)
                    await sink.drain()

        try:
            pumps = [
                asyncio.create_task(pump(reader, up_writer)),
                asyncio.create_task(pump(up_reader, writer)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for p in pumps:
                    p.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._writers.discard(up_writer)
            up_writer.close()
