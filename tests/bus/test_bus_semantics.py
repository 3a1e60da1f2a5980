"""The bus's contract, run on both implementations (in-process and a real Redis)."""

from __future__ import annotations

import asyncio

import pytest

from bus.conftest import MakeBus
from support.bus_helpers import eventually, nothing_more, order, payload_ids, quote, receive
from tsxbot.bus import BusClosedError, BusUsageError
from tsxbot.messages import Envelope, channels

MES = channels.market_data("MES")
MNQ = channels.market_data("MNQ")
ORDERS = channels.AGGREGATOR_ORDERS


async def test_ephemeral_fan_out_in_order_and_per_symbol(make_bus: MakeBus) -> None:
    bus = await make_bus()
    first = await bus.subscribe(MES)
    second = await bus.subscribe([MES, MNQ])
    for i in range(5):
        await bus.publish(MES, quote(i))
    await bus.publish(MNQ, quote(99, "MNQ"))
    await bus.flush()
    got_first = await receive(first, 5)
    got_second = await receive(second, 6)
    assert payload_ids(got_first) == ["5000", "5001", "5002", "5003", "5004"]
    assert sorted(payload_ids(got_second)) == sorted([*payload_ids(got_first), "5099"])
    assert {m.channel for m in got_second} == {MES, MNQ}
    assert await nothing_more(first) == []  # MNQ never reaches a MES-only subscriber


async def test_one_subscription_mixes_ephemeral_and_durable_channels(make_bus: MakeBus) -> None:
    bus = await make_bus()
    control = channels.bot_control("bot_1")
    sub = await bus.subscribe([MES, control], group="bot_1")
    await bus.publish(MES, quote(1))
    await bus.publish(control, order(1))
    await bus.flush()
    got = await receive(sub, 2)
    assert {m.channel.name for m in got} == {MES.name, control.name}
    for m in got:
        await m.ack()
    assert sub.metrics().acked == 1  # the ephemeral ack is a no-op


async def test_every_group_gets_every_durable_message_once(make_bus: MakeBus) -> None:
    bus = await make_bus()
    aggregator = await bus.subscribe(ORDERS, group="aggregator")
    monitor = await bus.subscribe(ORDERS, group="monitor")
    for i in range(20):
        await bus.publish(ORDERS, order(i))
    await bus.flush()
    for sub in (aggregator, monitor):
        got = await receive(sub, 20)
        assert payload_ids(got) == [f"bot_1-{i}" for i in range(20)]
        for m in got:
            await m.ack()
        assert await nothing_more(sub) == []


async def test_consumers_of_one_group_share_the_messages(make_bus: MakeBus) -> None:
    bus = await make_bus()
    a = await bus.subscribe(ORDERS, group="aggregator", consumer="a")
    b = await bus.subscribe(ORDERS, group="aggregator", consumer="b")
    for i in range(40):
        await bus.publish(ORDERS, order(i))
    await bus.flush()
    seen: list[str] = []

    async def drain(sub: object) -> None:
        assert sub is a or sub is b
        while True:
            batch = await nothing_more(sub, within=0.5)
            if not batch:
                return
            for m in batch:
                seen.append(m.envelope.payload.order_id)
                await m.ack()

    await asyncio.gather(drain(a), drain(b))
    assert sorted(seen) == sorted(f"bot_1-{i}" for i in range(40))  # each exactly once


async def test_durable_messages_wait_for_a_group_created_later(make_bus: MakeBus) -> None:
    bus = await make_bus()
    for i in range(3):
        await bus.publish(ORDERS, order(i))
    await bus.flush()
    sub = await bus.subscribe(ORDERS, group="aggregator")
    assert payload_ids(await receive(sub, 3)) == ["bot_1-0", "bot_1-1", "bot_1-2"]


