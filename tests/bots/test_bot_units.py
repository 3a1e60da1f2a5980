"""The bot runtime's parts on their own: combining one-minute bars, the entry checked again at
the market, RELOAD's validation, and the position taken from the aggregator."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from support.bot_system import config_dir, scripted_bot, system_config
from tsxbot.bots import BotService
from tsxbot.bots.orders import entry_submission, exit_submission, sltp_command
from tsxbot.bots.resample import BarResampler
from tsxbot.bots.service import ReloadError
from tsxbot.bus import Message, create_bus
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import (
    Bar,
    Envelope,
    Fill,
    OrderStatus,
    OrderSubmission,
    OrderType,
    OrderUpdate,
    Payload,
    PositionUpdate,
    Side,
    channels,
)
from tsxbot.sessions import to_ns
from tsxbot.strategy import ClosedBar, Exit, MoveStop, Reason
from tsxbot.strategy.sizing import Sized

M = 60_000_000_000
T0 = 1_795_500_000 // 300 * 300 * 1_000_000_000  # on the 5-minute grid


def _bar(i: int, price: float = 100.0) -> ClosedBar:
    return ClosedBar(
        start=T0 + i * M, end=T0 + (i + 1) * M, open=price, high=price + i, low=price - 1, close=price + 0.5,
        volume=10, buy_volume=6, sell_volume=4, trade_count=3,
    )  # fmt: skip


def test_one_minute_bars_combine_on_the_five_minute_grid() -> None:
    r = BarResampler(300)
    out = [b for i in range(5) for b in r.add(_bar(i))]
    assert len(out) == 1
    five = out[0]
    assert (five.start, five.end) == (T0, T0 + 5 * M)
    assert (five.open, five.high, five.low, five.close) == (100.0, 104.0, 99.0, 100.5)
    assert (five.volume, five.buy_volume, five.sell_volume, five.trade_count) == (50, 30, 20, 15)
    # A bucket left unfinished by a gap goes out when the next bucket's first bar comes.
    assert r.add(_bar(5)) == []
    out = r.add(_bar(11))
    assert [(b.start, b.end) for b in out] == [(T0 + 5 * M, T0 + 10 * M)]
    assert BarResampler(60).add(_bar(0)) == [_bar(0)]


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotService]:
    config = system_config(config_dir(tmp_path, {"bot_s": scripted_bot(stop_points=12.0)}))
    bus = create_bus(BusConfig(), client_name="test")
    await bus.start()
    try:
        yield BotService(config, "bot_s", bus, history=False)
    finally:
        await bus.close()


def test_an_entry_carries_its_bracket_as_ticks_from_the_entry() -> None:
    sized = Sized(
        side="short", quantity=3, entry=2189.7, stop=2192.5, target=2184.1, risk_points=2.8,
        reason=Reason(setup="sweep"),
    )  # fmt: skip
    order = entry_submission(sized, "MGC", 0.1, T0, 4)
    assert (order.side, order.quantity, order.stop_loss_ticks, order.take_profit_ticks) == (
        Side.SELL,
        3,
        28,
        56,
    )
    assert order.stop_loss is None and order.take_profit is None
    assert order.order_id == f"e-{T0 // 1_000_000_000}-4"


async def test_reload_params_are_validated_with_the_loaders_messages(bot: BotService) -> None:
    with pytest.raises(ReloadError, match=r"strategy\.params\.dollarRiskPerTrade"):
        bot.validate_params({"dollarRiskPerTrade": -1})
    with pytest.raises(ReloadError, match=r"strategy\.params\.noSuchParam"):
        bot.validate_params({"noSuchParam": 1})
    with pytest.raises(ReloadError, match="timeframe"):
        bot.validate_params({"timeframe": "5m"})
    assert bot.validate_params({"stopPoints": 8.0}).stop_points == 8.0  # type: ignore[attr-defined]


async def test_a_position_from_the_aggregator_is_restored_with_its_working_stop(bot: BotService) -> None:
    now = dt.datetime(2026, 11, 24, 15, 40, tzinfo=dt.UTC)
    for oid, kind, stop, limit in ((7, OrderType.STOP, 5990.0, None), (8, OrderType.LIMIT, None, 6040.0)):
        bot.on_order_update(
            OrderUpdate(
                exchange_order_id=oid, account_id=1001, contract_id="CON.F.US.MES.Z26",
                status=OrderStatus.OPEN, order_type=kind, side=Side.SELL, quantity=2,
                stop_price=stop, limit_price=limit, bot_id="bot_s", symbol="MES",
            )
        )  # fmt: skip
    bot.on_position(
        PositionUpdate(
            account_id=1001, contract_id="CON.F.US.MES.Z26", net_quantity=2, average_price=6001.0,
            timestamp=now, symbol="MES", bot_id="bot_s",
        )
    )  # fmt: skip
    assert bot.engine.ctx.position.quantity == 2
    managed = bot.engine.exits.position
    assert managed is not None and (managed.stop, managed.target, managed.entry) == (5990.0, 6040.0, 6001.0)
    assert bot.engine.open_entries == 1
    status = bot.status()
    assert (status.position, status.working_stop, status.working_target) == (2, 5990.0, 6040.0)


def test_exits_are_reduce_only_orders_of_what_is_held() -> None:
    partial = exit_submission(3, Exit(reason=Reason(setup="partial"), quantity=1), "MES", T0, 5)
    assert partial is not None
    assert (partial.side, partial.quantity, partial.reduce_only) == (Side.SELL, 1, True)
    whole = exit_submission(-2, Exit(reason=Reason(setup="time exit")), "MES", T0, 6)
    assert whole is not None and (whole.side, whole.quantity) == (Side.BUY, 2)
    too_many = exit_submission(2, Exit(reason=Reason(setup="x"), quantity=5), "MES", T0, 7)
    assert too_many is not None and too_many.quantity == 2
    assert exit_submission(0, None, "MES", T0, 8) is None
    move = sltp_command(MoveStop(price=5990.25, reason=Reason(setup="break-even")), "bot_s", "MES", T0, 9)
    assert (move.stop_loss, move.take_profit, move.bot_id, move.symbol) == (5990.25, None, "bot_s", "MES")


async def test_a_position_filled_outside_the_bots_memory_gets_its_exits_back(bot: BotService) -> None:
    """An entry sent before a restart fills after it: the fill finds no pending entry; once its
    stop shows up, the exit manager follows the position again."""
    now = dt.datetime(2026, 11, 24, 15, 40, tzinfo=dt.UTC)
    bot.on_fill(
        Fill(
            fill_id=1, exchange_order_id=5, account_id=1001, contract_id="CON.F.US.MES.Z26",
            side=Side.BUY, quantity=2, price=6001.0, timestamp=now, bot_id="bot_s", symbol="MES",
        )
    )  # fmt: skip
    assert bot.position == 2 and bot.engine.exits.position is None
    bot.on_order_update(
        OrderUpdate(
            exchange_order_id=6, account_id=1001, contract_id="CON.F.US.MES.Z26", status=OrderStatus.OPEN,
            order_type=OrderType.STOP, side=Side.SELL, quantity=2, stop_price=5989.0, bot_id="bot_s",
            symbol="MES",
        )
    )  # fmt: skip
    managed = bot.engine.exits.position
    assert managed is not None and (managed.side, managed.stop, managed.quantity) == ("long", 5989.0, 2)


def _fill(fill_id: int, side: Side, when: dt.datetime, price: float = 6001.0) -> Fill:
    return Fill(
        fill_id=fill_id, exchange_order_id=100 + fill_id, account_id=1001, contract_id="CON.F.US.MES.Z26",
        side=side, quantity=1, price=price, timestamp=when, bot_id="bot_s", symbol="MES",
    )  # fmt: skip


def _minute_bar(start: dt.datetime, price: float = 6001.0) -> Bar:
    return Bar(
        symbol="MES", timeframe="1m", start=start, end=start + dt.timedelta(minutes=1), open=price,
        high=price + 1, low=price - 1, close=price, volume=10, buy_volume=5, sell_volume=5, trade_count=4,
    )  # fmt: skip


async def test_the_days_counts_start_again_at_the_1700_ct_roll(bot: BotService) -> None:
    """Tuesday 2026-11-24 (CST, UTC-6): a trade closed at 15:00 CT counts for Tuesday's trading
    day; from the 17:00 CT bar on, Wednesday's counts start at 0 (signals and trades)."""
    tuesday = dt.datetime(2026, 11, 24, 20, 50, tzinfo=dt.UTC)  # 14:50 CT
    bot.engine.gate.record_entry(to_ns(tuesday))
    bot.on_fill(_fill(1, Side.BUY, tuesday))
    bot.on_fill(_fill(2, Side.SELL, tuesday + dt.timedelta(minutes=10)))
    await bot.on_bar_message(_minute_bar(tuesday + dt.timedelta(minutes=10)))  # 15:00-15:01 CT
    assert (bot.trades_today, bot.status().signals_today) == (1, 1)
    await bot.on_bar_message(_minute_bar(tuesday + dt.timedelta(minutes=70)))  # 16:00 CT: same day
    assert (bot.trades_today, bot.status().signals_today) == (1, 1)
    roll = dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.UTC)  # 17:00 CT
    await bot.on_bar_message(_minute_bar(roll))
    assert (bot.trades_today, bot.status().signals_today) == (0, 0)
    # Wednesday's first round trip (fills after the roll) counts for Wednesday.
    bot.on_fill(_fill(3, Side.BUY, roll + dt.timedelta(minutes=5)))
    bot.on_fill(_fill(4, Side.SELL, roll + dt.timedelta(minutes=6)))
    assert bot.trades_today == 1


