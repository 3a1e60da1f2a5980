"""Closing a running strategy bot's position from the manual trading page, in the full system in
process (``support.bot_system``: the paused simulator at Tue 2026-11-24 07:30 CT, seed 1, the
example bots; the manual page's server in front): EMA_CROSS ``bot_2`` goes short 2 MES on the
08:33 cross; the page closes one contract, then the other, on bot_2's behalf. The bot itself
follows: its own position and realized P&L move with the fills (they are its), the aggregator's
books for it agree and its stop and target are cut to the size left, then cancelled; the manual
bot holds nothing; and bot_2 keeps running (not paused, unlike its FLATTEN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from support.bot_system import System, trading_system
from support.cm_harness import API_KEY
from tsxbot.config.secrets import Secret
from tsxbot.manual_trading import ManualTrading
from tsxbot.messages import BotState

pytestmark = pytest.mark.slow
START = "2026-11-24T13:30:00Z"  # 07:30 CT


async def _legs(system: System) -> list[int]:
    return sorted(int(o["size"]) for o in await system.sim_orders())


async def test_a_running_bots_position_closed_from_the_page_stays_that_bots(tmp_path: Path) -> None:
    async with trading_system(tmp_path, {}, "simulator.seed=1", start=START, keep_examples=True) as system:
        await system.sim.login()
        assert system.agg is not None and system.agg.api is not None
        agg, bot = system.agg, system.bots["bot_2"]
        agg_url = f"http://127.0.0.1:{agg.api.port}"
        cm_url = f"http://127.0.0.1:{system.config.global_config.services.connection_manager.port}"
        page = ManualTrading(
            system.config,
            system.bus,
            Secret(API_KEY),
            lambda: agg_url,
            lambda: cm_url,
            clock=system.sim.now,
            port=0,
        )
        await page.start()
        try:
            await system.advance(64 * 60)  # to 08:34 CT: bot_2 short 2 on the 08:33 cross
            await system.until(lambda: bot.position == -2, "bot_2 short 2 on the cross", within=20)
            assert agg.positions.quantity("bot_2", "MES") == -2
            await system.settle()
            assert await _legs(system) == [2, 2]  # its stop and target
            realized = bot.realized_pnl
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{page.port}", headers={"X-API-Key": API_KEY}, timeout=30
            ) as trader:
                partial = await trader.post(
                    "/api/close", json={"symbol": "MES", "botId": "bot_2", "quantity": 1}
                )
                assert partial.status_code == 200, partial.text
                await system.settle()
                await system.until(lambda: bot.position == -1, "bot_2 follows the partial close")
                assert agg.positions.quantity("bot_2", "MES") == -1
                assert bot.realized_pnl != realized  # the fill is the bot's: its P&L moved
                books = agg.positions.get("bot_2", "MES")  # the aggregator's, fees apart; the bot's, net
                assert books.realized_pnl - books.fees == pytest.approx(bot.realized_pnl)
                await system.settle()
                assert await _legs(system) == [1, 1]
                rest = await trader.post("/api/close", json={"symbol": "MES", "botId": "bot_2"})
                assert rest.status_code == 200, rest.text
                await system.settle()
                await system.until(lambda: bot.position == 0, "bot_2 flat")
                await system.settle()
                assert agg.positions.quantity("bot_2", "MES") == 0
                assert await _legs(system) == []
                assert await system.sim_positions() == [] or all(
                    p.get("size", 0) == 0 for p in await system.sim_positions()
                )
            assert agg.positions.quantity("manual", "MES") == 0
            assert bot.state is BotState.RUNNING
            statuses: list[Any] = system.statuses["bot_2"]
            assert statuses and statuses[-1].position == 0
        finally:
            await page.stop()
