"""What only the in-process bus has: backpressure on the publisher itself (no Redis to hold the
backlog), and objects passed through without encoding."""

from __future__ import annotations

import pytest

from support.bus_helpers import order, quote, receive
from tsxbot.bus import BusFullError, MemoryBus
from tsxbot.bus.memory_stream import HandledIds
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import channels

ORDERS = channels.AGGREGATOR_ORDERS


async def test_a_group_too_far_behind_makes_durable_publish_fail_loudly() -> None:
    bus = MemoryBus(BusConfig(consumer_buffer_size=3, durable_publish_timeout_seconds=0.2))
    sub = await bus.subscribe(ORDERS, group="aggregator")
    for i in range(3):
        await bus.publish(ORDERS, order(i))
    with pytest.raises(BusFullError, match="aggregator:orders"):
        await bus.publish(ORDERS, order(3))
    assert bus.metrics().publish_full_errors == 1
    assert bus.metrics().publish_buffer_depth == 3
    first = await receive(sub, 3)
    await first[0].ack()
    await bus.publish(ORDERS, order(4))  # room again once the group acknowledged
    assert [m.envelope.payload.order_id for m in await receive(sub, 1)] == ["bot_1-4"]
    await bus.close()


async def test_a_batch_refused_midway_says_how_many_of_it_were_published() -> None:
    bus = MemoryBus(BusConfig(consumer_buffer_size=3, durable_publish_timeout_seconds=0.2))
    sub = await bus.subscribe(ORDERS, group="aggregator")
    await bus.publish(ORDERS, order(0))
    with pytest.raises(BusFullError, match="aggregator:orders") as refused:
        await bus.publish_many(ORDERS, [order(i) for i in range(1, 6)])
    assert refused.value.published == 2  # bot_1-1 and bot_1-2; bot_1-3.. were not published
    got = await receive(sub, 3)
    assert [m.envelope.payload.order_id for m in got] == ["bot_1-0", "bot_1-1", "bot_1-2"]
    assert bus.metrics().published == 3 and bus.metrics().publish_full_errors == 1
    await bus.close()


async def test_without_any_group_a_durable_channel_keeps_the_newest_stream_max_len() -> None:
    bus = MemoryBus(BusConfig(stream_max_len=5))
    for i in range(8):
        await bus.publish(ORDERS, order(i))
    sub = await bus.subscribe(ORDERS, group="late")
    got = await receive(sub, 5)
    assert [m.envelope.payload.order_id for m in got] == [f"bot_1-{i}" for i in range(3, 8)]
    await bus.close()


async def test_envelopes_pass_through_as_the_same_object() -> None:
    bus = MemoryBus()
    sub = await bus.subscribe(channels.market_data("MES"))
    envelope = quote(1)
    await bus.publish(channels.market_data("MES"), envelope)
    (message,) = await receive(sub, 1)
    assert message.envelope is envelope
    await bus.close()


def test_handled_ids_are_forgotten_after_the_window() -> None:
    handled = HandledIds(window_s=10)
    handled.add("a", now=0.0)
    handled.add("b", now=5.0)
    assert "a" in handled and "b" in handled
    handled.add("c", now=12.0)
    assert "a" not in handled and "b" in handled and len(handled) == 2
