"""The bots of one process share one market-data reader per symbol (``tsxbot.bots.feed``): a bot
that waits for History does not hold the others, and it still sees its market data in order."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from pathlib import Path

import structlog

from support.bot_system import config_dir, scripted_bot, system_config
from support.bus_helpers import eventually
from tsxbot.bots import BotService
from tsxbot.bus import BusFullError, create_bus
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import (
    Aggressor,
    Bar,
    Envelope,
    HistoryBars,
    HistoryRequest,
    MarketTrade,
    OrderSubmission,
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


async def _started(config: object, bus: object, names: tuple[str, ...]) -> dict[str, BotService]:
    bots = {b: BotService(config, b, bus, clock=lambda: START, history=False) for b in names}  # type: ignore[arg-type]
    for bot in bots.values():
        await bot.start()
    return bots


async def test_a_bars_orders_go_out_in_one_batch_in_the_bots_order(tmp_path: Path) -> None:
    """Every bot decides the bar, then all their entries are published together (one batch: one
    envelope time), in the order the bots joined the feed; each bot's decision time is the
    batch's."""
    names = ("bot_a", "bot_b", "bot_c")
    config = system_config(config_dir(tmp_path, {b: scripted_bot(b) for b in names}))
    bus = create_bus(BusConfig(), client_name="test")
    await bus.start()
    orders = await bus.subscribe(channels.AGGREGATOR_ORDERS, group="aggregator")
    bots = await _started(config, bus, names)
    try:
        for minute in range(2):  # the entry is on the bar closing at 09:32
            await bus.publish(channels.market_data("MES"), Envelope.wrap(_bar(minute), "test"))
        entries: list[Envelope[OrderSubmission]] = []
        while len(entries) < 3:
            for message in await asyncio.wait_for(orders.next_batch(), 5):
                if isinstance(message.envelope.payload, OrderSubmission):
                    entries.append(message.envelope)  # type: ignore[arg-type]
                await message.ack()
        assert [e.source for e in entries] == list(names)
        assert len({e.timestamp for e in entries}) == 1
        assert all(e.payload.order_id == entries[0].payload.order_id for e in entries)  # from the bar
        assert len({bot.decision_seconds[-1] for bot in bots.values()}) == 1
        assert all(bot.counters["submissions"] == 1 and not bot.failed.done() for bot in bots.values())
        assert gc.isenabled()  # collections waited for the orders only
    finally:
        for bot in bots.values():
            await bot.stop()
        await orders.close()
        await bus.close()


async def test_orders_the_bus_refuses_fail_their_bots_only(tmp_path: Path) -> None:
    """``aggregator:orders`` full (its reader stopped acknowledging) in the middle of a bar's
    batch: the bots whose entries were published carry on; the others fail (as a bot whose own
    publish raised always did), nothing is lost silently."""
    names = ("bot_a", "bot_b", "bot_c")
    config = system_config(config_dir(tmp_path, {b: scripted_bot(b) for b in names}))
    # Room for 5 unacknowledged: the 3 registrations and 2 of the 3 entries.
    bus = create_bus(BusConfig(consumer_buffer_size=5, durable_publish_timeout_seconds=0.2), client_name="t")
    await bus.start()
    orders = await bus.subscribe(channels.AGGREGATOR_ORDERS, group="aggregator")
    bots = await _started(config, bus, names)
    try:
        with structlog.testing.capture_logs() as logs:
            for minute in range(2):
                await bus.publish(channels.market_data("MES"), Envelope.wrap(_bar(minute), "test"))
            failed = bots["bot_c"].failed
            error = await asyncio.wait_for(failed, 5)
            await asyncio.sleep(0.05)  # the bar's reports, written after the batch
        assert isinstance(error, BusFullError) and error.published == 2
        # Only what went out is said to have been sent.
        said = [(r.get("bot"), r["event"]) for r in logs if r["event"] == "entry sent"]
        assert said == [("bot_a", "entry sent"), ("bot_b", "entry sent")], said
        assert not bots["bot_a"].failed.done() and not bots["bot_b"].failed.done()
        got = [m.envelope for m in await asyncio.wait_for(orders.next_batch(), 5)]
        entries = [e.source for e in got if isinstance(e.payload, OrderSubmission)]
        assert entries == ["bot_a", "bot_b"]
        assert [len(b.decision_seconds) for b in bots.values()] == [1, 1, 0]
    finally:
        for bot in bots.values():
            await bot.stop()
        await orders.close()
        await bus.close()
