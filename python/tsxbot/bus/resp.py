"""A lean Redis connection: RESP2 over asyncio streams, replies parsed by hiredis.

The bus needs pipelines of thousands of commands and a pub/sub reader that keeps up with
100k messages/s; a general client's per-command Python overhead does not (see BENCHMARKS.md).
It never retries on its own: the bus decides what a lost connection means for each message.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import hiredis

from tsxbot.bus.errors import RedisConnectionError, RedisReplyError
from tsxbot.handoff import hand_over

Arg = bytes | str | int | float


@dataclass(frozen=True)
class RedisAddress:
    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a unix socket instead of host and port
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> RedisAddress:
        """``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS),
        ``unix:///path/to/redis.sock[?db=N]``."""
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        username = unquote(parsed.username) if parsed.username else None
        password = unquote(parsed.password) if parsed.password else None
        if parsed.scheme == "unix":
            return cls(
                path=parsed.path, db=int(query.get("db", ["0"])[0]), username=username, password=password
            )
        if parsed.scheme not in ("redis", "rediss"):
            raise ValueError(f"not a redis URL: {url!r}")
        path_db = parsed.path.lstrip("/")
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 6379,
            db=int(path_db or query.get("db", ["0"])[0]),
            username=username,
            password=password,
            tls=parsed.scheme == "rediss",
        )


def _bytes(arg: Arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    return str(arg).encode()


def pack(*args: Arg) -> bytes:
    """One command in RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def reply_error(reply: Any) -> str | None:
    """The error text when ``reply`` is a Redis error reply, else None."""
    return str(reply) if isinstance(reply, hiredis.ReplyError) else None


class RespConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader()
        self._closed = False

    @classmethod
    async def open(
        cls, address: RedisAddress, *, connect_seconds: float, name: str | None = None
    ) -> RespConnection:
        try:
            async with asyncio.timeout(connect_seconds):
                if address.path is not None:
                    reader, writer = await asyncio.open_unix_connection(address.path)
                else:
                    reader, writer = await asyncio.open_connection(
                        address.host, address.port, ssl=ssl.create_default_context() if address.tls else None
                    )
                conn = cls(reader, writer)
                setup: list[bytes] = []
                if address.password is not None:
                    auth: tuple[Arg, ...] = (
                        ("AUTH", address.username, address.password)
                        if address.username
                        else ("AUTH", address.password)
                    )
                    setup.append(pack(*auth))
                if address.db:
                    setup.append(pack("SELECT", address.db))
                if name:
                    setup.append(pack("CLIENT", "SETNAME", name))
                # Last: a Redis that is still loading its data after a restart answers LOADING to
                # everything, and may finish half-way through a pipeline, so that its first commands
                # fail and its last ones succeed (durable writes out of order). Wait until it is ready.
                setup.append(pack("PING"))
                for reply in await conn.pipeline(setup):
                    if (error := reply_error(reply)) is not None:
                        await conn.close()
                        if error.startswith("LOADING"):
                            raise RedisConnectionError("redis is still loading its dataset")
                        raise RedisReplyError("connection set-up", error)
                return conn
        except TimeoutError:
            raise RedisConnectionError(f"connecting to redis timed out after {connect_seconds:g} s") from None
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to redis: {exc}") from None

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, data: bytes) -> None:
        if self._closed:
            raise RedisConnectionError("the connection is closed")
        self._writer.write(data)

    async def call(self, *args: Arg) -> Any:
        """One command; an error reply raises ``RedisReplyError``."""
        (reply,) = await self.pipeline([pack(*args)])
        if (error := reply_error(reply)) is not None:
            raise RedisReplyError(str(args[0]), error)
        return reply

    async def pipeline(self, commands: list[bytes], *, urgent: bool = True) -> list[Any]:
        """Sends packed commands in one write and reads one reply each. Error replies come back
        in the list (check with ``reply_error``): one failed command does not hide the others.
        ``urgent``: Redis gets the CPU right after the write (``tsxbot.handoff``): woken on this
        CPU, it would otherwise wait for whatever this process does before it next waits. Not
        for a write nobody waits on now (a blocking read re-armed before its batch is handled,
        acknowledgements): this process's own work comes first there."""
        self.write(b"".join(commands))
        if urgent:
            hand_over()
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            self._lost()
            raise RedisConnectionError(f"redis connection lost: {exc}") from None
        return await self.read(len(commands))

    async def pipeline_within(
        self, commands: list[bytes], seconds: float, *, urgent: bool = True
    ) -> list[Any]:
        """:meth:`pipeline` with a time limit (``TimeoutError``), in the calling task: the
        commands are written before its first suspension (``asyncio.wait_for`` would run them in
        a task of their own, written a turn of the event loop later: a publisher woken by a fill
        would write it only after the rest of the handler's batch)."""
        async with asyncio.timeout(seconds):
            return await self.pipeline(commands, urgent=urgent)

    async def read(self, count: int) -> list[Any]:
        replies: list[Any] = []
        parser = self._parser
        while True:
            while len(replies) < count:
                reply = parser.gets()
                if reply is False:
                    break
                replies.append(reply)
            if len(replies) >= count:
                return replies
            await self._fill()

    async def read_available(self) -> list[Any]:
        """At least one reply: everything parsed from the next read of the socket (pub/sub)."""
        parser = self._parser
        while True:
            replies: list[Any] = []
            reply = parser.gets()
            while reply is not False:
                replies.append(reply)
                reply = parser.gets()
            if replies:
                return replies
            await self._fill()

    async def _fill(self) -> None:
        try:
            data = await self._reader.read(1 << 18)
        except OSError as exc:
            self._lost()
            raise RedisConnectionError(f"redis connection lost: {exc}") from None
        if not data:
            self._lost()
            raise RedisConnectionError("redis closed the connection")
        try:
            self._parser.feed(data)
        except hiredis.ProtocolError as exc:
            self._lost()
            raise RedisConnectionError(f"redis protocol error: {exc}") from None

    def _lost(self) -> None:
        self._closed = True
        self._writer.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(OSError, RuntimeError):
            await self._writer.wait_closed()
