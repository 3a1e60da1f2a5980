"""Control on ``bot:{id}:control`` and a strategy that raises, on the whole path."""

from __future__ import annotations

from pathlib import Path

from support.bot_system import scripted_bot, trading_system
from tsxbot.messages import BotCommand, BotState, Envelope, UpdateStopLossTakeProfit, channels


async def test_a_strategy_that_raises_is_contained_and_its_position_keeps_its_stop(tmp_path: Path) -> None:
    bot_file = scripted_bot(enter_at="09:32", raise_after=1, stop_points=12.0)
    async with trading_system(tmp_path, {"bot_s": bot_file}, history=False) as system:
        bot = system.bots["bot_s"]
        await system.advance(150)
        await system.until(lambda: bot.position > 0, "the position")
        await system.advance(60)  # the bar after the entry: the strategy raises
        await system.until(lambda: bot.state is BotState.ERROR, "ERROR")
        assert bot.engine.gate.paused
        assert bot.error is not None
        assert "RuntimeError: scripted failure" in bot.error and "the bar 2026-11-24T15:32:00" in bot.error
        await system.advance(60)
        await system.until(lambda: any(s.state is BotState.ERROR for s in system.statuses["bot_s"]), "status")
        # The position is still there, and still protected at the exchange.
        stops = [o for o in await system.sim_orders() if o["type"] == 4]
        assert bot.position > 0 and [o["size"] for o in stops] == [bot.position]
        # Exits are still managed: FLATTEN closes it, and its stop and target are cancelled.
        await system.control("bot_s", BotCommand.FLATTEN)
        await system.advance(10, step=10)
        await system.until(lambda: bot.position == 0, "flat")
        await system.until(lambda: not bot.protective, "bracket cancelled at the bot")
        assert await system.sim_positions() == []
        assert await system.sim_orders() == []


async def test_pause_resume_stop_and_reload(tmp_path: Path) -> None:
    bot_file = scripted_bot(enter_at="09:33", stop_points=12.0)
    async with trading_system(tmp_path, {"bot_s": bot_file}, history=False) as system:
        bot = system.bots["bot_s"]
        await system.control("bot_s", BotCommand.PAUSE)
        await system.until(lambda: bot.state is BotState.PAUSED, "PAUSED")
        await system.advance(200)  # the 09:33 entry comes while paused: skipped, with its reason
        assert bot.position == 0
        assert bot.skips["PAUSED"] == 1
        assert bot.skip_reason == "PAUSED" and bot.last_skip is not None
        assert bot.status().skips == {"PAUSED": 1}
        assert bot.status().recent_skips == [
            "2026-11-24T15:33:00+00:00 PAUSED: scripted entry: new entries are paused"
        ]
        await system.control("bot_s", BotCommand.RESUME)
        await system.until(lambda: bot.state is BotState.RUNNING, "RUNNING")

        # RELOAD with a bad value: refused with the config loader's message; nothing changes.
        await system.control("bot_s", BotCommand.RELOAD, dollarRiskPerTrade=-5)
        await system.until(lambda: (bot.message or "").startswith("RELOAD refused"), "refused")
        assert "strategy.params.dollarRiskPerTrade" in (bot.message or "")
        assert bot.pending_params is None
        # A good one: applied at the next bar (a new strategy warmed on the bars kept).
        await system.control("bot_s", BotCommand.RELOAD, enterAt="09:35")
        await system.until(lambda: bot.pending_params is not None, "accepted")
        assert bot.params.enter_at == "09:33"  # type: ignore[attr-defined]
        await system.advance(120)  # the 09:35 bar: the new params enter
        await system.until(lambda: bot.position > 0, "the reloaded strategy's entry")
        assert bot.params.enter_at == "09:35"  # type: ignore[attr-defined]
        assert bot.message == "RELOAD applied" or bot.pending_params is None

        # STOP with the bot's default (onStop: protect): the position stays, with its stop.
        await system.control("bot_s", BotCommand.STOP)
        await system.until(lambda: bot.state is BotState.STOPPED, "STOPPED")
        stops = [o for o in await system.sim_orders() if o["type"] == 4]
        assert bot.position > 0 and [o["size"] for o in stops] == [bot.position]
        # STOP asking to flatten closes it.
        await system.control("bot_s", BotCommand.STOP, flatten=True)
        await system.advance(10, step=10)
        await system.until(lambda: bot.position == 0, "flat after STOP flatten")
        assert await system.sim_positions() == []


async def test_a_stop_move_from_a_bot_the_aggregator_does_not_know_is_dropped(tmp_path: Path) -> None:
    async with trading_system(tmp_path, {"bot_s": scripted_bot()}, history=False) as system:
        agg = system.agg
        assert agg is not None
        before = agg.counters["badMessages"]
        move = UpdateStopLossTakeProfit(command_id="x-1", symbol="MES", stop_loss=5000.0, bot_id="bot_s")
        # Sent as someone else (the envelope's source is who it is): not bot_s's to move.
        await system.bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(move, "stranger"))
        await system.until(lambda: agg.counters["badMessages"] == before + 1, "dropped")
        assert len(agg.queue) == 0 and agg.counters["sent"] == 0
