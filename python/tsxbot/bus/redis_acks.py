"""Acknowledgements over Redis: one writer per bus batches every pending ack into one pipeline.

Each ack records the message id in the stream's published set (``redis_append``: so that it
stays there at least as long as in any group's handled set), in the group's handled set, then
XACKs the entry, in that order: a crash between the last two leaves the entry pending, and its
redelivery is recognised as a duplicate by its id. Acks are idempotent, so after a lost
connection they are simply sent again. An error reply while connecting (``BUSY``, ``NOAUTH``...)
is retried with backoff, and anything unexpected restarts the writer (logged): an ``ack`` waits,
it is never forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from tsxbot.bus.backoff import Backoff
from tsxbot.bus.errors import BusClosedError, RedisConnectionError, RedisReplyError
from tsxbot.bus.resp import RedisAddress, RespConnection, pack, reply_error
from tsxbot.bus.tasks import cancel_and_wait
from tsxbot.config.global_config import BusConfig
from tsxbot.log import get_logger

log = get_logger("tsxbot.bus.redis")

# How often (in acks) each handled set is trimmed to the dedupe window.
_TRIM_EVERY = 1000

# stream, group, entry id, handled set, published set, message id, and the future ``ack`` waits on.
_Ack = tuple[bytes, bytes, bytes, bytes, bytes, str, "asyncio.Future[None]"]


class AckWriter:
    def __init__(self, address: RedisAddress, config: BusConfig, client_name: str) -> None:
        self._address = address
        self._config = config
        self._client_name = client_name
        self._queue: list[_Ack] = []
        self._sending: list[_Ack] = []  # the batch being written
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: RespConnection | None = None
        self._since_trim: dict[bytes, int] = {}
        self._closed = False
        self.writes = 0  # pipelines written (a batch of acks each)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="bus-redis-acks")

    async def ack(
        self,
        stream: bytes,
        group: bytes,
        entry_id: bytes,
        handled_key: bytes,
        published_key: bytes,
        message_id: str,
    ) -> None:
        """Returns once Redis has recorded the ack."""
        if self._closed:
            raise BusClosedError("the bus is closed: the ack was not recorded (the message stays pending)")
        future = asyncio.get_running_loop().create_future()
        self._queue.append((stream, group, entry_id, handled_key, published_key, message_id, future))
        self._wake.set()
        await future

    async def close(self, flush_seconds: float | None) -> None:
        if self._task is not None:
            if waiting := [f for *_, f in (*self._sending, *self._queue)]:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(flush_seconds):
                        await asyncio.gather(*waiting, return_exceptions=True)
            await cancel_and_wait([self._task])
        self._closed = True
        for *_, future in (*self._sending, *self._queue):
            if not future.done():
                future.set_exception(BusClosedError("the bus closed before the ack was recorded"))
        self._sending = []
        self._queue.clear()
        if self._conn is not None:
            await self._conn.close()

    async def _connection(self, backoff: Backoff) -> RespConnection:
        while self._conn is None or self._conn.closed:
            try:
                self._conn = await RespConnection.open(
                    self._address,
                    connect_seconds=self._config.connect_timeout_seconds,
                    name=self._client_name,
                )
            except RedisConnectionError as exc:
                delay = backoff.next_delay()
                log.warning("redis unreachable, acks waiting", error=str(exc), retry_in_s=round(delay, 3))
                await asyncio.sleep(delay)
            except RedisReplyError as exc:  # BUSY (a script running), NOAUTH, MISCONF...: wait it out
                delay = backoff.next_delay()
                log.error(
                    "redis refused the connection set-up, acks waiting",
                    error=exc.reply,
                    waiting=len(self._queue) + len(self._sending),
                    retry_in_s=round(delay, 3),
                )
                await asyncio.sleep(delay)
        return self._conn

    async def _run(self) -> None:
        """The writer, restarted after anything unexpected (logged): it never silently ends while
        acks wait. A batch it was writing is sent again (acks are idempotent)."""
        backoff = Backoff(self._config.reconnect_initial_seconds, self._config.reconnect_max_seconds)
        while True:
            try:
                await self._write_forever(backoff)
            except Exception:
                delay = backoff.next_delay()
                log.exception(
                    "redis ack writer failed, restarting it",
                    waiting=len(self._queue) + len(self._sending),
                    retry_in_s=round(delay, 3),
                )
                self._queue[:0] = self._sending
                self._sending = []
                if self._conn is not None:
                    await self._conn.close()
                await asyncio.sleep(delay)

    async def _write_forever(self, backoff: Backoff) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            conn = await self._connection(backoff)
            batch, self._queue = self._queue, []
            self._sending = batch  # out of the queue: put back if the writer fails
            now_ms = int(time.time() * 1000)
            commands: list[bytes] = []
            for stream, group, entry_id, handled_key, published_key, message_id, _ in batch:
                commands.append(pack(b"ZADD", published_key, now_ms, message_id))
                commands.append(pack(b"ZADD", handled_key, now_ms, message_id))
                commands.append(pack(b"XACK", stream, group, entry_id))
                count = self._since_trim.get(handled_key, 0) + 1
                if count >= _TRIM_EVERY:
                    count = 0
                    cutoff = now_ms - self._config.dedupe_window_seconds * 1000
                    commands.append(pack(b"ZREMRANGEBYSCORE", handled_key, b"-inf", cutoff))
                self._since_trim[handled_key] = count
            try:
                self.writes += 1
                replies = await conn.pipeline_within(
                    commands, self._config.command_timeout_seconds, urgent=False
                )
            except (RedisConnectionError, TimeoutError) as exc:
                await conn.close()
                self._queue[:0] = batch  # idempotent: send them again, first
                self._sending = []
                delay = backoff.next_delay()
                log.warning(
                    "redis ack write failed, retrying",
                    error=str(exc) or "timeout",
                    retry_in_s=round(delay, 3),
                )
                await asyncio.sleep(delay)
                continue
            self._sending = []
            errors = [e for r in replies if (e := reply_error(r)) is not None]
            # NOGROUP: Redis restarted without its data, nothing is pending any more: done.
            # Anything else (LOADING after a restart, OOM) is passing: send the batch again.
            if any(not e.startswith("NOGROUP") for e in errors):
                self._queue[:0] = batch
                delay = backoff.next_delay()
                log.warning(
                    "redis refused acks, retrying", errors=sorted(set(errors))[:3], retry_in_s=round(delay, 3)
                )
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            for *_, future in batch:
                if not future.done():
                    future.set_result(None)
