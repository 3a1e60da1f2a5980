"""The order path through the aggregator, against the real simulator, connection manager and bus
(both backends): checked, queued, placed with its bracket, filled, and reported to the bot."""

from __future__ import annotations

import asyncio

from support.agg_harness import AggHarness, limit_buy
from support.bus_helpers import eventually
from tsxbot.messages import (
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    PositionUpdate,
    RejectionStage,
    RiskReason,
    RiskRejection,
    Side,
    channels,
)


async def test_submission_is_placed_with_its_stop_filled_and_reported_to_the_bot(agg: AggHarness) -> None:
    await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="e1", stop_loss=mark - 4.0, take_profit=mark + 12.0)

    fill = await agg.wait_for("bot_2", Fill)
    assert (fill.bot_id, fill.order_id, fill.side, fill.quantity) == ("bot_2", "e1", Side.BUY, 1)
    position = await agg.wait_for("bot_2", PositionUpdate)
    assert (position.bot_id, position.symbol, position.net_quantity) == ("bot_2", "MES", 1)
    assert agg.agg.positions.quantity("bot_2", "MES") == 1
    # The bracket rests at the exchange: a stop below the fill and a target above, on the tick.
    await eventually(lambda: len(agg.agg.working) == 2, what="two bracket legs")
    orders = await agg.open_orders()
    stops = [o for o in orders if o["type"] == 4]
    targets = [o for o in orders if o["type"] == 1]
    assert len(stops) == 1 and len(targets) == 1
    assert stops[0]["stopPrice"] < fill.price < targets[0]["limitPrice"]
    # The stop distance is the submission's, measured from the price it was checked against.
    assert abs((fill.price - stops[0]["stopPrice"]) - 4.0) <= abs(fill.price - mark) + 1e-9
    record = agg.agg.orders["bot_2:e1"]
    assert record.status in ("WORKING", "FILLED")
    assert agg.agg.engine.working_orders == 0  # filled: no longer counted as working


async def test_a_bots_refusals_are_typed_with_the_limit_and_the_value(agg: AggHarness) -> None:
    await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="nostop")  # an entry without a stop-loss
    await agg.submit("bot_2", order_id="big", quantity=6, stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.submit(
        "bot_2", order_id="offgrid", order_type="LIMIT", limit_price=mark + 0.1, stop_loss=mark - 4
    )
    await agg.submit("bot_2", order_id="far", stop_loss=mark - 50.0, take_profit=mark + 100.0)
    await agg.submit("bot_2", order_id="nosym", symbol="XYZ", stop_loss=1.0)
    await agg.submit("intruder", order_id="x1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.submit("bot_2", order_id="negstop", stop_loss=-5.0, take_profit=mark + 12.0)
    await agg.submit("bot_2", order_id="zerolimit", order_type="LIMIT", limit_price=0.0, stop_loss=mark - 4)

    def reason(order_id: str) -> RiskRejection:
        found = [r for r in agg.risk if isinstance(r, RiskRejection) and r.order_id == order_id]
        assert len(found) == 1, (order_id, agg.risk)
        return found[0]

    await eventually(lambda: len(agg.risk) >= 8, what="eight rejections")
    assert reason("nostop").reason is RiskReason.MISSING_STOP_LOSS
    big = reason("big")
    assert (big.reason, big.limit, big.value) == (RiskReason.MAX_ORDER_SIZE, 5.0, 6.0)
    assert reason("offgrid").reason is RiskReason.PRICE_OFF_TICK
    assert reason("far").reason is RiskReason.STOP_LOSS_TOO_FAR
    assert reason("nosym").reason is RiskReason.UNKNOWN_SYMBOL
    assert reason("negstop").reason is RiskReason.INVALID_PRICE
    assert reason("zerolimit").reason is RiskReason.INVALID_PRICE
    intruder = reason("x1")
    assert (intruder.reason, intruder.bot_id, intruder.stage) == (
        RiskReason.UNKNOWN_BOT,
        "intruder",
        RejectionStage.AGGREGATOR,
    )
    # The bot hears its own refusals (not the intruder's); nothing reached the exchange.
    assert {r.order_id for r in agg.of("bot_2", RiskRejection)} == {
        "nostop",
        "big",
        "offgrid",
        "far",
        "nosym",
        "negstop",
        "zerolimit",
    }
    assert await agg.open_orders() == []
    assert agg.agg.counters["sent"] == 0


async def test_a_cancelled_order_frees_its_room_at_the_risk_engine(agg: AggHarness) -> None:
    """bot_2 may hold 4 contracts (2 positions of 2): two working limit orders of 2 fill it; once
    one is cancelled at the exchange, the engine is told (on_order_closed) and there is room again."""
    await agg.start()
    mark = await agg.wait_mark()
    low = round((mark - 40.0) * 4) / 4
    await agg.submit("bot_2", **limit_buy("w1", low, 2))
    await agg.submit("bot_2", **limit_buy("w2", low, 2))
    await eventually(lambda: agg.agg.engine.working_orders == 2, what="two working")
    await eventually(lambda: len(agg.of("bot_2", OrderUpdate, lambda u: u.status is OrderStatus.OPEN)) >= 2)
    await agg.submit("bot_2", **limit_buy("w3", low, 2))
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "w3")
    assert refused.reason is RiskReason.MAX_CONTRACTS_BOT
    w1 = agg.agg.orders["bot_2:w1"].exchange_order_id
    assert w1 is not None
    await agg.sim_api("Order/cancel", {"accountId": agg.sim.account_id, "orderId": w1})
    await eventually(lambda: agg.agg.engine.working_orders == 1, what="the cancel seen")
    await agg.submit("bot_2", **limit_buy("w4", low, 2))

    def w4_sent() -> bool:
        record = agg.agg.orders.get("bot_2:w4")
        return record is not None and record.status in ("SENT", "WORKING")

    await eventually(w4_sent, what="w4 accepted")


async def test_a_flat_bot_has_its_protective_orders_cancelled(agg: AggHarness) -> None:
    """A bot that exits with an opposite order (not its target or stop) leaves its bracket legs
    working at the exchange; the aggregator cancels them once the bot is flat."""
    await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="in", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    await eventually(lambda: len(agg.agg.working) == 2, what="bracket legs")
    await agg.submit("bot_2", order_id="out", side=Side.SELL)  # an exit: needs no stop
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await eventually(lambda: len(agg.agg.working) == 0, within=10, what="legs cancelled")

    async def no_open_orders() -> bool:
        return await agg.open_orders() == []

    for _ in range(50):
        if await no_open_orders():
            break
        await asyncio.sleep(0.1)
    assert await agg.open_orders() == []
    assert agg.agg.positions.quantity("bot_2", "MES") == 0


async def test_entries_are_refused_on_a_blocked_date(agg: AggHarness) -> None:
    await agg.start("risk.blockedDates=[2026-11-24]")
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="b1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "b1")
    assert refused.reason is RiskReason.BLOCKED_DATE


async def test_a_partial_exit_cuts_the_protective_orders_to_the_position(agg: AggHarness) -> None:
    """Long 2 with a bracket of 2; an opposite order exits 1: a stop of 2 would make the bot short,
    so the aggregator cuts its stop and target to 1."""
    await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="in2", quantity=2, stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 2)
    await eventually(lambda: len(agg.agg.working) == 2, what="bracket legs")
    await agg.submit("bot_2", order_id="out1", side=Side.SELL, quantity=1)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)

    async def leg_sizes() -> list[int]:
        return sorted(o["size"] for o in await agg.open_orders())

    for _ in range(100):
        if await leg_sizes() == [1, 1]:
            break
        await asyncio.sleep(0.05)
    assert await leg_sizes() == [1, 1]


