"""``tsxbot aggregator`` killed with SIGKILL in the middle of each limit's scenario, against the
simulator over Redis, and started again: the daily loss limit (the account stays HALTED and the
flatten is done once), the daily profit target (new entries still refused, exits pass) and the
circuit breaker (still tripped until RESUME)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from support.agg_harness import AggHarness
from support.agg_process import api, enter, long_position
from support.redis_server import RedisServer
from support.sim import SimHandle
from tsxbot.messages import ControlAction, PositionUpdate, RiskReason, RiskRejection, Side

pytestmark = pytest.mark.slow


async def set_balance(h: AggHarness, balance: float) -> None:
    await h.sim.admin(f"accounts/{h.sim.account_id}", {"balance": balance})


async def refused(h: AggHarness, order_id: str) -> RiskReason:
    """A new entry with its bracket: what the aggregator answered."""
    await h.submit("bot_2", order_id=order_id, stop_loss_ticks=16, take_profit_ticks=48)
    rejection = await h.wait_for("bot_2", RiskRejection, lambda r: r.order_id == order_id, within=15)
    return rejection.reason


async def test_daily_loss_limit_killed_while_flattening(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    async with long_position(tmp_path, redis, sim) as crash:
        h = crash.h
        await set_balance(h, 48_900.0)  # a loss of 1,100 today (limit 1,000): halt and flatten
        await crash.status_until(lambda s: s["tradingState"] == "HALTED")
        # Killed while the flatten may be queued, sent or done: the next run must not do it again.
        await crash.kill_and_restart("DAILY_LOSS", "HALTED")
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0, within=20)
        for _ in range(100):  # the stop and target cancelled at the exchange too
            if not await h.open_orders():
                break
            await asyncio.sleep(0.1)
        assert await h.open_orders() == []
        assert (await h.sim_api("Position/searchOpen", {"accountId": sim.account_id}))["positions"] == []
        assert await refused(h, "after") is RiskReason.TRADING_HALTED
        events = (await api(crash.process, "/risk/events"))["events"]
        assert [e["kind"] for e in events].count("FLATTEN") == 1  # flattened once, not again on restart
        assert (await api(crash.process, "/status"))["tradingState"] == "HALTED"


async def test_profit_target_still_stops_entries_after_a_kill(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    async with long_position(tmp_path, redis, sim, "risk.maxDailyProfit=150") as crash:
        await set_balance(crash.h, 50_300.0)  # 300 up today (target 150)
        await crash.status_until(lambda s: "PROFIT_TARGET" in s["why"])
        await crash.kill_and_restart("PROFIT_TARGET", "REDUCING")
        assert await refused(crash.h, "after") is RiskReason.TRADING_REDUCING
        await crash.h.submit("bot_2", order_id="exit", side=Side.SELL)  # the exit still passes
        await crash.h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0, within=15)
        assert not crash.h.of("bot_2", RiskRejection, lambda r: r.order_id == "exit")


async def test_circuit_breaker_still_tripped_after_a_kill(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    async with long_position(tmp_path, redis, sim, "aggregator.circuitBreakerCount=3") as crash:
        await sim.admin(f"accounts/{sim.account_id}", {"canTrade": False})
        for i in range(3):  # three exchange refusals
            await crash.h.submit("bot_2", order_id=f"c{i}", stop_loss_ticks=16, take_profit_ticks=48)
        await crash.status_until(lambda s: "CIRCUIT_BREAKER" in s["why"])
        await sim.admin(f"accounts/{sim.account_id}", {"canTrade": True})
        await crash.kill_and_restart("CIRCUIT_BREAKER", "REDUCING")
        assert await refused(crash.h, "after") is RiskReason.TRADING_REDUCING
        await crash.h.control(ControlAction.RESUME)
        await crash.status_until(lambda s: s["tradingState"] == "ACTIVE")
        await enter(crash.h, crash.running, lambda p: p.net_quantity == 2)
