"""The kill switch from control messages (both buses): halt and resume, a bot paused and
resumed, and flatten-all across bots with working brackets and a resting entry."""

from __future__ import annotations

from support.agg_harness import AggHarness, limit_buy
from support.bus_helpers import eventually
from tsxbot.messages import (
    ControlAction,
    OrderStatus,
    OrderUpdate,
    PositionUpdate,
    RiskReason,
    RiskRejection,
    Side,
)


async def test_halt_refuses_every_new_order_until_resume(agg: AggHarness) -> None:
    await agg.start()
    mark = await agg.wait_mark()
    await agg.control(ControlAction.HALT)
    await eventually(lambda: agg.agg.account.state_name == "HALTED", what="HALTED")
    await agg.submit("bot_2", order_id="h1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "h1")
    assert refused.reason is RiskReason.TRADING_HALTED
    await agg.control(ControlAction.RESUME)
    await eventually(lambda: agg.agg.account.state_name == "ACTIVE", what="ACTIVE")
    await agg.submit("bot_2", order_id="h2", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    halts = [e for e in agg.agg.account.events if e.kind in ("HALT", "RESUME")]
    assert [(e.kind, e.requested_by, e.message) for e in halts] == [
        ("HALT", "test", "test"),
        ("RESUME", "test", "test"),
    ]


async def test_a_paused_bot_may_exit_but_not_enter(agg: AggHarness) -> None:
    await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="a1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    await agg.control(ControlAction.PAUSE_BOT, "bot_2")
    await eventually(lambda: agg.agg.registry.get("bot_2").paused, what="paused")  # type: ignore[union-attr]
    await agg.submit("bot_2", order_id="a2", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    assert (
        await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "a2")
    ).reason is RiskReason.BOT_PAUSED
    await agg.submit("bot_3", order_id="b1", stop_loss=mark - 4.0, take_profit=mark + 12.0)  # others trade on
    await agg.wait_for("bot_3", PositionUpdate, lambda p: p.net_quantity == 1)
    await agg.submit("bot_2", order_id="a3", side=Side.SELL)  # its exit passes
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await agg.control(ControlAction.RESUME_BOT, "bot_2")
    await eventually(lambda: not agg.agg.registry.get("bot_2").paused, what="resumed")  # type: ignore[union-attr]


async def test_flatten_all_closes_every_bot_and_cancels_every_working_order(agg: AggHarness) -> None:
    await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="f1", quantity=2, stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.submit("bot_3", order_id="g1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    low = round((mark - 30.0) * 4) / 4
    await agg.submit("bot_3", **limit_buy("g2", low))  # a resting entry
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 2)
    await agg.wait_for("bot_3", PositionUpdate, lambda p: p.net_quantity == 1)
    await agg.wait_for("bot_3", OrderUpdate, lambda u: u.order_id == "g2" and u.status is OrderStatus.OPEN)
    await eventually(lambda: len(agg.agg.working) >= 5, what="two brackets and the entry working")

    await agg.control(ControlAction.FLATTEN)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await agg.wait_for("bot_3", PositionUpdate, lambda p: p.net_quantity == 0)
    await eventually(lambda: len(agg.agg.working) == 0, within=10, what="nothing working")
    assert await agg.open_orders() == []
    positions = await agg.sim_api("Position/searchOpen", {"accountId": agg.sim.account_id})
    assert positions["positions"] == []
    assert agg.agg.account.state_name == "HALTED"
    assert agg.agg.positions.quantity("", "MES") == 0  # the close went to the bots, none left over
    assert agg.agg.engine.position("MES")[0] == 0
    flatten = [e for e in agg.agg.account.events if e.kind == "FLATTEN"]
    assert [(e.requested_by, e.message) for e in flatten] == [("test", "test")]


async def test_flatten_closes_offsetting_bots_against_each_other(agg: AggHarness) -> None:
    """bot_2 long 1 and bot_3 short 1 in MES: the account is flat, nothing to close at the
    exchange; flatten cancels their brackets and closes the two positions against each other."""
    await agg.start()
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="L", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    await agg.submit("bot_3", order_id="S", side=Side.SELL, stop_loss=mark + 4.0, take_profit=mark - 12.0)
    await agg.wait_for("bot_3", PositionUpdate, lambda p: p.net_quantity == -1)
    await eventually(lambda: len(agg.agg.working) == 4, what="two brackets")
    await eventually(lambda: agg.agg.exchange_positions.get("MES") == 0, what="the exchange flat")

    await agg.control(ControlAction.FLATTEN)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await agg.wait_for("bot_3", PositionUpdate, lambda p: p.net_quantity == 0)
    await eventually(lambda: len(agg.agg.working) == 0, within=10, what="brackets cancelled")
    assert await agg.open_orders() == []
    assert agg.agg.engine.bot_position("bot_2", "MES") == 0 == agg.agg.engine.bot_position("bot_3", "MES")
    assert any(e.kind == "INTERNAL_CROSS" for e in agg.agg.account.events)
