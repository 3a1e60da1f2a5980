"""Bad input on the bus: raw entries on the orders stream over Redis (in-process, publishes are
typed messages and cannot be malformed)."""

from __future__ import annotations

import pytest

from support.agg_harness import AggHarness
from tsxbot.bus.redis_names import DATA_FIELD
from tsxbot.bus.resp import RedisAddress, RespConnection, pack
from tsxbot.messages import PositionUpdate, channels


@pytest.fixture
def backend() -> str:
    return "redis"


async def test_malformed_messages_on_the_orders_stream_harm_nothing(agg: AggHarness) -> None:
    """Bytes that are not a message, an envelope with an impossible payload, a message of the
    wrong type: the bus sets them aside (dead letters, counted); the aggregator goes on and the
    next good submission is placed."""
    aggregator = await agg.start()
    mark = await agg.wait_mark()
    url = agg.cm.redis_url.removeprefix("redis://").split("/")[0]
    host, port = url.split(":")
    conn = await RespConnection.open(RedisAddress(host, int(port)), connect_seconds=2)
    key = f"{agg.cm.namespace}:{channels.AGGREGATOR_ORDERS.name}".encode()
    bad = [
        b"\xff\xfe not json",
        b'{"type": "ORDER_SUBMISSION", "timestamp": "2026-11-24T15:30:00Z", "source": "bot_2", '
        b'"payload": {"orderId": "q0", "symbol": "MES", "side": "BUY", "quantity": 0}, "metadata": {}}',
        b'{"type": "NO_SUCH_TYPE", "timestamp": "2026-11-24T15:30:00Z", "source": "bot_2", "payload": {}}',
        b"[]",
    ]
    try:
        for data in bad:
            await conn.pipeline([pack(b"XADD", key, b"*", DATA_FIELD, data)])
    finally:
        await conn.close()
    await agg.submit("bot_2", order_id="good", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    subscription = aggregator.bus.metrics().subscriptions
    assert sum(s.dead_lettered for s in subscription) >= len(bad)
    assert aggregator.healthy
