"""What only the Redis bus has: a wire (malformed messages), other processes (restarts), and a
server that can go away (buffering, reconnects, nothing lost on durable channels)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from support.bus_helpers import bus_config, eventually, nothing_more, order, payload_ids, quote, receive
from support.redis_proxy import RedisProxy
from support.redis_server import RedisServer
from tsxbot.bus import BusFullError, RedisBus, Subscription
from tsxbot.bus.resp import RedisAddress, RespConnection
from tsxbot.messages import MessageDecodeError, channels, encode

MES = channels.market_data("MES")
ORDERS = channels.AGGREGATOR_ORDERS


async def _redis(server: RedisServer) -> RespConnection:
    return await RespConnection.open(RedisAddress.parse(server.url), connect_seconds=2)


async def test_malformed_messages_on_the_wire_never_reach_or_stop_a_consumer(
    redis: RedisServer, namespace: str
) -> None:
    bus = RedisBus(bus_config("redis", redis.url, namespace))
    await bus.start()
    sub = await bus.subscribe([MES, ORDERS], group="aggregator")
    raw = await _redis(redis)
    try:
        await raw.call("PUBLISH", f"{namespace}:{MES.name}", b"\x00not json")
        await raw.call("PUBLISH", f"{namespace}:{MES.name}", b'{"type":"QUOTE"}')
        await raw.call("XADD", f"{namespace}:{ORDERS.name}", "*", "d", b'{"type":"NOPE"}')
        await raw.call("XADD", f"{namespace}:{ORDERS.name}", "*", "other", b"x")
        await bus.publish(MES, quote(1))
        await bus.publish(ORDERS, order(1))
        await bus.flush()
        got = await receive(sub, 2)
        assert sorted(payload_ids(got)) == ["5001", "bot_1-1"]
        await got[0].ack()
        await got[1].ack()
        metrics = sub.metrics()
        assert (metrics.decode_errors, metrics.dead_lettered) == (4, 2)
        dead = await raw.call("XRANGE", f"{namespace}:dead-letter", "-", "+")
        assert [dict(zip(e[1][::2], e[1][1::2], strict=True))[b"data"] for e in dead] == [
            b'{"type":"NOPE"}',
            b"",
        ]
        # Dead-lettered entries were acknowledged: nothing stays pending for the group.
        pending = await raw.call("XPENDING", f"{namespace}:{ORDERS.name}", "aggregator")
        assert pending[0] == 0
    finally:
        await raw.close()
        await bus.close()


async def test_invalid_utf8_in_an_unknown_key_is_dead_lettered_as_not_json(
    redis: RedisServer, namespace: str
) -> None:
    """A durable message whose only fault is invalid UTF-8 in a key the envelope does not have is
    malformed: dead-lettered with its typed reason, never delivered."""
    bus = RedisBus(bus_config("redis", redis.url, namespace))
    await bus.start()
    reasons: list[str] = []

    async def on_malformed(_channel: channels.Channel, _data: bytes, exc: MessageDecodeError) -> None:
        reasons.append(exc.kind.value)

    sub = await bus.subscribe(ORDERS, group="aggregator", on_malformed=on_malformed)
    raw = await _redis(redis)
    try:
        corrupted = encode(order(1))[:-1] + b',"note\xff":1}'
        await raw.call("XADD", f"{namespace}:{ORDERS.name}", "*", "d", corrupted)
        await bus.publish(ORDERS, order(2))
        await bus.flush()
        (got,) = await receive(sub, 1)
        await got.ack()
        assert payload_ids([got]) == ["bot_1-2"]
        await eventually(lambda: sub.metrics().dead_lettered == 1, what="dead-lettered")
        assert reasons == ["NOT_JSON"]
        dead = await raw.call("XRANGE", f"{namespace}:dead-letter", "-", "+")
        assert [dict(zip(e[1][::2], e[1][1::2], strict=True))[b"data"] for e in dead] == [corrupted]
    finally:
        await raw.close()
        await bus.close()


async def test_a_malformed_entry_is_dead_lettered_only_after_its_handler_succeeds(
    redis: RedisServer, namespace: str
) -> None:
    """The subscriber's ``on_malformed`` runs before the entry is dead-lettered and acknowledged
    (set at subscribe, it also sees this consumer's pending entries read at start). When it
    fails the entry stays pending, untouched; it is claimed back once idle and, the handler
    working then, dead-lettered once."""
    config = bus_config("redis", redis.url, namespace, claim_idle_seconds=0.2)
    bus = RedisBus(config)
    await bus.start()
    told: list[bytes] = []
    states: list[tuple[int, int]] = []
    raw = await _redis(redis)

    async def counts() -> tuple[int, int]:
        dead = await raw.call("XLEN", f"{namespace}:dead-letter")
        pending = await raw.call("XPENDING", f"{namespace}:{ORDERS.name}", "aggregator")
        return int(dead), int(pending[0])

    async def handler(_channel: channels.Channel, data: bytes, _error: Exception) -> None:
        told.append(data)
        states.append(await counts())  # what Redis holds while the handler runs
        if len(told) == 1:
            raise RuntimeError("could not publish the refusal")

    try:
        await raw.call("XADD", f"{namespace}:{ORDERS.name}", "*", "d", b'{"type":"NOPE"}')
        sub = await bus.subscribe(ORDERS, group="aggregator", on_malformed=handler)
        await eventually(lambda: len(told) >= 2, within=10, what="told again after the failure")
        await eventually(lambda: sub.metrics().dead_lettered == 1, what="dead-lettered")
        assert told == [b'{"type":"NOPE"}'] * 2
        # Pending and not dead-lettered while the handler ran, both times.
        assert states == [(0, 1), (0, 1)]
        assert await counts() == (1, 0)
    finally:
        await raw.close()
        await bus.close()


async def test_a_new_process_resumes_the_group_where_the_old_one_crashed(
    redis: RedisServer, namespace: str
) -> None:
    config = bus_config("redis", redis.url, namespace)
    old = RedisBus(config)
    await old.start()
    sub = await old.subscribe(ORDERS, group="connection-manager")
    for i in range(6):
        await old.publish(ORDERS, order(i))
    await old.flush()
    got = await receive(sub, 6)
    for m in got[:2]:
        await m.ack()
    await old.close()  # the process dies with 4 messages received and not acknowledged

    new = RedisBus(config)
    await new.start()
    try:
        sub = await new.subscribe(ORDERS, group="connection-manager")
        resumed = await receive(sub, 4)
        assert payload_ids(resumed) == ["bot_1-2", "bot_1-3", "bot_1-4", "bot_1-5"]
        assert all(m.redelivered for m in resumed)
    finally:
        await new.close()


async def test_messages_left_by_a_dead_consumer_are_claimed_by_another(
    redis: RedisServer, namespace: str
) -> None:
    config = bus_config("redis", redis.url, namespace, claim_idle_seconds=0.3)
    dead, alive = RedisBus(config), RedisBus(config)
    await dead.start()
    await alive.start()
    try:
        doomed = await dead.subscribe(ORDERS, group="aggregator", consumer="a")
        await dead.publish(ORDERS, order(1))
        await dead.flush()
        await receive(doomed, 1)
        await dead.close()  # consumer "a" never comes back
        survivor = await alive.subscribe(ORDERS, group="aggregator", consumer="b")
        (claimed,) = await receive(survivor, 1, within=5)
        assert claimed.redelivered and payload_ids([claimed]) == ["bot_1-1"]
        await claimed.ack()
        assert await nothing_more(survivor, within=0.8) == []
    finally:
        await alive.close()


def _sequence_problems(got: list[str], expected: list[str]) -> str:
    """A short account of how ``got`` differs from ``expected`` (not a 3,000-line diff)."""
    seen: dict[str, int] = {}
    for item in got:
        seen[item] = seen.get(item, 0) + 1
    missing = [e for e in expected if e not in seen]
    doubled = sorted((k for k, n in seen.items() if n > 1), key=expected.index)
    first_wrong = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), None)
    around = got[max(0, (first_wrong or 0) - 3) : (first_wrong or 0) + 4]
    return f"missing {missing[:10]}, doubled {doubled[:10]}, first difference at {first_wrong}: {around}"


async def test_redis_restart_in_the_middle_of_publishing_loses_and_doubles_nothing(
    persistent_redis: RedisServer, namespace: str
) -> None:
    config = bus_config("redis", persistent_redis.url, namespace)
    publisher, consumer = RedisBus(config), RedisBus(config)
    await publisher.start()
    await consumer.start()
    sub = await consumer.subscribe(ORDERS, group="aggregator")
    total = 3000
    handled: list[str] = []

    restarting = asyncio.Event()

    async def publish_all() -> None:
        for i in range(total):
            if i == total // 2:
                await restarting.wait()  # the second half goes out while Redis restarts
            await publisher.publish(ORDERS, order(i))
            if i % 10 == 0:
                await asyncio.sleep(0.002)  # a steady flow over a second or so, not one burst
        await publisher.flush()

    async def consume() -> None:
        async for m in sub:
            handled.append(m.envelope.payload.order_id)
            await m.ack()
            if len(handled) == total:
                return

    publishing = asyncio.create_task(publish_all())
    consuming = asyncio.create_task(consume())
    await eventually(lambda: len(handled) > 300, what="a tenth handled")
    restarting.set()
    await asyncio.to_thread(persistent_redis.restart)  # stop (SIGTERM) and start again
    await asyncio.wait_for(publishing, 30)
    await asyncio.wait_for(consuming, 30)
    try:
        expected = [f"bot_1-{i}" for i in range(total)]
        assert handled == expected, _sequence_problems(handled, expected)  # all, once each, in order
        assert publisher.metrics().reconnects >= 1
        assert publisher.metrics().publish_dropped == 0
    finally:
        await publisher.close()
        await consumer.close()


@contextlib.asynccontextmanager
async def _redis_stopped(server: RedisServer, namespace: str) -> AsyncIterator[tuple[RedisBus, Subscription]]:
    """A bus (5 places in its publish buffer, 0.3 s publish timeout) and a subscriber of
    aggregator:orders, connected once; then the Redis stops."""
    config = bus_config(
        "redis", server.url, namespace, publish_buffer_size=5, durable_publish_timeout_seconds=0.3
    )
    bus = RedisBus(config)
    await bus.start()
    sub = await bus.subscribe(ORDERS, group="aggregator")
    await bus.publish(MES, quote(0))
    await bus.flush()  # connected once
    await asyncio.to_thread(server.stop)
    try:
        yield bus, sub
    finally:
        await bus.close()


async def test_redis_down_publishers_buffer_bounded_then_flush_in_order(
    persistent_redis: RedisServer, namespace: str
) -> None:
    async with _redis_stopped(persistent_redis, namespace) as (bus, sub):
        for i in range(5):
            await bus.publish(ORDERS, order(i))
        with pytest.raises(BusFullError, match="buffer full"):
            await bus.publish(ORDERS, order(5))  # refused loudly, never dropped silently
        for i in range(8):
            await bus.publish(MES, quote(i))  # ephemeral: the oldest 3 make room
        metrics = bus.metrics()
        assert metrics.publish_full_errors == 1
        assert metrics.publish_dropped >= 3
        assert metrics.publish_buffer_depth <= 10
        await eventually(lambda: not bus.metrics().connected, what="the publisher noticing")
        await asyncio.to_thread(persistent_redis.restart_stopped)
        async with asyncio.timeout(10):
            await bus.flush()
        got = await receive(sub, 5, within=10)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(5)]
        assert bus.metrics().connected and bus.metrics().reconnects >= 1


async def test_redis_down_a_batch_beyond_the_buffer_says_how_many_of_it_were_published(
    persistent_redis: RedisServer, namespace: str
) -> None:
    async with _redis_stopped(persistent_redis, namespace) as (bus, sub):
        await bus.publish(ORDERS, order(0))
        with pytest.raises(BusFullError, match="buffer full") as refused:
            await bus.publish_many(ORDERS, [order(i) for i in range(1, 8)])
        assert refused.value.published == 4  # the buffer's 5 places: bot_1-0 and four of the batch
        await asyncio.to_thread(persistent_redis.restart_stopped)
        async with asyncio.timeout(10):
            await bus.flush()
        got = await receive(sub, 5, within=10)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(5)]
        assert await nothing_more(sub) == []


async def test_a_refused_durable_batch_is_kept_whole_and_sent_again_in_order(
    persistent_redis: RedisServer, namespace: str
) -> None:
    """Redis refusing writes (here: out of memory) takes none of a batch, so a later message can
    never overtake an earlier one; the batch is resent, in order, once Redis accepts writes again."""
    config = bus_config("redis", persistent_redis.url, namespace)
    bus = RedisBus(config)
    await bus.start()
    sub = await bus.subscribe(ORDERS, group="aggregator")
    raw = await _redis(persistent_redis)
    try:
        await bus.publish(ORDERS, order(0))
        await bus.flush()
        await raw.call("CONFIG", "SET", "maxmemory", "1")  # every write is now refused: OOM
        for i in range(1, 50):
            await bus.publish(ORDERS, order(i))
        await asyncio.sleep(0.3)  # the writer tries, is refused, backs off and tries again
        assert bus.metrics().publish_buffer_depth == 49
        assert await raw.call("XLEN", f"{namespace}:{ORDERS.name}") == 1
        await raw.call("CONFIG", "SET", "maxmemory", "0")
        async with asyncio.timeout(10):
            await bus.flush()
        got = await receive(sub, 50)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(50)]
        assert await raw.call("XLEN", f"{namespace}:{ORDERS.name}") == 50  # each written once
        assert bus.metrics().publish_dropped == 0
    finally:
        await raw.close()
        await bus.close()


@pytest.mark.parametrize(
    "error",
    [
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.\r\n",
        b"-NOAUTH Authentication required.\r\n",
    ],
    ids=["busy", "noauth"],
)
async def test_error_replies_while_connecting_are_retried_until_redis_recovers(
    redis: RedisServer, namespace: str, error: bytes
) -> None:
    """A Redis answering an error to every new connection for a while (busy running a script,
    not yet configured) holds the publisher, the acks, the subscription and the journal back,
    and ends none of them: once it recovers everything goes through, once."""
    proxy = RedisProxy(redis.host, redis.port)
    await proxy.start()
    bus = RedisBus(bus_config("redis", proxy.url, namespace))
    await bus.start()
    try:
        sub = await bus.subscribe(ORDERS, group="aggregator")
        await bus.publish(ORDERS, order(0))
        await bus.flush()
        (first,) = await receive(sub, 1)
        proxy.answer(error)  # every connection dropped; each new one is refused at set-up
        acking = asyncio.create_task(first.ack())
        claiming = asyncio.create_task(bus.journal("commands").claim("cmd-1"))
        for i in range(1, 21):
            await bus.publish(ORDERS, order(i))
        flushing = asyncio.create_task(bus.flush())
        for role in ("pub", "ack", "sub", "journal"):
            await eventually(lambda role=role: proxy.answered.count(role) >= 2, what=f"{role} refused twice")
        assert not flushing.done() and not acking.done() and not claiming.done()
        proxy.forward()
        async with asyncio.timeout(10):
            await flushing
            await acking
            assert (await claiming).new
        got = await receive(sub, 20, within=10)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(1, 21)]
        for m in got:
            await m.ack()
        assert await nothing_more(sub) == []
        metrics = bus.metrics()
        assert metrics.reconnects >= 1 and metrics.publish_dropped == 0
    finally:
        await bus.close()
        await proxy.close()


async def test_a_reply_of_the_wrong_shape_does_not_end_the_publisher(
    redis: RedisServer, namespace: str
) -> None:
    """Whatever breaks the writer (here: a reply it cannot make sense of) is logged and the writer
    starts again, keeping every unconfirmed durable message."""
    proxy = RedisProxy(redis.host, redis.port)
    await proxy.start()
    bus = RedisBus(bus_config("redis", proxy.url, namespace))
    await bus.start()
    raw = await _redis(redis)
    try:
        proxy.answer(b":1\r\n")  # every command "succeeds" with an integer, EXEC included
        for i in range(10):
            await bus.publish(ORDERS, order(i))
        flushing = asyncio.create_task(bus.flush())
        await eventually(
            lambda: proxy.answered.count("pub") >= 3, what="the writer failing and starting again"
        )
        assert not flushing.done()
        proxy.forward()
        async with asyncio.timeout(10):
            await flushing
        sub = await bus.subscribe(ORDERS, group="aggregator")
        got = await receive(sub, 10)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(10)]
        assert await raw.call("XLEN", f"{namespace}:{ORDERS.name}") == 10
    finally:
        await raw.close()
        await bus.close()
        await proxy.close()


async def _stream_length(raw: RespConnection, key: str, condition: Callable[[int], bool], what: str) -> int:
    """The stream's length once ``condition`` holds (polled for up to 5 s: trimming runs apart)."""
    length = -1
    for _ in range(250):
        length = int(await raw.call("XLEN", key))
        if condition(length):
            return length
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what}: not reached, the stream has {length} entries")