async def test_a_restarted_consumer_resumes_where_it_was(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe(ORDERS, group="aggregator")
    for i in range(10):
        await bus.publish(ORDERS, order(i))
    await bus.flush()
    got = await receive(sub, 10)
    for m in got[:6]:
        await m.ack()
    await sub.close()  # a crash: 6 handled, 4 received but never acknowledged
    for i in range(10, 13):
        await bus.publish(ORDERS, order(i))
    await bus.flush()

    again = await bus.subscribe(ORDERS, group="aggregator")
    resumed = await receive(again, 7)
    assert payload_ids(resumed) == [f"bot_1-{i}" for i in range(6, 13)]
    assert [m.redelivered for m in resumed] == [True] * 4 + [False] * 3
    for m in resumed:
        await m.ack()
    assert await nothing_more(again) == []
    assert again.metrics().redelivered == 4


async def test_a_message_id_is_handled_once(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe(ORDERS, group="aggregator")
    envelope = order(1)
    await bus.publish(ORDERS, envelope)
    await bus.publish(ORDERS, envelope)  # a publisher's retry: same message id
    await bus.flush()
    (first,) = await receive(sub, 1)
    await first.ack()
    await bus.publish(ORDERS, envelope)  # and a late one, after it was handled
    await bus.publish(ORDERS, order(2))
    await bus.flush()
    (second,) = await receive(sub, 1)
    assert payload_ids([second]) == ["bot_1-2"]
    await second.ack()
    assert await nothing_more(sub) == []
    await eventually(lambda: sub.metrics().duplicates == 2, what="two duplicates counted")


async def test_unacknowledged_message_comes_back_until_acknowledged(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe(ORDERS, group="aggregator")
    await bus.publish(ORDERS, order(1))
    await bus.flush()
    (m,) = await receive(sub, 1)
    assert not m.redelivered
    await sub.close()  # crashed while handling it

    sub = await bus.subscribe(ORDERS, group="aggregator")
    (m,) = await receive(sub, 1)
    assert m.redelivered and payload_ids([m]) == ["bot_1-1"]
    await m.ack()
    await sub.close()

    sub = await bus.subscribe(ORDERS, group="aggregator")
    assert await nothing_more(sub) == []


async def test_a_slow_consumer_of_ephemeral_messages_loses_the_oldest_counted(make_bus: MakeBus) -> None:
    bus = await make_bus(consumer_buffer_size=10)
    sub = await bus.subscribe(MES)
    for i in range(100):
        await bus.publish(MES, quote(i))
    await bus.flush()
    await eventually(lambda: sub.metrics().depth + sub.metrics().dropped == 100, what="all 100 accounted")
    metrics = sub.metrics()
    assert (metrics.depth, metrics.capacity, metrics.dropped) == (10, 10, 90)
    assert payload_ids(await sub.next_batch()) == [str(5000 + i) for i in range(90, 100)]  # the newest
    assert bus.metrics().as_values()[f"bus.subscription.{sub.name}.dropped"] == 90


async def test_durable_delivery_is_bounded_by_acknowledgements(make_bus: MakeBus) -> None:
    bus = await make_bus(consumer_buffer_size=5, durable_publish_timeout_seconds=5)
    sub = await bus.subscribe(ORDERS, group="aggregator")
    publishing = asyncio.create_task(_publish_orders(bus, 12))
    first = await receive(sub, 5)
    assert await nothing_more(sub) == []  # nothing beyond the bound until acknowledged
    for m in first:
        await m.ack()
    rest = await receive(sub, 5)
    for m in rest:
        await m.ack()
    last = await receive(sub, 2)
    await publishing
    assert payload_ids(first + rest + last) == [f"bot_1-{i}" for i in range(12)]


async def test_publish_many_is_publishing_each_in_turn(make_bus: MakeBus) -> None:
    """A batch keeps its order among single publishes, every group gets each message once, a
    message id already handled is not handed out again, and ephemeral batches fan out in order."""
    bus = await make_bus()
    aggregator = await bus.subscribe(ORDERS, group="aggregator")
    monitor = await bus.subscribe(ORDERS, group="monitor")
    market = await bus.subscribe(MES)
    await bus.publish(ORDERS, order(0))
    await bus.publish_many(ORDERS, [order(i) for i in range(1, 30)])
    await bus.publish(ORDERS, order(30))
    await bus.publish_many(ORDERS, [])
    await bus.publish_many(MES, [quote(i) for i in range(5)])
    await bus.flush()
    expected = [f"bot_1-{i}" for i in range(31)]
    for sub in (aggregator, monitor):
        got = await receive(sub, 31)
        assert payload_ids(got) == expected
        for m in got:
            await m.ack()
    assert payload_ids(await receive(market, 5)) == ["5000", "5001", "5002", "5003", "5004"]
    handled = Envelope.wrap(order(0).payload, "bot_1", message_id=got[0].message_id)
    await bus.publish_many(ORDERS, [handled])
    await bus.flush()
    assert await nothing_more(aggregator) == []  # a message id is handled once
    assert bus.metrics().published == 1 + 29 + 1 + 5 + 1


async def test_publish_many_checks_every_message_id_before_publishing_any(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe(ORDERS, group="aggregator")
    no_id = Envelope(
        type=order(1).type, timestamp=order(1).timestamp, source="bot_1", payload=order(1).payload
    )
    with pytest.raises(BusUsageError, match="needs a messageId"):
        await bus.publish_many(ORDERS, [order(0), no_id])
    await bus.flush()
    assert await nothing_more(sub) == []


async def test_a_durable_batch_beyond_the_bound_waits_for_acknowledgements(make_bus: MakeBus) -> None:
    bus = await make_bus(consumer_buffer_size=5, durable_publish_timeout_seconds=5)
    sub = await bus.subscribe(ORDERS, group="aggregator")

    async def publish() -> None:
        await bus.publish_many(ORDERS, [order(i) for i in range(12)])
        await bus.flush()

    publishing = asyncio.create_task(publish())
    got: list[str] = []
    while len(got) < 12:
        batch = await receive(sub, min(5, 12 - len(got)))
        assert await nothing_more(sub) == []  # nothing beyond the bound until acknowledged
        got.extend(payload_ids(batch))
        for m in batch:
            await m.ack()
    await publishing
    assert got == [f"bot_1-{i}" for i in range(12)]


async def _publish_orders(bus: object, count: int) -> None:
    from tsxbot.bus import MessageBus

    assert isinstance(bus, MessageBus)
    for i in range(count):
        await bus.publish(ORDERS, order(i))
    await bus.flush()


async def test_wrong_use_is_a_typed_error(make_bus: MakeBus) -> None:
    bus = await make_bus()
    with pytest.raises(BusUsageError, match="need a consumer group"):
        await bus.subscribe([MES, ORDERS])
    no_id = Envelope(
        type=order(1).type, timestamp=order(1).timestamp, source="bot_1", payload=order(1).payload
    )
    with pytest.raises(BusUsageError, match="needs a messageId"):
        await bus.publish(ORDERS, no_id)
    with pytest.raises(BusUsageError, match="invalid consumer group"):
        await bus.subscribe(ORDERS, group="bad group!")


async def test_close_ends_iteration_and_refuses_publishing(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe(MES)
    received: list[object] = []

    async def consume() -> None:
        async for m in sub:
            received.append(m)

    consumer = asyncio.create_task(consume())
    await bus.publish(MES, quote(1))
    await bus.flush()
    await eventually(lambda: len(received) == 1, what="one message consumed")
    await bus.close()
    await asyncio.wait_for(consumer, 2)  # the async for ended on its own
    assert sub.closed
    with pytest.raises(BusClosedError):
        await bus.publish(MES, quote(2))
