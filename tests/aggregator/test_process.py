"""``tsxbot aggregator`` as its own process over Redis, killed with SIGKILL in the middle of the
day and started again: its positions per bot and its HALTED state come back, and no order is
sent twice."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path

import pytest

from support.agg_process import api, long_position
from support.processes import stop
from support.redis_server import RedisServer
from support.sim import SimHandle
from tsxbot.messages import ControlAction, PositionUpdate, RiskReason, RiskRejection, Side


@pytest.mark.slow
async def test_kill_9_and_restart_keeps_positions_and_the_halt(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    async with long_position(tmp_path, redis, sim) as crash:
        h = crash.h
        await h.control(ControlAction.HALT)
        await h.submit("bot_2", order_id="probe", stop_loss_ticks=16, take_profit_ticks=48)
        probe = await h.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "probe")
        assert probe.reason is RiskReason.TRADING_HALTED
        crash.kill()  # SIGKILL: no goodbye
        await h.submit("bot_2", order_id="x1", side=Side.SELL)  # arrives while it is dead

        second = crash.restart()
        refused = await h.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "x1", within=30)
        assert refused.reason is RiskReason.TRADING_HALTED  # HALTED stayed halted
        status = await api(crash.process, "/status")
        assert status["tradingState"] == "HALTED"
        positions = (await api(crash.process, "/positions"))["perBot"]
        assert [(p["botId"], p["symbol"], p["quantity"]) for p in positions] == [("bot_2", "MES", 1)]
        await h.control(ControlAction.RESUME)
        await crash.status_until(lambda s: s["tradingState"] == "ACTIVE")
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
        assert crash.entry
        code, output = stop(second, signal.SIGTERM)
        assert code == 0, output
        assert "Traceback" not in output