async def test_a_strategys_second_timeframe_gets_its_closed_bars(tmp_path: Path) -> None:
    """A 1-minute strategy asking for 5-minute bars: each 5-minute bar (built from the bus's
    one-minute bars on the 5-minute grid) arrives before the main bar closing with it."""
    text = scripted_bot(extra_timeframe="5m", enter_at="03:00")
    config = system_config(config_dir(tmp_path, {"bot_s": text}))
    bus = create_bus(BusConfig(), client_name="test")
    await bus.start()
    try:
        bot = BotService(config, "bot_s", bus, history=False)
        start = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # 09:30 CT, on the 5-minute grid
        for i in range(11):
            await bot.on_bar_message(_minute_bar(start + dt.timedelta(minutes=i), 6000.0 + i))
        strategy = bot.engine.strategy
        seen = strategy.seen  # type: ignore[attr-defined]
        m, s0 = 60_000_000_000, to_ns(start)
        extra = [(tf, a, b) for tf, a, b in seen if tf == "5m"]
        assert extra == [("5m", s0, s0 + 5 * m), ("5m", s0 + 5 * m, s0 + 10 * m)]
        # Before the main bar that closes with it (the 09:34-09:35 bar), after the one before.
        at = seen.index(("5m", s0, s0 + 5 * m))
        assert seen[at - 1] == ("1m", s0 + 3 * m, s0 + 4 * m)
        assert seen[at + 1] == ("1m", s0 + 4 * m, s0 + 5 * m)
        assert len([x for x in seen if x[0] == "1m"]) == 11
    finally:
        await bus.close()


