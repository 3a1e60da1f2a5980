"""The Redis publisher: a bounded buffer per kind and one writer task that sends it in pipelined
batches (for durable channels the append script of ``redis_append``, an XADD that marks a message
id new to its stream; PUBLISH for ephemeral ones), in publish order. A batch's durable writes form
one MULTI/EXEC transaction, so Redis takes all of them or none.

- A durable message leaves the buffer only once Redis has confirmed its XADD; a lost connection
  means the unconfirmed batch is sent again after the reconnect (a copy Redis had already taken is
  skipped by the consumers' deduplication by message id). When the durable buffer is full,
  ``publish`` waits for room, then raises ``BusFullError``: never a silent drop.
- An ephemeral message beyond the buffer drops the oldest ephemeral one (counted); a batch lost
  with a connection is counted as dropped too (pub/sub gives no more than that anyway).
- An error reply while connecting (``BUSY`` while Redis runs a script, ``NOAUTH``, ``MISCONF``) is
  retried with backoff like an unreachable Redis, logged with its text. Anything unexpected
  restarts the writer after a backoff (logged with its traceback): it never silently ends.
- Durable messages Redis has not confirmed when the bus closes are never dropped: they are kept
  in a spill file that the next start sends first (``redis_spill``).
- Durable streams are appended to without ``MAXLEN``; the writer trims them every
  ``streamTrimIntervalSeconds`` of what every consumer group has acknowledged (``redis_trim``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsxbot.bus.backoff import Backoff
from tsxbot.bus.errors import BusClosedError, BusFullError, RedisConnectionError, RedisReplyError
from tsxbot.bus.metrics import PublisherCounters
from tsxbot.bus.redis_append import append_command, append_head, marked_with_others
from tsxbot.bus.redis_names import RedisNames
from tsxbot.bus.redis_spill import SpillDirectory
from tsxbot.bus.redis_trim import StreamTrimmer
from tsxbot.bus.resp import RedisAddress, RespConnection, pack, reply_error
from tsxbot.bus.tasks import cancel_and_wait
from tsxbot.config.global_config import BusConfig
from tsxbot.log import get_logger
from tsxbot.messages import AnyEnvelope, Channel, encode

log = get_logger("tsxbot.bus.redis")

_MULTI = pack(b"MULTI")
_EXEC = pack(b"EXEC")


def _taken(replies: list[Any], durable: int) -> tuple[list[bool], str | None]:
    """Which of the ``durable`` writes at the head of the batch Redis took, and why it refused
    one. ``replies``: MULTI, one QUEUED per write, EXEC's, then the ephemeral ones. A refusal at
    queueing (OOM, LOADING) aborts the whole transaction; one while executing (WRONGTYPE on
    that key) refuses that write only, and Redis applies the others."""
    if durable == 0:
        return [], None
    results = replies[durable + 1]
    if reply_error(results) is not None:  # EXECABORT: say what was refused when queued
        queued = (reply_error(r) for r in replies[: durable + 1])
        return [False] * durable, next((e for e in queued if e is not None), reply_error(results))
    if not isinstance(results, list) or len(results) != durable:
        # Never guess from a reply of the wrong shape which writes were taken (the writer restarts).
        raise RuntimeError(f"unexpected reply to EXEC of {durable} writes: {results!r:.100}")
    errors = [reply_error(result) for result in results]
    return [e is None for e in errors], next((e for e in errors if e is not None), None)


class RedisPublisher:
    def __init__(self, address: RedisAddress, config: BusConfig, names: RedisNames, client_name: str) -> None:
        self._address = address
        self._config = config
        self._names = names
        self._client_name = client_name
        self.counters = PublisherCounters()
        self.counters.connected = False
        self._durable: deque[bytes] = deque()
        self._ephemeral: deque[bytes] = deque()
        self._headers: dict[str, bytes] = {}
        self._wake = asyncio.Event()
        self._room: asyncio.Event = asyncio.Event()
        self._enqueued = 0  # every message accepted, both kinds
        self._done = 0  # confirmed, or (ephemeral) dropped
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._conn: RespConnection | None = None
        self._closing = False
        self._ever_connected = False
        self._sending_ephemeral = 0  # ephemeral messages of the batch being written
        self.trimmer = StreamTrimmer(config)  # the durable streams written to, trimmed by the writer
        self._next_trim = 0.0
        # Unconfirmed durable messages at close go to this file; the next start sends them first.
        self.spill = SpillDirectory(config.spill_dir, names.namespace)
        self._confirmed_durable = 0  # durable writes Redis confirmed (they leave the head, in order)
        # The spill files re-sent at start, and the count of confirmed writes that covers them.
        self._spilled_files: list[Path] = []
        self._spilled_pending = 0

    @property
    def depth(self) -> int:
        return len(self._durable) + len(self._ephemeral)

    def resend_spilled(self) -> int:
        """Puts the messages an earlier run kept in the spill file at the head of the durable
        buffer (before anything published now); the file goes once Redis confirmed them all."""
        kept, files = self.spill.read()
        if not kept:
            self.spill.remove(files)  # nothing readable left in them (what was not is kept aside)
            return 0
        self._spilled_files = files
        prefix = f"{self._names.namespace}:".encode()
        window = self._config.dedupe_window_seconds
        for spilled in reversed(kept):
            head = append_head(spilled.stream, self._names.published(spilled.stream), window)
            self._durable.appendleft(append_command(head, spilled.message_id.encode(), spilled.data))
        for stream in dict.fromkeys(s.stream for s in kept):
            self.trimmer.add(stream, stream.removeprefix(prefix).decode())
        self._spilled_pending = self._confirmed_durable + len(kept)
        self._enqueued += len(kept)
        self._wake.set()
        log.warning(
            "re-sending durable messages an earlier run could not deliver",
            count=len(kept),
            spill_files=[str(f) for f in files],
        )
        return len(kept)

    def start(self) -> None:
        if self._task is None:
            self._next_trim = asyncio.get_running_loop().time() + self._config.stream_trim_interval_seconds
            self._task = asyncio.create_task(self._run(), name="bus-redis-publisher")

    async def publish_many(self, channel: Channel, envelopes: Sequence[AnyEnvelope]) -> None:
        """Into the buffer in order; the writer is woken once (the batch goes in one pipeline)."""
        if self._closing:
            raise BusClosedError("the bus is closed")
        header = self._headers.get(channel.name)
        if header is None:
            header = self._headers[channel.name] = self._header(channel)
        capacity = self._config.publish_buffer_size
        for published, envelope in enumerate(envelopes):
            data = encode(envelope)
            if channel.durable:
                command = append_command(header, (envelope.message_id or "").encode(), data)
                if len(self._durable) >= capacity:
                    self._wake.set()  # what this batch buffered goes out while it waits
                    await self._wait_for_room(channel, published)
                self._durable.append(command)
            else:
                command = b"%s$%d\r\n%s\r\n" % (header, len(data), data)
                if len(self._ephemeral) >= capacity:
                    self._ephemeral.popleft()
                    self.counters.dropped += 1
                    self._done += 1
                self._ephemeral.append(command)
            self.counters.published += 1
            self._enqueued += 1
        self._wake.set()

    async def flush(self) -> None:
        target = self._enqueued
        if self._done >= target:
            return
        future = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((target, future))
        await asyncio.shield(future)

    async def close(self, flush_seconds: float | None) -> None:
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_seconds):
                    await self.flush()
        self._closing = True
        if self._task is not None:
            await cancel_and_wait([self._task])
        if self._durable:
            try:
                written = self.spill.write(list(self._durable))
                # What was still unconfirmed of the files re-sent at start is in the new one.
                self.spill.remove(self._spilled_files)
                self._spilled_files = []
            except (OSError, ValueError) as exc:
                log.error(
                    "bus closed with durable messages not confirmed by redis, and they could NOT be "
                    "kept in the spill file: they were NOT published",
                    count=len(self._durable),
                    spill_dir=str(self.spill.path),
                    error=str(exc),
                )
            else:
                log.warning(
                    "bus closed with durable messages not confirmed by redis: kept in a spill file, "
                    "the next start sends them first",
                    count=len(self._durable),
                    spill_file=str(written),
                )
        if self._conn is not None:
            await self._conn.close()

    def _header(self, channel: Channel) -> bytes:
        key = self._names.key(channel)
        if channel.durable:
            # No MAXLEN: entries some group has not acknowledged must stay (see ``redis_trim``).
            self.trimmer.add(key, channel.name)
            return append_head(key, self._names.published(key), self._config.dedupe_window_seconds)
        # Everything but the last (empty) argument: the data is appended per message.
        return pack(b"PUBLISH", key, b"")[: -len(b"$0\r\n\r\n")]

    async def _wait_for_room(self, channel: Channel, published: int) -> None:
        timeout = self._config.durable_publish_timeout_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._durable) >= self._config.publish_buffer_size:
            self._room.clear()
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                await asyncio.wait_for(self._room.wait(), remaining)
            except TimeoutError:
                self.counters.full_errors += 1
                raise BusFullError(channel.name, len(self._durable), timeout, published=published) from None
            if self._closing:
                raise BusClosedError("the bus is closed")

    async def _connection(self) -> RespConnection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        backoff = Backoff(self._config.reconnect_initial_seconds, self._config.reconnect_max_seconds)
        while True:
            try:
                conn = await RespConnection.open(
                    self._address,
                    connect_seconds=self._config.connect_timeout_seconds,
                    name=self._client_name,
                )
            except RedisConnectionError as exc:
                delay = backoff.next_delay()
                log.warning(
                    "redis unreachable, publisher retrying", error=str(exc), retry_in_s=round(delay, 3)
                )
                await asyncio.sleep(delay)
                continue
            except RedisReplyError as exc:  # BUSY (a script running), NOAUTH, MISCONF...: wait it out
                delay = backoff.next_delay()
                log.error(
                    "redis refused the connection set-up, publisher retrying",
                    error=exc.reply,
                    durable_buffered=len(self._durable),
                    retry_in_s=round(delay, 3),
                )
                await asyncio.sleep(delay)
                continue
            if self._ever_connected:
                self.counters.reconnects += 1
                log.info("redis reconnected, publisher flushing", buffered=self.depth)
            self._ever_connected = True
            self.counters.connected = True
            self._conn = conn
            return conn

    async def _run(self) -> None:
        """The writer, restarted after anything unexpected (logged): it never silently ends while
        durable messages wait. Unconfirmed durable messages stay in the buffer throughout."""
        backoff = Backoff(self._config.reconnect_initial_seconds, self._config.reconnect_max_seconds)
        while True:
            try:
                await self._write_forever(backoff)
            except Exception:
                delay = backoff.next_delay()
                log.exception(
                    "redis publisher failed, restarting it",
                    durable_buffered=len(self._durable),
                    ephemeral_lost=self._sending_ephemeral,
                    retry_in_s=round(delay, 3),
                )
                # The connection is in an unknown state: start again on a new one.
                if self._conn is not None:
                    await self._conn.close()
                self.counters.connected = False
                self.counters.dropped += self._sending_ephemeral
                self._done += self._sending_ephemeral
                self._sending_ephemeral = 0
                self._notify()
                await asyncio.sleep(delay)

    async def _write_forever(self, backoff: Backoff) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._durable and not self._ephemeral:
                await self._idle(loop)
            trim_due = self.trimmer.streams > 0 and loop.time() >= self._next_trim
            if not trim_due and not self._durable and not self._ephemeral:
                continue
            conn = await self._connection()
            if trim_due:
                self._next_trim = loop.time() + self._config.stream_trim_interval_seconds
                try:
                    await self.trimmer.trim(conn)
                except (RedisConnectionError, TimeoutError) as exc:
                    await conn.close()
                    self.counters.connected = False
                    log.warning(
                        "redis stream trim failed, publisher reconnecting", error=str(exc) or "timeout"
                    )
                    continue
                if not self._durable and not self._ephemeral:
                    continue
            batch_size = self._config.batch_size
            durable = list(itertools.islice(self._durable, batch_size))  # stays until confirmed
            ephemeral = [self._ephemeral.popleft() for _ in range(min(batch_size, len(self._ephemeral)))]
            self._sending_ephemeral = len(ephemeral)  # out of the buffer, not yet accounted for
            # Durable writes go in one transaction: Redis takes the whole batch or none of it (a
            # refusal such as OOM part-way through must not let later messages overtake earlier ones).
            # (Entries of a transaction on several streams are marked: a reader woken by one of
            # them reads the others at once.)
            commands = [_MULTI, *marked_with_others(durable), _EXEC, *ephemeral] if durable else ephemeral
            try:
                replies = await conn.pipeline_within(commands, self._config.command_timeout_seconds)
            except (RedisConnectionError, TimeoutError) as exc:
                await conn.close()
                self.counters.connected = False
                self.counters.dropped += len(ephemeral)
                self._done += len(ephemeral)
                self._sending_ephemeral = 0
                self._notify()
                delay = backoff.next_delay()
                log.warning(
                    "redis write failed, publisher will resend",
                    error=str(exc) or type(exc).__name__,
                    durable_buffered=len(self._durable),
                    ephemeral_lost=len(ephemeral),
                    retry_in_s=round(delay, 3),
                )
                await asyncio.sleep(delay)
                continue
            taken, failure = _taken(replies, len(durable))
            refused = [command for command, ok in zip(durable, taken, strict=True) if not ok]
            for _ in durable:  # the batch leaves the head; what Redis refused goes back, in order
                self._durable.popleft()
            self._durable.extendleft(reversed(refused))
            confirmed = len(durable) - len(refused)
            for reply in replies[len(durable) + 2 if durable else 0 :]:
                if reply_error(reply) is not None:
                    self.counters.dropped += 1
            self._confirmed_durable += confirmed
            if self._spilled_files and self._confirmed_durable >= self._spilled_pending:
                files, self._spilled_files = self._spilled_files, []
                self.spill.remove(files)
                log.info(
                    "redis confirmed the re-sent messages; spill files removed", files=[str(f) for f in files]
                )
            self.counters.written += confirmed + len(ephemeral)
            self._done += confirmed + len(ephemeral)
            self._sending_ephemeral = 0
            self._notify()
            if failure is not None:
                # Redis refused writes (out of memory, wrong key type): keep them, in order, and
                # try again; publishers see backpressure, then BusFullError.
                delay = backoff.next_delay()
                log.error(
                    "redis refused a durable write, retrying", error=failure, retry_in_s=round(delay, 3)
                )
                await asyncio.sleep(delay)
            else:
                backoff.reset()

    async def _idle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Until something is published, or (with durable streams to trim) the next trim is due."""
        self._wake.clear()
        if not self.trimmer.streams:
            await self._wake.wait()
            return
        delay = self._next_trim - loop.time()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _notify(self) -> None:
        if len(self._durable) < self._config.publish_buffer_size:
            self._room.set()
        if self._flush_waiters:
            waiting = []
            for target, future in self._flush_waiters:
                if self._done >= target:
                    if not future.done():
                        future.set_result(None)
                else:
                    waiting.append((target, future))
            self._flush_waiters = waiting
