"""``tsxbot aggregator`` killed with SIGKILL in the middle of each limit's scenario, against the
simulator over Redis, and started again: the daily loss limit (the account stays HALTED and the
flatten is done once), the daily profit target (new entries still refused, exits pass) and the
circuit breaker (still tripped until RESUME)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.agg_harness import AggHarness
from support.agg_process import KEY, AggProcess, enter
from support.cm_harness import Harness
from support.redis_server import RedisServer
from support.sim import SimHandle
from tsxbot.messages import ControlAction, PositionUpdate, RiskReason, RiskRejection, Side

pytestmark = pytest.mark.slow


@dataclass
class Crash:
    h: AggHarness
    process: AggProcess
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def running(self) -> subprocess.Popen[str]:
        return self.started[-1]

    async def status_until(self, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return await wait_status(self.process, self.running, condition)

    async def kill_and_restart(self, cause: str, state: str) -> None:
        """SIGKILL (no goodbye, nothing flushed), a new process, and its state held by ``cause``."""
        self.running.kill()
        self.running.wait(10)
        self.started.append(self.process.start())
        status = await self.status_until(lambda s: cause in s["why"])
        assert status["tradingState"] == state, status


@asynccontextmanager
async def long_position(
    tmp_path: Path, redis: RedisServer, sim: SimHandle, *overrides: str
) -> AsyncIterator[Crash]:
    """A connection manager in the test, the aggregator as a process, bot_2 long 1 with its
    bracket. Every aggregator process started is killed at the end whatever happened."""
    h = AggHarness(Harness(sim, "redis", redis.url, f"c{uuid.uuid4().hex[:10]}"))
    crash = Crash(h, AggProcess(tmp_path, redis.url, h, overrides))
    try:
        await h.cm.start_manager()
        await h._listen("bot_2")
        crash.started.append(crash.process.start())
        await enter(h, crash.running)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        yield crash
    finally:
        for process in crash.started:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        await h.close()


async def api(process: AggProcess, path: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=process.base_url, headers={"X-API-Key": KEY}) as client:
        body: dict[str, Any] = (await client.get(path)).json()
        return body


async def wait_status(
    process: AggProcess, running: subprocess.Popen[str], condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The aggregator's ``/status`` once ``condition`` holds (its API may still be starting)."""
    status: dict[str, Any] = {}
    for _ in range(300):
        assert running.poll() is None, running.stdout.read() if running.stdout else ""
        try:
            status = await api(process, "/status")
        except httpx.HTTPError:
            status = {}
        if status and condition(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"status never reached the condition: {status}")


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