async def test_an_entry_is_published_then_logged_with_its_signal(bot: BotService) -> None:
    """The bar's order goes out first; its INFO line (with the signal and the order id) is written
    once the bot yields to the other bots of its process: nothing is lost by the wait."""
    orders = await bot.bus.subscribe(channels.AGGREGATOR_ORDERS, group="test")
    start = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # 09:30 CT; the scripted entry: 09:32
    with structlog.testing.capture_logs() as logs:
        for i in range(2):
            await bot.on_bar_message(_minute_bar(start + dt.timedelta(minutes=i)))
    submissions = [m.envelope.payload for m in await orders.next_batch()]
    entries = [p for p in submissions if isinstance(p, OrderSubmission)]
    assert len(entries) == 1
    sent = [r for r in logs if r["event"] == "entry sent"]
    assert len(sent) == 1 and sent[0]["log_level"] == "info"
    assert sent[0]["order_id"] == entries[0].order_id and sent[0]["bot"] == "bot_s"
    assert sent[0]["signal"].startswith("scripted entry: long")
    await orders.close()


async def test_what_arrived_on_the_order_channel_is_handled_then_acknowledged_together(
    bot: BotService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The aggregator's order update, fill and position for one order are handled in order, then
    acknowledged together, then the status goes out once: the fill waits for no acknowledgement
    or status of the update before it, and nothing is acknowledged before it is handled. A fill
    sent again (the same fill id) is not counted twice."""
    now = dt.datetime(2026, 11, 24, 15, 40, tzinfo=dt.UTC)
    leg = OrderUpdate(
        exchange_order_id=6, account_id=1001, contract_id="CON.F.US.MES.Z26", status=OrderStatus.OPEN,
        order_type=OrderType.STOP, side=Side.SELL, quantity=1, stop_price=5989.0, bot_id="bot_s",
        symbol="MES",
    )  # fmt: skip
    position = PositionUpdate(
        account_id=1001, contract_id="CON.F.US.MES.Z26", net_quantity=1, average_price=6001.0,
        timestamp=now, symbol="MES", bot_id="bot_s",
    )  # fmt: skip
    events: list[str] = []
    published = asyncio.Event()
    handle, ack = bot.on_order_message, Message.ack

    def handled(payload: Payload) -> None:
        events.append(f"handled {type(payload).__name__}")
        handle(payload)

    async def acked(message: Message) -> None:
        events.append(f"acked {type(message.envelope.payload).__name__}")
        await ack(message)

    async def status() -> None:
        events.append("status")
        published.set()

    monkeypatch.setattr(bot, "on_order_message", handled)
    monkeypatch.setattr(Message, "ack", acked)
    monkeypatch.setattr(bot, "publish_status", status)
    channel = channels.bot_orders("bot_s")
    subscription = await bot.bus.subscribe(channel, group="bot-bot_s")
    for payload in (leg, _fill(1, Side.BUY, now), position):  # all three wait when the bot looks
        await bot.bus.publish(channel, Envelope.wrap(payload, "aggregator"))
    consuming = asyncio.create_task(bot._consume_orders(subscription))
    try:
        async with asyncio.timeout(10):
            await published.wait()
        assert events == [
            "handled OrderUpdate", "handled Fill", "handled PositionUpdate",
            "acked OrderUpdate", "acked Fill", "acked PositionUpdate",
            "status",
        ]  # fmt: skip
        assert (bot.position, bot.counters["fills"], bot.working_bracket()) == (1, 1, (5989.0, None))
        events.clear()
        published.clear()
        await bot.bus.publish(channel, Envelope.wrap(_fill(1, Side.BUY, now), "aggregator"))
        async with asyncio.timeout(10):
            await published.wait()
        assert events == ["handled Fill", "acked Fill", "status"]
        assert (bot.position, bot.counters["fills"]) == (1, 1)
    finally:
        await subscription.close()
        async with asyncio.timeout(10):
            await consuming