async def test_a_group_far_behind_loses_nothing_and_is_reported(redis: RedisServer, namespace: str) -> None:
    """A group more than ``streamMaxLen`` behind keeps every entry it has not acknowledged (the
    stream grows, reported in the log and the metrics); once every group has acknowledged them,
    the entries are trimmed."""
    config = bus_config(
        "redis",
        redis.url,
        namespace,
        stream_max_len=50,
        stream_trim_interval_seconds=0.05,
        consumer_buffer_size=10,
    )
    bus = RedisBus(config)
    await bus.start()
    raw = await _redis(redis)
    key = f"{namespace}:{ORDERS.name}"
    total = 300
    expected = [f"bot_1-{i}" for i in range(total)]
    try:
        fast = await bus.subscribe(ORDERS, group="fast")
        slow = await bus.subscribe(ORDERS, group="slow")  # holds 10 unacknowledged, reads no more
        for i in range(total):
            await bus.publish(ORDERS, order(i))
        await bus.flush()
        handled_fast: list[str] = []
        async with asyncio.timeout(10):
            while len(handled_fast) < total:
                for m in await fast.next_batch():
                    handled_fast.append(m.envelope.payload.order_id)
                    await m.ack()
        assert handled_fast == expected
        await eventually(lambda: bus.metrics().streams_over_limit == 1, what="the lagging group reported")
        await asyncio.sleep(0.2)  # several trim passes
        metrics = bus.metrics()
        assert metrics.stream_limit_warnings == 1  # once per crossing, not once per pass
        assert metrics.lagging_groups == (f"{ORDERS.name}/slow",)
        assert metrics.as_values()[f"bus.laggingGroup.{ORDERS.name}.slow"] == 1
        assert await raw.call("XLEN", key) == total  # the slow group still needs every entry

        handled_slow: list[str] = []
        async with asyncio.timeout(20):
            while len(handled_slow) < total:
                for m in await slow.next_batch():
                    handled_slow.append(m.envelope.payload.order_id)
                    await m.ack()
        assert handled_slow == expected
        assert await nothing_more(slow) == [] and await nothing_more(fast) == []
        # Both groups acknowledged everything: trimmed down to the last entry delivered.
        assert await _stream_length(raw, key, lambda n: n <= 1, "trimmed") == 1
        await eventually(lambda: bus.metrics().streams_over_limit == 0, what="the lag cleared")
        assert bus.metrics().lagging_groups == ()
        assert bus.metrics().unconsumed_trimmed == 0
    finally:
        await raw.close()
        await bus.close()


