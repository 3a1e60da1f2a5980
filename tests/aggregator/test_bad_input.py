"""Bad input on the bus: raw entries on the orders stream over Redis (in-process, publishes are
typed messages and cannot be malformed)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from tsxbot.bus.redis_names import DATA_FIELD
from tsxbot.bus.resp import RedisAddress, RespConnection, pack
from tsxbot.messages import (
    MessageDecodeError,
    PositionUpdate,
    RiskReason,
    RiskRejection,
    channels,
    decode,
)


@pytest.fixture
def backend() -> str:
    return "redis"


async def test_malformed_messages_on_the_orders_stream_harm_nothing(agg: AggHarness) -> None:
    """Bytes that are not a message, an envelope with an impossible payload, a message of the
    wrong type: the bus sets them aside (dead letters, counted); the aggregator goes on and the
    next good submission is placed."""
    aggregator = await agg.start()
    mark = await agg.wait_mark()
    conn = await raw_connection(agg)
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


# Values a field of ORDER_SUBMISSION can never take.
NOT_A_NUMBER = st.one_of(
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
BAD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "quantity": st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), NOT_A_NUMBER, st.none()),
    "side": st.one_of(
        st.text(max_size=6).filter(lambda t: t not in ("BUY", "SELL")), st.integers(), st.none()
    ),
    "symbol": st.one_of(st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2), st.just("")),
    "limitPrice": NOT_A_NUMBER,
    "stopLoss": NOT_A_NUMBER,
    "takeProfitTicks": st.one_of(
        st.text(max_size=3), st.floats(min_value=0.5, max_value=9.5).filter(lambda f: f != int(f))
    ),
    "orderType": st.one_of(
        st.text(max_size=8).filter(lambda t: t.upper() != t or t == ""), st.lists(st.integers(), max_size=1)
    ),
    "reduceOnly": st.one_of(st.text(max_size=3), st.lists(st.booleans(), max_size=1)),
}


@dataclass(frozen=True)
class Case:
    data: bytes
    order_id: str | None  # a refusal for this order id is expected (bot_2 and the id are readable)
    field: str | None


@st.composite
def malformed_submissions(draw: st.DrawFn) -> Case:
    order_id = f"m{uuid.uuid4().hex[:12]}"
    kind = draw(st.sampled_from(["field", "missing", "garbage", "unknown-bot", "no-order-id"]))
    payload: dict[str, Any] = {"orderId": order_id, "symbol": "MES", "side": "BUY", "quantity": 1}
    source = "bot_2"
    expect: str | None = order_id
    field = None
    if kind == "garbage":
        return Case(draw(st.binary(max_size=40)), None, None)
    if kind == "field":
        field = draw(st.sampled_from(sorted(BAD_FIELDS)))
        payload[field] = draw(BAD_FIELDS[field])
    elif kind == "missing":
        field = draw(st.sampled_from(["symbol", "side", "quantity"]))
        del payload[field]
    elif kind == "unknown-bot":
        source, expect = "bot_99", None
        payload["quantity"] = 0
    else:
        payload["orderId"] = draw(st.one_of(st.integers(), st.none(), st.just("")))
        payload["quantity"] = -1
        expect = None
    envelope = {
        "type": "ORDER_SUBMISSION",
        "timestamp": "2026-11-24T15:30:00Z",
        "source": source,
        "messageId": f"fz-{uuid.uuid4().hex}",
        "payload": payload,
        "metadata": {},
    }
    data = json.dumps(envelope).encode()
    try:
        decode(data)
    except MessageDecodeError:
        return Case(data, expect, field)
    raise AssertionError(f"not malformed after all: {data!r}")  # a strategy bug: never send it


async def test_fuzzed_malformed_submissions_get_typed_refusals_naming_the_field(agg: AggHarness) -> None:
    """Generated malformed submissions on the orders stream: each one whose bot and order id can
    be read is refused to that bot (MALFORMED_SUBMISSION, naming the wrong field); the others are
    dead-lettered and counted; nothing crashes, and a good order right after is placed."""
    aggregator = await agg.start()
    mark = await agg.wait_mark()
    conn = await raw_connection(agg)
    key = f"{agg.cm.namespace}:{channels.AGGREGATOR_ORDERS.name}".encode()
    loop = asyncio.get_running_loop()
    sent: list[Case] = []

    async def check(case: Case) -> None:
        await conn.pipeline([pack(b"XADD", key, b"*", DATA_FIELD, case.data)])
        if case.order_id is None:
            return
        refusal = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == case.order_id, within=10)
        assert refusal.reason is RiskReason.MALFORMED_SUBMISSION
        assert f"field {case.field!r}" in refusal.message, refusal.message

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(malformed_submissions())
    def one(case: Case) -> None:
        sent.append(case)
        asyncio.run_coroutine_threadsafe(check(case), loop).result(20)

    try:
        await asyncio.to_thread(one)
    finally:
        await conn.close()
    assert any(c.order_id for c in sent) and any(c.order_id is None for c in sent)
    await eventually(lambda: aggregator.counters["malformedSubmissions"] == len(sent), what="all counted")
    await agg.submit("bot_2", order_id="good", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    assert aggregator.healthy
    assert not aggregator.working.all() or all(o.bot_id == "bot_2" for o in aggregator.working.all())
    refused = {r.order_id for r in agg.of("bot_2", RiskRejection)}
    assert refused == {c.order_id for c in sent if c.order_id}  # exactly those, once each
    assert len(agg.of("bot_2", RiskRejection)) == len(refused)


async def raw_connection(agg: AggHarness) -> RespConnection:
    host, port = agg.cm.redis_url.removeprefix("redis://").split("/")[0].split(":")
    return await RespConnection.open(RedisAddress(host, int(port)), connect_seconds=2)


async def test_a_malformed_submission_is_refused_before_it_is_dead_lettered(agg: AggHarness) -> None:
    """The refusal goes out (confirmed by Redis) before the bus dead-letters and acknowledges the
    submission. The first aggregator dies right after its refusal is out (its handler never
    returns, as a killed process's would not): the submission is still pending, not
    dead-lettered. The next run gets it again, refuses it again under the same message id (the
    bot sees one refusal) and only then dead-letters it, once."""
    first = await agg.start()
    conn = await raw_connection(agg)
    namespace = agg.cm.namespace
    orders_key = f"{namespace}:{channels.AGGREGATOR_ORDERS.name}".encode()
    dead_key = f"{namespace}:dead-letter".encode()
    refused_out = asyncio.Event()
    handler = first.on_malformed

    async def dies_after_refusing(*args: Any) -> None:
        await handler(*args)
        refused_out.set()
        await asyncio.Event().wait()  # killed here: never dead-letters nor acknowledges

    first._subscriptions[0].on_malformed = dies_after_refusing
    data = json.dumps(
        {
            "type": "ORDER_SUBMISSION",
            "timestamp": "2026-11-24T15:30:00Z",
            "source": "bot_2",
            "messageId": "bad-quantity-1",
            "payload": {"orderId": "bad1", "symbol": "MES", "side": "BUY", "quantity": "lots"},
            "metadata": {},
        }
    ).encode()

    async def pending() -> int:
        (summary,) = await conn.pipeline([pack(b"XPENDING", orders_key, b"aggregator")])
        return int(summary[0])

    async def dead_letters() -> int:
        (length,) = await conn.pipeline([pack(b"XLEN", dead_key)])
        return int(length)

    try:
        await conn.pipeline([pack(b"XADD", orders_key, b"*", DATA_FIELD, data)])
        async with asyncio.timeout(10):
            await refused_out.wait()
        refusal = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "bad1")
        assert refusal.reason is RiskReason.MALFORMED_SUBMISSION and "field 'quantity'" in refusal.message
        # Refused, and the submission neither dead-lettered nor acknowledged yet.
        assert await dead_letters() == 0
        assert await pending() == 1
        await first.stop()
        second = await agg.start_aggregator()
        deadline = asyncio.get_running_loop().time() + 10
        while (await dead_letters(), await pending()) != (1, 0):
            assert asyncio.get_running_loop().time() < deadline, "not dead-lettered after the restart"
            await asyncio.sleep(0.02)
        assert second.counters["malformedSubmissions"] == 1
        await asyncio.sleep(0.3)  # a second refusal, were it not dropped as a duplicate, is here by now
        assert len(agg.of("bot_2", RiskRejection, lambda r: r.order_id == "bad1")) == 1
    finally:
        await conn.close()
