"""Warm-up from History through the connection manager, and a bot restarted mid-trade."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from support.bot_system import scripted_bot, trading_system
from tsxbot.messages import BotState, HistoryRequest


async def test_warmed_up_from_history_it_trades_at_its_first_live_bars(tmp_path: Path) -> None:
    # The strategy will not enter before it has seen 300 bars: only History can give it those.
    bot_file = scripted_bot(enter_at="09:31", min_bars=300, stop_points=12.0)
    async with trading_system(tmp_path, {"bot_s": bot_file}, history=True) as system:
        bot = system.bots["bot_s"]
        assert bot.state is BotState.RUNNING
        assert bot.counters["bars"] >= 300  # History's one-minute bars, four days back
        assert bot.position == 0 and bot.counters["submissions"] == 0  # warm-up never trades
        await system.advance(90)  # the 09:30 bar (closing 09:31) is its first live bar
        await system.until(lambda: bot.position > 0, "an entry on the first live bar")
        assert bot.skips == {}


async def test_without_history_the_same_bot_is_not_ready(tmp_path: Path) -> None:
    bot_file = scripted_bot(enter_at="09:31", min_bars=300, stop_points=12.0)
    async with trading_system(tmp_path, {"bot_s": bot_file}, history=False) as system:
        bot = system.bots["bot_s"]
        await system.advance(90)
        await system.until(lambda: bot.skips.get("NOT_READY") == 1, "NOT_READY")
        assert bot.position == 0


async def test_history_request_is_served_and_bad_ones_are_answered(tmp_path: Path) -> None:
    async with trading_system(tmp_path, {"bot_s": scripted_bot()}, history=False) as system:
        bot = system.bots["bot_s"]
        end = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
        bars = await bot.history(end - dt.timedelta(hours=2), end)
        assert len(bars) == 120
        assert all(b.end - b.start == dt.timedelta(minutes=1) for b in bars)
        assert [b.start for b in bars] == sorted(b.start for b in bars)
        assert bars[-1].end == end
        # 35 days back is served too.
        old = await bot.history(end - dt.timedelta(days=34, hours=1), end - dt.timedelta(days=34))
        assert old and old[0].start >= end - dt.timedelta(days=34, hours=1)
        assert system.cm is not None
        answer = await system.cm.market.history(
            HistoryRequest(request_id="x", reply_to="bot_s", symbol="NOPE", start=end, end=end)
        )
        assert answer.error == "unknown symbol 'NOPE'" and answer.bars == []


async def test_a_restarted_bot_gets_its_trade_back_and_does_not_take_it_again(tmp_path: Path) -> None:
    bot_file = scripted_bot(enter_at="09:32", stop_points=12.0)
    async with trading_system(tmp_path, {"bot_s": bot_file}, history=True) as system:
        bot = system.bots["bot_s"]
        await system.advance(150)
        await system.until(lambda: bot.position > 0, "the entry")
        held, stop = bot.position, bot.working_bracket()[0]
        assert stop is not None
        await bot.stop()  # the process goes; the position stays protected at the exchange
        assert bot.state is BotState.STOPPED
        await system.advance(60)
        again = await system.start_bot("bot_s")
        await system.until(lambda: again.position == held, "the position restored")
        assert again.engine.ctx.position.quantity == held
        managed = again.engine.exits.position
        assert managed is not None and managed.stop == stop
        assert again.working_bracket()[0] == stop
        # The 09:32 entry bar was replayed in the warm-up: not taken again, then or later.
        await system.advance(120)
        assert again.counters["submissions"] == 0
        assert again.position == held
        positions = await system.sim_positions()
        assert [p["size"] for p in positions] == [held]
        assert system.agg is not None
        entries = [r for r in system.agg.orders.values() if r.bot_id == "bot_s"]
        assert len(entries) == 1


async def test_a_gap_in_live_bars_is_filled_from_history_before_the_next_bar(tmp_path: Path) -> None:
    """The bot missed four bars (its bus subscription lost them): the next live bar makes it ask
    History for the gap, and the strategy sees the missing bars first, in order."""
    async with trading_system(tmp_path, {"bot_s": scripted_bot()}, history=True) as system:
        bot = system.bots["bot_s"]
        await system.advance(360)
        await system.until(
            lambda: bot.last_bar_end is not None and bot.last_bar_end >= _ns("15:36"), "bars to 15:36"
        )
        seen_before = bot.counters["bars"]
        # Forget the last four bars, as if they never arrived.
        bot.last_bar_end = _ns("15:32")
        for _ in range(4):
            bot.kept_bars.pop()
        await system.advance(60)
        await system.until(lambda: bot.last_bar_end == _ns("15:37"), "the next live bar")
        starts = [b.start for b in list(bot.kept_bars)[-6:]]
        assert starts == [_ns(f"15:{m}") for m in range(31, 37)]
        assert bot.counters["bars"] == seen_before + 5  # four from History, then the live one


def _ns(hhmm: str) -> int:
    when = dt.datetime.fromisoformat(f"2026-11-24T{hhmm}:00+00:00")
    return int(when.timestamp()) * 1_000_000_000
