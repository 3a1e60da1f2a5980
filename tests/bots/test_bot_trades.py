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


async def test_a_scale_in_leaves_one_stop_covering_the_whole_position(tmp_path: Path) -> None:
    """risk.maxPositions 2: an entry at 09:32 (stop 12 points away), an add at 09:34 (stop 3
    points from its bar's close, tighter). Each entry comes with its own bracket at the exchange;
    a trader expects one protective stop for the whole position: every stop ends at the tighter
    price, and the stops together cover the whole size."""
    bot_file = scripted_bot(enter_at="09:32", add_at="09:34", stop_points=12.0, add_stop_points=3.0).replace(
        "maxPositions: 1", "maxPositions: 2"
    )
    async with trading_system(tmp_path, {"bot_s": bot_file}, history=False) as system:
        bot = system.bots["bot_s"]
        await system.advance(150)
        await system.until(lambda: bot.position > 0, "the first entry's position")
        first = bot.position
        first_stops = [o for o in await system.sim_orders() if o["type"] == 4]
        assert [o["size"] for o in first_stops] == [first]
        await system.advance(120)  # the 09:33-09:34 bar: the add
        await system.until(lambda: bot.position > first, "the added entry's position")
        managed = bot.engine.exits.position
        assert managed is not None

        async def one_stop() -> bool:
            stops = [o for o in await system.sim_orders() if o["type"] == 4]
            return len({o["stopPrice"] for o in stops}) == 1 and sum(o["size"] for o in stops) == bot.position

        for _ in range(100):
            if await one_stop():
                break
            await system.settle()
        stops = [o for o in await system.sim_orders() if o["type"] == 4]
        assert len(stops) == 2, stops
        held = sum(p["size"] for p in await system.sim_positions())
        assert sum(o["size"] for o in stops) == bot.position == held
        (price,) = {o["stopPrice"] for o in stops}
        assert price > first_stops[0]["stopPrice"]  # the add's tighter stop, for every contract
        assert managed.stop == price and managed.quantity == bot.position
        assert bot.working_bracket()[0] == price
