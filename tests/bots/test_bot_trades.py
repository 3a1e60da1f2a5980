"""A bot on the whole path: market data from the connection manager into its strategy, its
entry through the aggregator to the simulator, the fill and its position back, its stop moved
with UPDATE_SLTP; exchange truth read from the simulator."""

from __future__ import annotations

from pathlib import Path

from support.bot_system import scripted_bot, trading_system
from tsxbot.messages import BotState


async def test_entry_fill_position_and_stop_move(tmp_path: Path) -> None:
    bot_file = scripted_bot(enter_at="09:32", move_stop_after=2, stop_points=12.0)
    async with trading_system(tmp_path, {"bot_s": bot_file}, history=False) as system:
        bot = system.bots["bot_s"]
        assert bot.state is BotState.RUNNING
        await system.advance(150)  # bars 09:30, 09:31: the 09:31-09:32 bar closes at 09:32
        await system.until(lambda: bot.position != 0, "the bot's position")
        assert bot.position > 0
        agg = system.agg
        assert agg is not None
        # The entry passed the aggregator's check and is the bot's there.
        assert agg.positions.quantity("bot_s", "MES") == bot.position
        assert agg.counters["accepted"] >= 1
        # The exchange holds the position and its working stop.
        positions = await system.sim_positions()
        assert sum(p["size"] for p in positions) == bot.position
        stops = [o for o in await system.sim_orders() if o["type"] == 4]
        assert stops and all(o["size"] == bot.position for o in stops)
        first_stop = stops[0]["stopPrice"]
        # Two bars after the entry the strategy tightens its stop by a point: UPDATE_SLTP.
        await system.advance(120)
        await system.until(
            lambda: bot.working_bracket()[0] is not None and bot.working_bracket()[0] != first_stop,
            "the moved stop at the bot",
        )
        stops = [o for o in await system.sim_orders() if o["type"] == 4]
        assert [o["stopPrice"] for o in stops] == [bot.working_bracket()[0]]
        assert stops[0]["stopPrice"] > first_stop
        status = bot.status()
        assert status.state is BotState.RUNNING
        assert status.position == bot.position
        assert status.last_signal is not None and status.last_signal.startswith("scripted entry")
        assert status.strategy_state["bars"] >= 4
        assert system.statuses["bot_s"], "status published on bot:{id}:status"
