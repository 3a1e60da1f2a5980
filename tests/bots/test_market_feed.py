"""The bots of one process share one market-data reader per symbol (``tsxbot.bots.feed``): a bot
that waits for History does not hold the others, and it still sees its market data in order."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from support.bot_system import config_dir, scripted_bot, system_config
from support.bus_helpers import eventually
from tsxbot.bots import BotService
from tsxbot.bus import create_bus
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import (
    Aggressor,
    Bar,
    Envelope,
    HistoryBars,
    HistoryRequest,
    MarketTrade,
    channels,
)
from tsxbot.sessions import to_ns

START = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # 09:30 CT


def _bar(minute: int) -> Bar:
    start = START + dt.timedelta(minutes=minute)
    return Bar(
        symbol="MES", timeframe="1m", start=start, end=start + dt.timedelta(minutes=1), open=6001.0,
        high=6002.0, low=6000.0, close=6001.0, volume=10, buy_volume=5, sell_volume=5, trade_count=4,
    )  # fmt: skip


async def test_a_bot_waiting_for_history_holds_no_other_and_keeps_its_order(tmp_path: Path) -> None:
    bots_text = {b: scripted_bot(b) for b in ("bot_a", "bot_b")}
    config = system_config(config_dir(tmp_path, bots_text))
    bus = create_bus(BusConfig(), client_name="test")
    await bus.start()
    history = await bus.subscribe(channels.CM_HISTORY, group="test-cm")
    market = channels.market_data("MES")
    bots = {b: BotService(config, b, bus, clock=lambda: START) for b in ("bot_a", "bot_b")}
    try:
        # Warm-up: History has nothing before 09:30.
        for bot in bots.values():
            task = asyncio.ensure_future(bot.start())
            batch = []
            while not batch:
                batch = await history.next_batch()
            for message in batch:
                request = message.envelope.payload
                assert isinstance(request, HistoryRequest)
                reply = HistoryBars(request_id=request.request_id, symbol="MES")
                await bus.publish(channels.history_replies(request.reply_to), Envelope.wrap(reply, "test"))
                await message.ack()
            await task
        a, b = bots["bot_a"], bots["bot_b"]
        for minute in range(2):
            await bus.publish(market, Envelope.wrap(_bar(minute), "test"))
        await eventually(lambda: a.last_bar_end == b.last_bar_end == to_ns(START + dt.timedelta(minutes=2)))
        # bot_a lost two bars: the next one makes it ask History for them (not answered yet).
        a.last_bar_end = to_ns(START)
        a.kept_bars.pop()
        await bus.publish(market, Envelope.wrap(_bar(2), "test"))
        print_at = START + dt.timedelta(minutes=3, seconds=30)
        trade = MarketTrade(
            symbol="MES", contract_id="CON.F.US.MES.Z26", price=6001.0, size=1, aggressor=Aggressor.BUY,
            timestamp=print_at,
        )  # fmt: skip
        await bus.publish(market, Envelope.wrap(trade, "test"))
        await bus.publish(market, Envelope.wrap(_bar(3), "test"))
        # bot_b goes on: both bars and the print.
        await eventually(lambda: b.last_bar_end == to_ns(START + dt.timedelta(minutes=4)), what="bot_b")
        assert b.counters["prints"] == 1
        # bot_a waits for History; the print and the bar after it wait behind its bar.
        request = None
        while request is None:
            for message in await history.next_batch():
                payload = message.envelope.payload
                await message.ack()
                if isinstance(payload, HistoryRequest) and payload.reply_to == "bot_a":
                    request = payload
        assert a.last_bar_end == to_ns(START) and a.counters["prints"] == 0
        assert (request.start, request.end) == (START, START + dt.timedelta(minutes=2))
        reply = HistoryBars(request_id=request.request_id, symbol="MES", bars=[_bar(0), _bar(1)])
        await bus.publish(channels.history_replies("bot_a"), Envelope.wrap(reply, "test"))
        await eventually(lambda: a.last_bar_end == to_ns(START + dt.timedelta(minutes=4)), what="bot_a")
        starts = [k.start for k in list(a.kept_bars)[-4:]]
        assert starts == [to_ns(START + dt.timedelta(minutes=m)) for m in range(4)]
        assert a.counters["prints"] == 1
        # Back to the shared reader: the next bar reaches both at once.
        await bus.publish(market, Envelope.wrap(_bar(4), "test"))
        end = to_ns(START + dt.timedelta(minutes=5))
        await eventually(lambda: a.last_bar_end == b.last_bar_end == end, what="both")
        assert a._market_backlog is None
    finally:
        for bot in bots.values():
            await bot.stop()
        await history.close()
        await bus.close()