async def test_entries_pending_at_a_consumer_are_not_trimmed(redis: RedisServer, namespace: str) -> None:
    """Entries are trimmed up to the oldest one some group still has pending, not further: an
    entry delivered and not acknowledged stays (for a redelivery after a crash)."""
    config = bus_config("redis", redis.url, namespace, stream_max_len=50, stream_trim_interval_seconds=0.05)
    bus = RedisBus(config)
    await bus.start()
    raw = await _redis(redis)
    key = f"{namespace}:{ORDERS.name}"
    try:
        sub = await bus.subscribe(ORDERS, group="aggregator")
        for i in range(20):
            await bus.publish(ORDERS, order(i))
        await bus.flush()
        got = await receive(sub, 20)
        for m in got[:5] + got[6:]:
            await m.ack()  # all but bot_1-5
        assert await _stream_length(raw, key, lambda n: n <= 15, "trimmed to the pending entry") == 15
        first = await raw.call("XRANGE", key, "-", "+", "COUNT", 1)
        assert first[0][0] == got[5].token[1]  # the pending entry is the oldest kept
        await got[5].ack()
        assert await _stream_length(raw, key, lambda n: n <= 1, "trimmed") == 1
    finally:
        await raw.close()
        await bus.close()


async def test_a_stream_without_any_group_keeps_its_newest_stream_max_len(
    redis: RedisServer, namespace: str
) -> None:
    """Before any group exists nothing says who will read a stream (maybe nobody: it must not
    grow without bound): it keeps the newest ``streamMaxLen`` entries, counted when trimmed, and a
    group created later reads those, as on the in-process bus."""
    config = bus_config("redis", redis.url, namespace, stream_max_len=50, stream_trim_interval_seconds=0.05)
    bus = RedisBus(config)
    await bus.start()
    raw = await _redis(redis)
    key = f"{namespace}:{ORDERS.name}"
    try:
        for i in range(300):
            await bus.publish(ORDERS, order(i))
        await bus.flush()
        assert await _stream_length(raw, key, lambda n: n <= 50, "trimmed to streamMaxLen") == 50
        assert bus.metrics().unconsumed_trimmed == 250
        assert bus.metrics().streams_over_limit == 0  # no group is behind
        sub = await bus.subscribe(ORDERS, group="late")
        got = await receive(sub, 50)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(250, 300)]
        assert await nothing_more(sub) == []
    finally:
        await raw.close()
        await bus.close()


