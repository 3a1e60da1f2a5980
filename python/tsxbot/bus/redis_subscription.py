"""A subscription over Redis: a pub/sub connection for its ephemeral channels and an XREADGROUP
connection for its durable ones (each only when it has such channels).

Durable reading: on (re)connect the groups are created if missing (``XGROUP CREATE ... 0
MKSTREAM``: a new group reads what the stream retains, see ``redis_trim``), then this consumer's
own pending entries are read again (what it received but never acknowledged before a crash or
restart), then new entries. Entries another consumer of the group left pending longer than
``claimIdleSeconds`` are claimed (``XAUTOCLAIM``). Every entry is checked against the group's
handled message ids, but a first delivery of an entry its append marked as new to the stream
less than a dedupe window ago (``redis_append``: no earlier entry of its id, nothing to find): a
duplicate (a publisher's resend, a redelivery of a handled message) is acknowledged and
skipped. A malformed entry is never handed out: the subscriber's ``on_malformed`` is
awaited first (a refusal goes out before anything else happens to the entry), then the entry is
moved to the dead-letter stream and acknowledged; when that handler fails the entry stays
pending, claimed back later. Flow control: at most ``consumerBufferSize`` messages are delivered and
unacknowledged at a time; the rest waits in the stream.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from tsxbot.bus.backoff import Backoff
from tsxbot.bus.errors import RedisConnectionError, RedisReplyError
from tsxbot.bus.message import Message
from tsxbot.bus.redis_acks import AckWriter
from tsxbot.bus.redis_names import DATA_FIELD, DEAD_LETTER_MAX_LEN, FIRST_FIELD, WITH_OTHERS_FIELD, RedisNames
from tsxbot.bus.resp import RedisAddress, RespConnection, pack, reply_error
from tsxbot.bus.subscription import Subscription
from tsxbot.bus.tasks import cancel_and_wait
from tsxbot.config.global_config import BusConfig
from tsxbot.log import get_logger
from tsxbot.messages import AnyEnvelope, Channel, DecodeErrorKind, MessageDecodeError, decode

log = get_logger("tsxbot.bus.redis")

_BLOCK_MS = 1000


# How many acknowledged ids a subscription remembers locally (see ``_recently_acked``).
RECENTLY_ACKED_KEPT = 10_000


class _Acker:
    def __init__(self, subscription: RedisSubscription, acks: AckWriter, group: bytes) -> None:
        self._subscription = subscription
        self._acks = acks
        self._group = group

    async def ack(self, message: Message) -> None:
        key, entry_id, handled_key, published_key = message.token
        await self._acks.ack(key, self._group, entry_id, handled_key, published_key, message.message_id)
        self._subscription._acked(key, entry_id, message.message_id)


class RedisSubscription(Subscription):
    def __init__(
        self,
        *,
        address: RedisAddress,
        config: BusConfig,
        names: RedisNames,
        channels: tuple[Channel, ...],
        name: str,
        group: str | None,
        consumer: str | None,
        acks: AckWriter,
        client_name: str,
        on_close: Callable[[RedisSubscription], None],
    ) -> None:
        super().__init__(channels, name=name, capacity=config.consumer_buffer_size)
        self._address = address
        self._config = config
        self._names = names
        self._client_name = client_name
        self._on_close_cb = on_close
        self._ephemeral_keys = {names.key(ch): ch for ch in channels if not ch.durable}
        self._durable_keys = {names.key(ch): ch for ch in channels if ch.durable}
        self._handled_keys = {
            names.key(ch): names.handled(ch, group) for ch in channels if ch.durable and group is not None
        }
        self._published_keys = {key: names.published(key) for key in self._durable_keys}
        self._group = (group or "").encode()
        self._consumer = (consumer or "").encode()
        self._acker = _Acker(self, acks, self._group)
        # Delivered and not yet acknowledged: (stream key, entry id) -> message id.
        self._in_flight: dict[tuple[bytes, bytes], str] = {}
        self._in_flight_ids: set[str] = set()
        # Ids this consumer acknowledged lately: a read whose handled-set lookup was answered
        # before the ack reached Redis must still see them as handled.
        self._recently_acked: OrderedDict[str, None] = OrderedDict()
        self._room = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ready: list[asyncio.Event] = []
        self._decode_errors_logged = 0
        self._stopping = False

    async def start(self) -> None:
        for keys, loop in (
            (self._ephemeral_keys, self._ephemeral_loop),
            (self._durable_keys, self._durable_loop),
        ):
            if keys:
                ready = asyncio.Event()
                self._ready.append(ready)
                self._tasks.append(
                    asyncio.create_task(self._forever(loop, ready), name=f"bus-sub-{self.name}")
                )
        try:
            async with asyncio.timeout(self._config.connect_timeout_seconds * 2):
                for ready in self._ready:
                    await ready.wait()
        except TimeoutError:
            log.warning("subscribed while redis is unreachable: receiving once it is back", name=self.name)

    async def _on_close(self) -> None:
        self._stopping = True
        for exc in await cancel_and_wait(self._tasks):
            log.error("redis subscription task ended with an error", name=self.name, error=repr(exc))
        self._durable.clear()  # unacknowledged: they stay pending in Redis for this consumer
        self._on_close_cb(self)

    def _acked(self, key: bytes, entry_id: bytes, message_id: str) -> None:
        self._recently_acked[message_id] = None
        if len(self._recently_acked) > RECENTLY_ACKED_KEPT:
            self._recently_acked.popitem(last=False)
        if self._in_flight.pop((key, entry_id), None) is not None:
            self._in_flight_ids.discard(message_id)
            self.counters.acked += 1
            if len(self._in_flight) < self.capacity:
                self._room.set()

    # -- the loops -------------------------------------------------------------------------------
    async def _forever(
        self, loop: Callable[[RespConnection, asyncio.Event], Awaitable[None]], ready: asyncio.Event
    ) -> None:
        backoff = Backoff(self._config.reconnect_initial_seconds, self._config.reconnect_max_seconds)
        while not self._stopping:
            conn: RespConnection | None = None
            try:
                conn = await RespConnection.open(
                    self._address,
                    connect_seconds=self._config.connect_timeout_seconds,
                    name=self._client_name,
                )
                backoff.reset()
                await loop(conn, ready)
            except (RedisConnectionError, RedisReplyError, TimeoutError) as exc:
                delay = backoff.next_delay()
                log.warning(
                    "redis subscription interrupted, reconnecting",
                    name=self.name,
                    error=str(exc) or type(exc).__name__,
                    retry_in_s=round(delay, 3),
                )
                await asyncio.sleep(delay)
            except Exception:  # a bug must not silently end the subscription: log it and go on
                delay = backoff.next_delay()
                log.exception("redis subscription failed, restarting it", name=self.name)
                await asyncio.sleep(delay)
            finally:
                if conn is not None:
                    await conn.close()

    async def _ephemeral_loop(self, conn: RespConnection, ready: asyncio.Event) -> None:
        keys = self._ephemeral_keys
        conn.write(pack(b"SUBSCRIBE", *keys))
        confirmed = 0
        push = self._push_ephemeral
        while True:
            for reply in await conn.read_available():
                kind = reply[0]
                if kind == b"message":
                    try:
                        envelope = decode(reply[2])
                    except MessageDecodeError as exc:
                        self._decode_error(keys[reply[1]], exc)
                        continue
                    push(Message(keys[reply[1]], envelope))
                elif kind == b"subscribe":
                    confirmed += 1
                    if confirmed == len(keys):
                        ready.set()

    async def _durable_loop(self, conn: RespConnection, ready: asyncio.Event) -> None:
        timeout = self._config.command_timeout_seconds
        for key in self._durable_keys:
            reply = await conn.pipeline_within(
                [pack(b"XGROUP", b"CREATE", key, self._group, b"0", b"MKSTREAM")], timeout
            )
            error = reply_error(reply[0])
            if error is not None and not error.startswith("BUSYGROUP"):
                raise RedisReplyError("XGROUP CREATE", error)
        await self._read_own_pending(conn)
        keys = list(self._durable_keys)
        follow_up = len(keys) > 1 and await _wakes_with_one_stream(conn, timeout)
        ready.set()
        loop = asyncio.get_running_loop()
        claim_every = self._config.claim_idle_seconds / 2
        next_claim = loop.time() + claim_every
        while True:
            while len(self._in_flight) >= self.capacity:
                self._room.clear()
                await self._room.wait()
            if loop.time() >= next_claim:
                await self._claim(conn)
                next_claim = loop.time() + claim_every
            count = min(self._config.batch_size, self.capacity - len(self._in_flight))
            command = pack(
                b"XREADGROUP", b"GROUP", self._group, self._consumer, b"COUNT", count,
                b"BLOCK", _BLOCK_MS, b"STREAMS", *keys, *([b">"] * len(keys)),
            )  # fmt: skip
            (reply,) = await conn.pipeline_within([command], timeout + _BLOCK_MS / 1000, urgent=False)
            if (error := reply_error(reply)) is not None:
                raise RedisReplyError("XREADGROUP", error)  # NOGROUP: Redis lost its data; recreate
            if (
                reply
                and follow_up
                and (more := count - sum(len(entries) for _, entries in reply)) > 0
                and _with_others(reply)
            ):
                # Woken by one stream: what one transaction appended to the others (an order's
                # update and its fill) goes in the same delivery, not one round of handling later.
                command = pack(  # (COUNT is per stream)
                    b"XREADGROUP", b"GROUP", self._group, self._consumer, b"COUNT", max(1, more // len(keys)),
                    b"STREAMS", *keys, *([b">"] * len(keys)),
                )  # fmt: skip
                (others,) = await conn.pipeline_within([command], timeout)
                if (error := reply_error(others)) is not None:
                    raise RedisReplyError("XREADGROUP", error)
                reply = [*reply, *(others or ())]
            if reply:
                await self._deliver(conn, reply, redelivered=False)

    async def _read_own_pending(self, conn: RespConnection) -> None:
        """What this consumer received before and never acknowledged (``XREADGROUP ... 0``)."""
        last = dict.fromkeys(self._durable_keys, b"0")
        while True:
            command = pack(
                b"XREADGROUP", b"GROUP", self._group, self._consumer, b"COUNT", self._config.batch_size,
                b"STREAMS", *last, *last.values(),
            )  # fmt: skip
            (reply,) = await conn.pipeline_within([command], self._config.command_timeout_seconds)
            if (error := reply_error(reply)) is not None:
                raise RedisReplyError("XREADGROUP", error)
            found = False
            for key, entries in reply or ():
                if entries:
                    found = True
                    last[key] = entries[-1][0]
            if not found:
                return
            await self._deliver(conn, reply, redelivered=True)

    async def _claim(self, conn: RespConnection) -> None:
        """Takes over entries other consumers of the group left pending too long (dead ones)."""
        idle_ms = int(self._config.claim_idle_seconds * 1000)
        commands = [
            pack(
                b"XAUTOCLAIM",
                key,
                self._group,
                self._consumer,
                idle_ms,
                b"0-0",
                b"COUNT",
                self._config.batch_size,
            )
            for key in self._durable_keys
        ]
        replies = await conn.pipeline_within(commands, self._config.command_timeout_seconds)
        claimed: list[Any] = []
        for key, reply in zip(self._durable_keys, replies, strict=True):
            if reply_error(reply) is None and reply[1]:
                claimed.append([key, reply[1]])
        if claimed:
            await self._deliver(conn, claimed, redelivered=True)

    # -- turning stream entries into messages ----------------------------------------------------
    async def _deliver(self, conn: RespConnection, reply: list[Any], *, redelivered: bool) -> None:
        cleanup: list[bytes] = []  # XACKs (duplicates, malformed, deleted) and dead letters
        candidates: list[tuple[bytes, bytes, AnyEnvelope, str]] = []
        # Which candidates to look up in the handled set: all but the first deliveries of ids new
        # to their stream when appended (``redis_append``), appended less than a dedupe window
        # ago (a group far behind checks everything: an id it handles only now, long after it
        # was published, may have had its later copy appended marked).
        unchecked: list[bool] = []
        fresh_after = int(time.time() * 1000) - self._config.dedupe_window_seconds * 1000
        for key, entries in reply:
            channel = self._durable_keys[key]
            for entry in entries:
                entry_id, fields = entry[0], entry[1]
                if (key, entry_id) in self._in_flight:
                    continue  # still being handled here (re-read after a reconnect, or claimed back)
                if fields is None:  # trimmed from the stream while pending
                    cleanup.append(pack(b"XACK", key, self._group, entry_id))
                    continue
                data = _field(fields, DATA_FIELD)
                try:
                    if data is None:
                        raise MessageDecodeError(
                            DecodeErrorKind.INVALID_ENVELOPE, "stream entry has no data field"
                        )
                    envelope = decode(data)
                    message_id = envelope.message_id
                    if not message_id:
                        raise MessageDecodeError(
                            DecodeErrorKind.INVALID_ENVELOPE, "durable message without messageId"
                        )
                except MessageDecodeError as exc:
                    self._decode_error(channel, exc)
                    if not await self._tell_malformed(channel, data or b"", exc):
                        continue  # left pending: delivered again, not dead-lettered unanswered
                    self.counters.dead_lettered += 1
                    cleanup.append(self._dead_letter(channel, entry_id, exc, data or b""))
                    cleanup.append(pack(b"XACK", key, self._group, entry_id))
                    continue
                candidates.append((key, entry_id, envelope, message_id))
                unchecked.append(
                    not redelivered
                    and _field(fields, FIRST_FIELD) == b"1"
                    and int(entry_id.partition(b"-")[0]) > fresh_after
                )
        handled = await self._handled(conn, candidates, unchecked)
        messages: list[Message] = []
        seen: set[str] = set()
        for (key, entry_id, envelope, message_id), done in zip(candidates, handled, strict=True):
            if (
                done
                or message_id in self._in_flight_ids
                or message_id in self._recently_acked
                or message_id in seen
            ):
                self.counters.duplicates += 1
                cleanup.append(pack(b"XACK", key, self._group, entry_id))
                continue
            seen.add(message_id)
            self._in_flight[(key, entry_id)] = message_id
            self._in_flight_ids.add(message_id)
            token = (key, entry_id, self._handled_keys[key], self._published_keys[key])
            messages.append(
                Message(self._durable_keys[key], envelope, self._acker, token, 2 if redelivered else 1)
            )
        if redelivered:
            self.counters.redelivered += len(messages)
        if cleanup:
            await conn.pipeline_within(cleanup, self._config.command_timeout_seconds)
        if messages:
            self._push_durable(messages)

    async def _handled(
        self,
        conn: RespConnection,
        candidates: list[tuple[bytes, bytes, AnyEnvelope, str]],
        unchecked: list[bool],
    ) -> list[bool]:
        """Whether each candidate's message id is in its group's handled set (one ZMSCORE per
        stream, none when every candidate is ``unchecked``: then False)."""
        by_key: dict[bytes, list[int]] = {}
        for index, ((key, *_rest), skip) in enumerate(zip(candidates, unchecked, strict=True)):
            if not skip:
                by_key.setdefault(key, []).append(index)
        if not by_key:
            return [False] * len(candidates)
        commands = [
            pack(b"ZMSCORE", self._handled_keys[key], *(candidates[i][3] for i in indexes))
            for key, indexes in by_key.items()
        ]
        replies = await conn.pipeline_within(commands, self._config.command_timeout_seconds)
        result = [False] * len(candidates)
        for (_key, indexes), reply in zip(by_key.items(), replies, strict=True):
            if (error := reply_error(reply)) is not None:
                raise RedisReplyError("ZMSCORE", error)
            for index, score in zip(indexes, reply, strict=True):
                result[index] = score is not None
        return result

    async def _tell_malformed(self, channel: Channel, data: bytes, exc: MessageDecodeError) -> bool:
        """Tells the consumer, before the message is dead-lettered; False when its handler
        failed (the message then stays pending, to be told again)."""
        if self.on_malformed is None:
            return True
        try:
            await self.on_malformed(channel, data, exc)
        except Exception:  # the consumer's failure must not stop the stream
            log.exception(
                "the malformed-message handler failed; the message stays pending", channel=channel.name
            )
            return False
        return True

    def _dead_letter(self, channel: Channel, entry_id: bytes, exc: MessageDecodeError, data: bytes) -> bytes:
        fields: dict[bytes, bytes | str] = {
            b"channel": channel.name,
            b"group": self._group,
            b"entry": entry_id,
            b"error": str(exc),
            b"data": data,
        }
        flat = [part for pair in fields.items() for part in pair]
        return pack(b"XADD", self._names.dead_letter, b"MAXLEN", b"~", DEAD_LETTER_MAX_LEN, b"*", *flat)

    def _decode_error(self, channel: Channel, exc: MessageDecodeError) -> None:
        self.counters.decode_errors += 1
        self._decode_errors_logged += 1
        count = self._decode_errors_logged
        if count <= 10 or count % 1000 == 0:
            log.error(
                "malformed message on the bus, skipped",
                channel=channel.name,
                kind=exc.kind.value,
                error=exc.detail[:200],
                total=count,
            )


async def _wakes_with_one_stream(conn: RespConnection, within_s: float) -> bool:
    """Whether the server answers a blocked XREADGROUP on several streams with the one stream
    that woke it (Redis before 7.2; 7.2 runs the read again and answers with every stream that
    has entries). Unknown (another server, no version): assumed so (a read more, nothing lost)."""
    (info,) = await conn.pipeline_within([pack(b"INFO", b"server")], within_s)
    if not isinstance(info, bytes):
        return True
    match = re.search(rb"^redis_version:(\d+)\.(\d+)", info, re.MULTILINE)
    return match is None or (int(match[1]), int(match[2])) < (7, 2)


def _with_others(reply: list[Any]) -> bool:
    """Whether an entry of ``reply`` was appended in one transaction with other streams'."""
    return any(
        entry[1] is not None and _field(entry[1], WITH_OTHERS_FIELD) == b"1"
        for _, entries in reply
        for entry in entries
    )


def _field(fields: list[bytes], name: bytes) -> bytes | None:
    for i in range(0, len(fields) - 1, 2):
        if fields[i] == name:
            return fields[i + 1]
    return None
