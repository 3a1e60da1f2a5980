"""First deliveries without a handled-set lookup (``tsxbot.bus.redis_append``): an entry whose
message id was new to its stream when appended is handed out without asking Redis whether the
group handled it; every other entry still is asked, so nothing is ever delivered twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from support.bus_helpers import bus_config, nothing_more, order, payload_ids, receive
from support.redis_server import RedisServer, redis_server
from tsxbot.bus import RedisBus, ack_all, redis_subscription
from tsxbot.bus.redis_names import DATA_FIELD, WITH_OTHERS_FIELD
from tsxbot.bus.resp import RedisAddress, RespConnection
from tsxbot.messages import Envelope, channels, decode, encode

ORDERS = channels.AGGREGATOR_ORDERS


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own: its command counts are this test's."""
    with redis_server(private=True) as server:
        yield server


async def _calls(conn: RespConnection, command: str) -> int:
    """How many times Redis has run ``command`` (lower case)."""
    info = (await conn.call("INFO", "commandstats")).decode()
    for line in info.splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


async def _lookups(conn: RespConnection) -> int:
    """How many ZMSCORE (handled-set lookups) Redis has run."""
    return await _calls(conn, "zmscore")


async def test_first_deliveries_need_no_lookup_and_every_copy_is_still_caught(
    own_redis: RedisServer, namespace: str
) -> None:
    bus = RedisBus(bus_config("redis", own_redis.url, namespace))
    await bus.start()
    raw = await RespConnection.open(RedisAddress.parse(own_redis.url), connect_seconds=2)
    try:
        sub = await bus.subscribe(ORDERS, group="aggregator")
        sent = [order(i) for i in range(20)]
        await bus.publish_many(ORDERS, sent)
        await bus.flush()
        got = await receive(sub, 20)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(20)]
        for message in got:
            await message.ack()
        assert await _lookups(raw) == 0  # 20 first deliveries, no round trip to check them

        # A copy through the bus (a service re-publishing an id) and one written raw, without
        # the append script: both are looked up, found handled, and never handed out.
        await bus.publish(ORDERS, sent[3])
        await bus.flush()
        copy = Envelope.wrap(sent[5].payload, "bot_1", message_id=sent[5].message_id)
        await raw.call("XADD", f"{namespace}:{ORDERS.name}", "*", DATA_FIELD, encode(copy))
        await bus.publish(ORDERS, order(20))
        await bus.flush()
        (new,) = await receive(sub, 1)
        assert payload_ids([new]) == ["bot_1-20"]
        await new.ack()
        assert await nothing_more(sub) == []
        assert await _lookups(raw) >= 1
        assert sub.metrics().duplicates == 2
    finally:
        await raw.close()
        await bus.close(flush_seconds=2)


async def test_a_message_handled_long_after_it_was_published_stays_a_duplicate(
    own_redis: RedisServer, namespace: str
) -> None:
    """The published set keeps an id for twice the dedupe window after its append; a message
    acknowledged later than that is written into it again by the acknowledgement, so a copy
    published after it is still looked up (without that, it went out marked new and was
    delivered a second time)."""
    config = bus_config("redis", own_redis.url, namespace, dedupe_window_seconds=1)
    first = RedisBus(config)
    await first.start()
    try:
        sub = await first.subscribe(ORDERS, group="aggregator")
        slow = order(0)
        await first.publish(ORDERS, slow)
        await first.flush()
        (held,) = await receive(sub, 1)
        await asyncio.sleep(2.3)  # beyond twice the window: the next append drops the id
        await first.publish(ORDERS, order(1))
        await first.flush()
        (other,) = await receive(sub, 1)
        await held.ack()  # handled at last
        await other.ack()
    finally:
        await first.close(flush_seconds=2)
    # The consumer restarted (nothing remembered locally), and a copy comes within the window of
    # the acknowledgement.
    second = RedisBus(config)
    await second.start()
    try:
        sub = await second.subscribe(ORDERS, group="aggregator")
        await second.publish(ORDERS, slow)
        await second.publish(ORDERS, order(2))
        await second.flush()
        (new,) = await receive(sub, 1)
        assert payload_ids([new]) == ["bot_1-2"]
        await new.ack()
        assert await nothing_more(sub) == []
        assert sub.metrics().duplicates == 1
    finally:
        await second.close(flush_seconds=2)


async def test_a_group_far_behind_checks_even_marked_entries(own_redis: RedisServer, namespace: str) -> None:
    """A group that reads an id only after the published set dropped it (the group down for
    longer than the window) may then meet a later copy that was appended marked new: an entry
    appended more than a dedupe window before it is read is looked up all the same (without
    that, the restarted consumer handed the copy out a second time)."""
    config = bus_config("redis", own_redis.url, namespace, dedupe_window_seconds=1, consumer_buffer_size=1)
    publisher = RedisBus(config)
    await publisher.start()
    try:
        await (await publisher.subscribe(ORDERS, group="aggregator")).close()  # the group, idle
        late = order(0)
        await publisher.publish(ORDERS, late)
        await publisher.flush()
        await asyncio.sleep(2.3)  # beyond twice the window: the next append drops the id
        await publisher.publish(ORDERS, order(1))
        await publisher.publish(ORDERS, late)  # a copy, marked new: its id was dropped
        await publisher.flush()
    finally:
        await publisher.close(flush_seconds=2)
    await asyncio.sleep(1.1)  # every entry older than the window when read
    first = RedisBus(config)
    await first.start()
    try:
        sub = await first.subscribe(ORDERS, group="aggregator")
        (message,) = await receive(sub, 1)  # one at a time (consumer_buffer_size=1)
        assert payload_ids([message]) == ["bot_1-0"]
        await message.ack()
    finally:
        await first.close(flush_seconds=2)  # a crash before the rest: nothing remembered locally
    second = RedisBus(config)
    await second.start()
    try:
        sub = await second.subscribe(ORDERS, group="aggregator")
        (message,) = await receive(sub, 1)
        assert payload_ids([message]) == ["bot_1-1"]
        await message.ack()
        assert await nothing_more(sub, within=0.5) == []
        assert sub.metrics().duplicates == 1
    finally:
        await second.close(flush_seconds=2)