async def test_a_write_refused_on_one_stream_neither_doubles_nor_holds_back_the_others(
    persistent_redis: RedisServer, namespace: str
) -> None:
    """WRONGTYPE is refused while the transaction runs, and Redis applies the batch's other
    writes: those are done (written once), the refused ones wait, in order, for the key to heal."""
    fills = channels.CM_FILLS
    bus = RedisBus(bus_config("redis", persistent_redis.url, namespace))
    await bus.start()
    sub = await bus.subscribe([ORDERS, fills], group="aggregator")
    raw = await _redis(persistent_redis)
    try:
        await raw.call("SET", f"{namespace}:{fills.name}", "not a stream")  # WRONGTYPE for XADD
        for i in range(5):
            await bus.publish(ORDERS, order(i))
            await bus.publish(fills, order(i, bot="fills"))
        await eventually(lambda: bus.metrics().publish_buffer_depth == 5, what="the orders written")
        await asyncio.sleep(0.3)  # retries of the refused writes: the orders must stay written once
        assert await raw.call("XLEN", f"{namespace}:{ORDERS.name}") == 5
        await raw.call("DEL", f"{namespace}:{fills.name}")
        async with asyncio.timeout(10):
            await bus.flush()
        got = await receive(sub, 10, within=10)
        ids = payload_ids(got)
        assert [i for i in ids if i.startswith("fills-")] == [f"fills-{i}" for i in range(5)]
        assert [i for i in ids if i.startswith("bot_1-")] == [f"bot_1-{i}" for i in range(5)]
        assert await raw.call("XLEN", f"{namespace}:{ORDERS.name}") == 5
    finally:
        await raw.close()
        await bus.close()


async def test_close_ends_a_subscription_whose_loop_lost_a_cancellation(
    redis: RedisServer, namespace: str
) -> None:
    # Python 3.11's wait_for can swallow a cancellation that arrives as its inner call finishes
    # (the reader then loops on); close() must cancel again until every task has ended, never
    # hang a shutdown. A task that swallows its first cancellation stands for such a loop.
    bus = RedisBus(bus_config("redis", redis.url, namespace))
    await bus.start()
    try:
        sub = await bus.subscribe(ORDERS, group="connection-manager")
        swallowed = asyncio.Event()

        async def reader_that_loses_one_cancel() -> None:
            while True:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    if swallowed.is_set():
                        raise
                    swallowed.set()

        sub._tasks.append(asyncio.create_task(reader_that_loses_one_cancel()))  # type: ignore[attr-defined]
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with asyncio.timeout(10):
            await sub.close()
        assert loop.time() - began < 3
        assert swallowed.is_set()
        assert all(task.done() for task in sub._tasks)  # type: ignore[attr-defined]
    finally:
        await bus.close()
