"""``tsxbot aggregator`` as its own process over Redis, killed with SIGKILL in the middle of the
day and started again: its positions per bot and its HALTED state come back, and no order is
sent twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from support.agg_harness import AggHarness
from support.agg_process import KEY, AggProcess, enter
from support.cm_harness import Harness
from support.processes import stop
from support.redis_server import RedisServer
from support.sim import SimHandle
from tsxbot.messages import ControlAction, PositionUpdate, RiskReason, RiskRejection, Side


@pytest.mark.slow
async def test_kill_9_and_restart_keeps_positions_and_the_halt(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    h = AggHarness(Harness(sim, "redis", redis.url, f"k{uuid.uuid4().hex[:10]}"))
    first: subprocess.Popen[str] | None = None
    second: subprocess.Popen[str] | None = None
    try:
        await h.cm.start_manager()
        await h._listen("bot_2")
        process = AggProcess(tmp_path, redis.url, h)
        api_port = process.api_port
        first = process.start()
        entry = await enter(h, first)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        await h.control(ControlAction.HALT)
        await h.submit("bot_2", order_id="probe", stop_loss_ticks=16, take_profit_ticks=48)
        probe = await h.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "probe")
        assert probe.reason is RiskReason.TRADING_HALTED
        first.kill()  # SIGKILL: no goodbye
        first.wait(10)
        await h.submit("bot_2", order_id="x1", side=Side.SELL)  # arrives while it is dead

        second = process.start()
        refused = await h.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "x1", within=30)
        assert refused.reason is RiskReason.TRADING_HALTED  # HALTED stayed halted
        headers = {"X-API-Key": KEY}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", headers=headers) as api:
            status = (await api.get("/status")).json()
            assert status["tradingState"] == "HALTED"
            positions = (await api.get("/positions")).json()["perBot"]
            assert [(p["botId"], p["symbol"], p["quantity"]) for p in positions] == [("bot_2", "MES", 1)]
        await h.control(ControlAction.RESUME)
        await asyncio.sleep(0.5)
        await h.submit("bot_2", order_id="x2", side=Side.SELL)  # an exit only if the long came back
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0, within=15)
        assert not h.of("bot_2", RiskRejection, lambda r: r.order_id == "x2")
        # Each order reached the exchange once.
        since = sim.now() - dt.timedelta(hours=1)
        await sim.login()
        orders = (
            await sim.api("Order/search", {"accountId": sim.account_id, "startTimestamp": since.isoformat()})
        )["orders"]
        parents = [o for o in orders if (o.get("customTag") or "").startswith("bot_2-")]
        assert len(parents) == 2, parents  # the entry and the exit
        assert len({o["customTag"] for o in parents}) == 2
        assert entry
        code, output = stop(second, signal.SIGTERM)
        assert code == 0, output
        assert "Traceback" not in output
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        await h.close()