async def test_an_order_that_could_cross_zero_is_an_entry_and_gets_its_bracket(agg: AggHarness) -> None:
    """Long 1 with a resting sell (its take-profit of its own, as a limit) of 1: another sell of 1
    could, with the first, make the bot short, so it is an opening order: it needs a stop-loss and
    is sent with its bracket."""
    await agg.start()
    spy = await (await agg.client()).subscribe(channels.CM_COMMANDS, group="spy")
    try:
        mark = await agg.wait_mark()
        await agg.submit("bot_2", order_id="long", stop_loss=mark - 4.0, take_profit=mark + 12.0)
        await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        high = round((mark + 30.0) * 4) / 4
        await agg.submit(
            "bot_2", order_id="rest", side=Side.SELL, order_type="LIMIT", limit_price=high, quantity=1
        )
        await agg.submit("bot_2", order_id="cross", side=Side.SELL, quantity=1)  # no stop: refused
        refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "cross")
        assert refused.reason is RiskReason.MISSING_STOP_LOSS
        await agg.submit(
            "bot_2", order_id="cross2", side=Side.SELL, stop_loss=mark + 4.0, take_profit=mark - 12.0
        )
        commands: dict[str, PlaceOrder] = {}

        async def collect() -> None:
            async for message in spy:
                payload = message.envelope.payload
                if isinstance(payload, PlaceOrder):
                    commands[payload.order_id] = payload
                await message.ack()

        task = asyncio.create_task(collect())
        await eventually(lambda: "cross2" in commands, what="cross2 sent")
        task.cancel()
        assert commands["rest"].stop_loss_ticks is None  # a real exit: no bracket
        assert (
            commands["cross2"].stop_loss_ticks is not None
            and commands["cross2"].take_profit_ticks is not None
        )
    finally:
        await spy.close()


async def test_an_order_whose_outcome_is_unknown_stays_counted_as_working(agg: AggHarness) -> None:
    """The gateway fails (TopStepX answers 503 to every place): the order may or may not be at
    the exchange, so the risk engine keeps counting it (the safe side) and the bot is not told it
    was refused."""
    await agg.start()
    mark = await agg.wait_mark()
    await agg.sim.admin("faults/http", {"path": "/api/Order/place", "status": 503, "count": 100})
    await agg.submit("bot_2", order_id="u1", stop_loss=mark - 4.0, take_profit=mark + 12.0)

    def unknown() -> bool:
        record = agg.agg.orders.get("bot_2:u1")
        return record is not None and record.status == "UNKNOWN"

    await eventually(unknown, within=30, what="UNKNOWN")
    assert agg.agg.engine.working_orders == 1
    assert any(e.kind == "ORDER_OUTCOME_UNKNOWN" for e in agg.agg.account.events)
    assert not agg.of("bot_2", RiskRejection, lambda r: r.order_id == "u1")
