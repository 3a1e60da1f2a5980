"""The account's trading state against the simulator (both buses): daily loss mid-trade halts
and flattens, the profit target and the trailing Maximum Loss Limit stop new entries, the circuit
breaker trips on repeated refusals; and the CME day roll at 17:00 Chicago, by the exchange clock."""

from __future__ import annotations

import datetime as dt

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.sim import sim_config
from tsxbot.aggregator import Aggregator
from tsxbot.aggregator.trading_state import Cause, trading_day
from tsxbot.bus import MemoryBus
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import ControlAction, PositionUpdate, RiskReason, RiskRejection, Side


async def open_long(agg: AggHarness, order_id: str, bot: str = "bot_2") -> float:
    mark = await agg.wait_mark()
    await agg.submit(bot, order_id=order_id, stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for(bot, PositionUpdate, lambda p: p.net_quantity >= 1)
    return mark


async def set_balance(agg: AggHarness, balance: float) -> None:
    await agg.sim.admin(f"accounts/{agg.sim.account_id}", {"balance": balance})


async def test_daily_loss_hit_mid_trade_halts_and_flattens_everything(agg: AggHarness) -> None:
    await agg.start()
    await open_long(agg, "l1")
    await eventually(lambda: len(agg.agg.working) == 2, what="bracket legs")
    await set_balance(agg, 48_900.0)  # a loss of 1,100 today (limit 1,000)
    await eventually(lambda: agg.agg.account.state_name == "HALTED", what="HALTED")
    assert Cause.DAILY_LOSS.value in agg.agg.account.why()
    # Flattened: the position closed and its stop and target cancelled at the exchange.
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await eventually(lambda: len(agg.agg.working) == 0, what="no working orders")
    assert await agg.open_orders() == []
    mark = agg.agg.engine.mark_price("MES")
    await agg.submit("bot_2", order_id="l2", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "l2")
    assert refused.reason is RiskReason.TRADING_HALTED
    kinds = [e.kind for e in agg.agg.account.events]
    assert "DAILY_LOSS_ON" in kinds and "FLATTEN" in kinds


async def test_the_profit_target_stops_new_entries_but_not_exits(agg: AggHarness) -> None:
    await agg.start("risk.maxDailyProfit=150")
    mark = await open_long(agg, "p1")
    await set_balance(agg, 50_300.0)
    await eventually(lambda: agg.agg.account.state_name == "REDUCING", what="REDUCING")
    assert Cause.PROFIT_TARGET.value in agg.agg.account.why()
    await agg.submit("bot_2", order_id="p2", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "p2")
    assert refused.reason is RiskReason.TRADING_REDUCING
    await agg.submit("bot_2", order_id="p3", side=Side.SELL)  # the exit passes
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)


async def test_nearing_the_trailing_maximum_loss_goes_reducing(agg: AggHarness) -> None:
    await agg.start("risk.maxDailyLoss=2000", "aggregator.reducingDistance=250")
    mark = await open_long(agg, "t1")
    await set_balance(agg, 48_200.0)  # 200 above the 48,000 floor
    await eventually(lambda: agg.agg.account.state_name == "REDUCING", what="REDUCING")
    assert Cause.NEAR_MAX_LOSS.value in agg.agg.account.why()
    assert Cause.DAILY_LOSS.value not in agg.agg.account.why()
    await agg.submit("bot_2", order_id="t2", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "t2")
    assert refused.reason is RiskReason.TRADING_REDUCING
    await set_balance(agg, 49_500.0)  # room again
    await eventually(lambda: agg.agg.account.state_name == "ACTIVE", what="ACTIVE again")


async def test_repeated_exchange_refusals_trip_the_circuit_breaker_until_resumed(agg: AggHarness) -> None:
    await agg.start("aggregator.circuitBreakerCount=3")
    mark = await open_long(agg, "c0")  # learn the account
    await agg.sim.admin(f"accounts/{agg.sim.account_id}", {"canTrade": False})
    for i in range(3):
        await agg.submit("bot_2", order_id=f"c{i + 1}", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await eventually(lambda: agg.agg.account.state_name == "REDUCING", within=15, what="breaker tripped")
    assert Cause.CIRCUIT_BREAKER.value in agg.agg.account.why()

    def refusals() -> list[RiskRejection]:
        return agg.of("bot_2", RiskRejection, lambda r: r.reason is RiskReason.EXCHANGE_REJECTED)

    await eventually(lambda: len(refusals()) == 3, what="three refusals at the bot")  # they travel apart
    await agg.control(ControlAction.RESUME)
    await eventually(lambda: agg.agg.account.state_name == "ACTIVE", what="resumed")
    assert [e.requested_by for e in agg.agg.account.events if e.kind == "RESUME"] == ["test"]


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


async def test_the_trading_day_rolls_at_17_chicago_and_ends_daily_causes() -> None:
    # 16:59 CT on Tuesday 24 Nov 2026 (CST, UTC-6) is 22:59 UTC.
    clock = Clock(dt.datetime(2026, 11, 24, 22, 59, tzinfo=dt.UTC))
    config = sim_config()
    aggregator = Aggregator(config, MemoryBus(BusConfig()), clock=clock)
    aggregator.roll_day_if_due()
    assert trading_day(clock()) == dt.date(2026, 11, 24)
    aggregator.engine.on_balance(48_800.0)
    await aggregator.evaluate()
    assert aggregator.account.state_name == "HALTED"
    await aggregator.control(ControlAction.HALT, "ops", "manual")  # a kill-switch halt outlives the day
    clock.at = dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.UTC)  # 17:00 CT: the next trading day
    aggregator.roll_day_if_due()
    assert trading_day(clock()) == dt.date(2026, 11, 25)
    assert aggregator.engine.daily_pnl == 0
    assert Cause.DAILY_LOSS.value not in aggregator.account.why()
    assert aggregator.account.state_name == "HALTED"  # still: the kill switch
    await aggregator.control(ControlAction.RESUME, "ops", "new day")
    assert aggregator.account.state_name == "ACTIVE"


async def test_everything_is_flattened_at_flatten_at_and_halted_until_the_next_day() -> None:
    # risk.flattenAt 15:08 CT = 21:08 UTC on Tuesday 24 Nov 2026 (CST).
    clock = Clock(dt.datetime(2026, 11, 24, 21, 7, 59, tzinfo=dt.UTC))
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator = Aggregator(sim_config(), bus, clock=clock)
    try:
        aggregator.roll_day_if_due()
        assert not await aggregator.flatten_if_due()
        clock.at = dt.datetime(2026, 11, 24, 21, 8, tzinfo=dt.UTC)
        assert await aggregator.flatten_if_due()
        assert aggregator.account.state_name == "HALTED"
        assert Cause.SESSION_END.value in aggregator.account.why()
        assert [e.requested_by for e in aggregator.account.events if e.kind == "FLATTEN"] == ["schedule"]
        assert not await aggregator.flatten_if_due()  # once a day
        clock.at = dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.UTC)  # 17:00 CT: the next trading day
        aggregator.roll_day_if_due()
        assert aggregator.account.state_name == "ACTIVE"
    finally:
        await bus.close(flush_seconds=1)
