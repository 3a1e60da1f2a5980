"""State that survives a restart of the aggregator (both buses): positions per bot, working
orders, the trading state (HALTED stays halted), paused bots, and the queue: an order still
queued when it died is sent by the next run, once."""

from __future__ import annotations

import datetime as dt

from support.agg_harness import AggHarness, limit_buy
from support.bus_helpers import eventually
from tsxbot.messages import ControlAction, Envelope, PositionUpdate, RiskReason, RiskRejection, Side, channels


async def test_positions_working_orders_and_a_halt_survive_a_restart(agg: AggHarness) -> None:
    first = await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="r1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    await eventually(lambda: len(first.working) == 2, what="bracket legs")
    await agg.control(ControlAction.HALT)
    await agg.control(ControlAction.PAUSE_BOT, "bot_3")
    await eventually(lambda: first.registry.get("bot_3").paused, what="bot_3 paused")  # type: ignore[union-attr]
    await first.stop()  # (it saved after every batch; nothing more on the way out)

    second = await agg.start_aggregator()
    assert second.restored is not None
    assert second.positions.quantity("bot_2", "MES") == 1
    assert second.engine.bot_position("bot_2", "MES") == 1
    assert len(second.working) == 2
    assert second.account.state_name == "HALTED"
    assert second.registry.get("bot_3").paused  # type: ignore[union-attr]
    assert [e.kind for e in second.account.events if e.kind == "HALT"] == ["HALT"]
    await agg.submit("bot_2", order_id="r2", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "r2")
    assert refused.reason is RiskReason.TRADING_HALTED
    await agg.control(ControlAction.RESUME)
    await eventually(lambda: second.account.state_name == "ACTIVE", what="resumed")
    # bot_2's long is known: a sell without a stop is its exit, and its legs go once it is flat.
    await agg.submit("bot_2", order_id="r3", side=Side.SELL)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await eventually(lambda: len(second.working) == 0, within=10, what="legs cancelled")


async def test_an_order_queued_when_the_aggregator_stopped_is_sent_once_by_the_next(agg: AggHarness) -> None:
    first = await agg.start("aggregator.commandsPerSecond=0.01", "aggregator.commandBurst=1")
    mark = await agg.wait_mark()
    bracket = {"stop_loss": mark - 4.0, "take_profit": mark + 12.0}
    await agg.submit("bot_2", order_id="s1", **bracket)
    await eventually(lambda: first.counters["sent"] == 1, what="s1 sent")
    await agg.submit("bot_2", order_id="s2", **bracket)
    await eventually(lambda: len(first.queue) == 1, what="s2 queued")
    await first.stop()

    second = await agg.start_aggregator()
    await eventually(lambda: second.counters["sent"] >= 1, what="s2 sent by the second run")
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 2)
    found = await agg.sim_api("Order/search", search_since(agg))
    tags = [o.get("customTag") for o in found["orders"]]
    s1, s2 = first.orders["bot_2:s1"].custom_tag, second.orders["bot_2:s2"].custom_tag
    assert tags.count(s1) == 1 and tags.count(s2) == 1
    assert second.positions.quantity("bot_2", "MES") == 2
    assert second.counters["sent"] == 1  # s1 was not sent again


def search_since(agg: AggHarness) -> dict[str, object]:
    since = agg.sim.now() - dt.timedelta(hours=1)
    return {"accountId": agg.sim.account_id, "startTimestamp": since.isoformat()}


async def test_positions_that_disagree_with_the_exchange_are_reported_and_reduce(agg: AggHarness) -> None:
    """The connection manager says the account holds 2 MES; the aggregator's bots hold none (a
    fill it never heard of): after the grace period the account goes REDUCING, and back to ACTIVE
    once they agree."""
    aggregator = await agg.start()
    await agg.wait_mark()
    bus = await agg.client()
    account = agg.sim.account_id

    async def exchange_says(quantity: int) -> None:
        update = PositionUpdate(
            account_id=account,
            contract_id="CON.F.US.MES.Z26",
            net_quantity=quantity,
            average_price=5000.0,
            timestamp=agg.sim.now(),
            symbol="MES",
        )
        await bus.publish(channels.CM_POSITIONS, Envelope.wrap(update, "connection-manager"))

    await exchange_says(2)
    await eventually(lambda: aggregator.account.state_name == "REDUCING", within=8, what="REDUCING")
    assert "MES: ours 0, exchange 2" in aggregator.account.why()["RECONCILIATION"]
    await exchange_says(0)
    await eventually(lambda: aggregator.account.state_name == "ACTIVE", within=8, what="ACTIVE")
    kinds = [e.kind for e in aggregator.account.events]
    assert "RECONCILIATION_ON" in kinds and "RECONCILIATION_OFF" in kinds


async def test_a_flatten_in_progress_goes_on_after_a_restart(agg: AggHarness) -> None:
    """Flatten while the pace allows one more command: the close goes out, the cancels wait in
    the queue; the aggregator stops; the next run sends what was left (the same command ids)."""
    first = await agg.start()
    mark = await agg.wait_mark()
    low = round((mark - 30.0) * 4) / 4
    await agg.submit("bot_2", order_id="p1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    await agg.submit("bot_3", **limit_buy("p2", low))  # a resting entry
    await eventually(lambda: len(first.working) >= 3, what="legs and the resting entry")
    first.limiter.rate, first.limiter.burst = 0.001, 1.0  # from now: one command, then nothing
    await agg.control(ControlAction.FLATTEN)
    await eventually(lambda: first.counters["sent"] == 3 and len(first.queue) >= 1, what="the rest waits")
    await first.stop()

    second = await agg.start_aggregator()
    await eventually(lambda: second.counters["sent"] >= 1, what="the restored commands sent")
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0, within=15)
    await eventually(lambda: len(second.working) == 0, within=15, what="nothing working")
    assert await agg.open_orders() == []
    assert second.account.state_name == "HALTED"