async def test_a_batch_acknowledged_together_is_one_pipeline(own_redis: RedisServer, namespace: str) -> None:
    """``ack_all``: a consumer's batch recorded in one round trip to Redis, not one each (the
    aggregator acknowledges its batches so); each message still acknowledged, none twice."""
    bus = RedisBus(bus_config("redis", own_redis.url, namespace))
    await bus.start()
    try:
        sub = await bus.subscribe(ORDERS, group="aggregator")
        await bus.publish_many(ORDERS, [order(i) for i in range(40)])
        await bus.flush()
        got = await receive(sub, 40)
        before = bus._acks.writes
        for message in got[:20]:
            await message.ack()
        assert bus._acks.writes - before == 20
        before = bus._acks.writes
        await ack_all(got[20:])
        assert bus._acks.writes - before == 1
        await ack_all(got)  # a second ack is a no-op
        assert bus._acks.writes - before == 1
        assert sub.metrics().acked == 40
    finally:
        await bus.close(flush_seconds=2)


async def test_a_transaction_on_several_streams_is_one_delivery(
    own_redis: RedisServer, namespace: str
) -> None:
    """Redis before 7.2 answers a blocked read on several streams with the stream that woke it
    only: what the same transaction appended to the others (a fill, after its order's update)
    would come a read later, after the first part was handled. Both come in one delivery."""
    bus = RedisBus(bus_config("redis", own_redis.url, namespace))
    await bus.start()
    try:
        sub = await bus.subscribe([ORDERS, channels.CM_FILLS], group="aggregator")
        await asyncio.sleep(0.2)  # its read is blocked on both streams
        await bus.publish(ORDERS, order(1))
        await bus.publish(channels.CM_FILLS, order(2))  # (no yield between: one MULTI)
        batch = await asyncio.wait_for(sub.next_batch(10), 5)
        assert sorted(payload_ids(batch)) == ["bot_1-1", "bot_1-2"]
        await ack_all(batch)
    finally:
        await bus.close(flush_seconds=2)


async def test_only_a_transaction_on_several_streams_costs_a_second_read(
    own_redis: RedisServer, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entries of a transaction on several streams are marked (field ``m``), a lone
    stream's are not; a read woken by a marked entry reads the other streams at once, a read
    woken by an unmarked one does not (a submission alone costs one read, not two). Redis 7.2
    and later answer a woken read with every stream that has entries: no second read at all."""
    # A blocked read that times out is read again: not within this test's counts.
    monkeypatch.setattr(redis_subscription, "_BLOCK_MS", 60_000)
    bus = RedisBus(bus_config("redis", own_redis.url, namespace))
    await bus.start()
    conn = await RespConnection.open(RedisAddress.parse(own_redis.url), connect_seconds=2)
    try:
        sub = await bus.subscribe([ORDERS, channels.CM_FILLS], group="aggregator")
        await asyncio.sleep(0.2)  # its read is blocked on both streams

        async def reads_for(*publishes: tuple[channels.Channel, int]) -> int:
            before = await _calls(conn, "xreadgroup")
            for channel, n in publishes:
                await bus.publish(channel, order(n))  # (no yield between: one MULTI)
            batch = await asyncio.wait_for(sub.next_batch(10), 5)
            assert sorted(payload_ids(batch)) == sorted(f"bot_1-{n}" for _, n in publishes)
            await ack_all(batch)
            await asyncio.sleep(0.2)  # the next read is blocked again
            return await _calls(conn, "xreadgroup") - before

        alone = await reads_for((ORDERS, 1))
        together = await reads_for((ORDERS, 2), (channels.CM_FILLS, 3))
        info = (await conn.call("INFO", "server")).decode()
        version = tuple(int(part) for part in info.split("redis_version:")[1].split(".")[:2])
        assert together == alone + (1 if version < (7, 2) else 0)
        marks = {}
        for channel in (ORDERS, channels.CM_FILLS):
            for _entry_id, fields in await conn.call("XRANGE", f"{namespace}:{channel.name}", "-", "+"):
                pairs = dict(zip(fields[::2], fields[1::2], strict=True))
                marks[decode(pairs[DATA_FIELD]).payload.order_id] = pairs.get(WITH_OTHERS_FIELD)
        assert marks == {"bot_1-1": None, "bot_1-2": b"1", "bot_1-3": b"1"}
    finally:
        await conn.close()
        await bus.close(flush_seconds=2)
