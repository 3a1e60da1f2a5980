"""The engine a bot and a backtester both drive: warm-up, fills opening the exit manager,
break-even and the time exit going out, cooldown and positions, rejected entries, a restart, and
bars from the bus."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from support.strategy_feed import bot, ct, engine, instrument, signals
from tsxbot.bars import BarAggregator, bar_message
from tsxbot.sessions import SessionKind, calendar_for
from tsxbot.strategies.ema_cross import EmaCross
from tsxbot.strategies.params import EmaCrossParams
from tsxbot.strategy import Exit, MoveStop, Skip, SkipKind, closed_bar
from tsxbot.strategy.bar import BarLike
from tsxbot.strategy.context import ALL_NEEDS, NotKept
from tsxbot.strategy.engine import StrategyEngine
from tsxbot.strategy.exits import ExitManager
from tsxbot.strategy.sizing import Sized

DAY = dt.date(2026, 6, 10)
FLAT = [(100.0, 100.5, 99.5, 100.0)] * 30
CROSS_UP = (100, 102.25, 99.75, 102)
P = EmaCrossParams(dollar_risk_per_trade=20, max_risk_points=6.0)


class EmaCrossReading(EmaCross):
    """EMA_CROSS declaring that it reads the order flow and the day levels (it does not)."""

    needs = ALL_NEEDS


def test_warm_up_feeds_the_strategy_and_answers_nothing() -> None:
    e, feed = engine(EmaCross, P, "MES")
    e.warming_up = True
    feed.bars(DAY, "08:30", [*FLAT, CROSS_UP])
    assert signals(feed.outcomes) == []
    assert e.strategy.state()["fastEma"] > 100  # it saw the bars
    e.warming_up = False
    (out,) = feed.bars(DAY, "09:01", [(102, 102, 97.75, 98)])  # the first live bar crosses down
    assert isinstance(out[0], Sized) and out[0].side == "short"


def test_a_fill_opens_the_exit_manager_and_break_even_goes_out() -> None:
    e, feed = engine(
        EmaCross, P, "MES", exits={"breakEven": {"enabled": True, "triggerR": 1.0, "offsetTicks": 1}}
    )
    feed.bars(DAY, "08:30", [*FLAT, CROSS_UP])
    ((_, sized),) = signals(feed.outcomes)
    assert isinstance(sized, Sized) and sized.stop == 100.5
    e.on_fill(ct(DAY, "09:01"), "buy", sized.quantity, 102.0)
    assert e.exits.position is not None and e.exits.position.stop == 100.5  # risk 1.5
    (out,) = feed.bars(DAY, "09:01", [(102, 103.5, 102, 103.25)])
    assert [o.price for o in out if isinstance(o, MoveStop)] == [102.25]


def test_time_exit_at_flatten_at_and_no_entry_after_it() -> None:
    e, feed = engine(EmaCross, P, "MES", exits={"flattenAt": "09:02"})
    feed.bars(DAY, "08:30", [*FLAT, CROSS_UP])
    e.on_fill(ct(DAY, "09:01"), "buy", 2, 102.0)
    (out,) = feed.bars(DAY, "09:01", [(102, 102.5, 101.75, 102.25)])  # closes at 09:02
    assert len(out) == 1 and isinstance(out[0], Exit) and out[0].reason.setup == "time exit"
    e.on_fill(ct(DAY, "09:02"), "sell", 2, 102.25)
    (out,) = feed.bars(DAY, "09:02", [(102.25, 102.25, 95.75, 96)])  # a down cross, too late
    assert isinstance(out[0], Skip) and out[0].kind == SkipKind.AFTER_FLATTEN_TIME


def test_the_exit_manager_is_given_bars_only_with_a_rule_or_a_time_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without break-even, trailing, partial and flattenAt the exit manager has nothing to do on
    a bar (its best price is read by those rules only): the engine does not call it."""
    given: list[int] = []
    on_bar = ExitManager.on_bar

    def counted(self: ExitManager, bar: BarLike, **kwargs: Any) -> list[Exit | MoveStop]:
        given.append(bar.end)
        return on_bar(self, bar, **kwargs)

    monkeypatch.setattr(ExitManager, "on_bar", counted)
    trailing = {"trailing": {"enabled": True, "activationR": 1.0, "distancePoints": 2.0}}
    for exits, reads in (({}, False), ({"flattenAt": "15:00"}, True), (trailing, True)):
        given.clear()
        e, feed = engine(EmaCross, P, "MES", exits=exits)
        feed.bars(DAY, "08:30", [*FLAT, CROSS_UP])
        e.on_fill(ct(DAY, "09:01"), "buy", 1, 102.0)
        feed.bars(DAY, "09:01", [(102, 103.5, 102, 103.25), (103.25, 103.5, 103, 103.25)])
        assert len(given) == (2 if reads else 0), exits
        assert e.exits.reads_bars == (exits is trailing)
        managed = e.exits.position
        assert managed is not None and managed.best == (103.5 if reads else 102.0)


def test_positions_cooldown_and_a_rejected_entry() -> None:
    e, feed = engine(EmaCross, P, "MES", signalCooldownMinutes=5)
    feed.bars(DAY, "08:30", [*FLAT, CROSS_UP])
    assert e.open_entries == 1
    # The entry was rejected: its slot is free again, and no exit happened (no cooldown).
    e.entry_rejected()
    assert e.open_entries == 0 and e.gate.last_exit_ns is None
    (out,) = feed.bars(DAY, "09:01", [(102, 102, 97.75, 98)])
    assert isinstance(out[0], Sized) and out[0].side == "short"
    e.on_fill(ct(DAY, "09:02"), "sell", 2, 98.0)
    e.on_fill(ct(DAY, "09:03"), "buy", 2, 99.0)  # stopped out: flat, the cooldown starts
    assert e.ctx.position.flat and e.open_entries == 0
    (out,) = feed.bars(DAY, "09:03", [(98, 103.25, 98, 103)])  # an up cross 1 minute later
    assert isinstance(out[0], Skip) and out[0].kind == SkipKind.COOLDOWN


def test_restore_after_a_restart_manages_the_recovered_position() -> None:
    e, feed = engine(EmaCross, P, "MES", exits={"breakEven": {"enabled": True, "triggerR": 1.0}})
    e.warming_up = True
    feed.bars(DAY, "08:30", FLAT)
    e.warming_up = False
    e.restore(2, 100.0, 99.0, 103.0)
    assert e.ctx.position.quantity == 2 and e.open_entries == 1
    (out,) = feed.bars(DAY, "09:00", [(100, 101.25, 100, 101)])
    assert [o.price for o in out if isinstance(o, MoveStop)] == [100.0]


def test_bars_from_the_bus_drive_the_same_engine() -> None:
    mes = instrument("MES")
    calendar = calendar_for(mes)
    aggregator = BarAggregator(calendar, 60, SessionKind.ETH)
    live = StrategyEngine(EmaCross, P, bot(risk={"maxPositions": 2}), mes)
    from_bus = StrategyEngine(EmaCross, P, bot(risk={"maxPositions": 2}), mes)
    outcomes_live, outcomes_bus = [], []
    t = ct(DAY, "08:30")
    for i, (o, h, low, c) in enumerate([*FLAT, CROSS_UP, (102, 102, 97.75, 98)]):
        start = t + i * 60 * 10**9
        for k, price in enumerate((o, h, low, c)):
            aggregator.update(start + k * 10**9, price, 5.0, 1)
            outcomes_live += live.on_print(start + k * 10**9, price, 5.0, 1)
        bar = aggregator.flush(start + 60 * 10**9)
        assert bar is not None
        outcomes_live += live.flush(start + 60 * 10**9)
        message = bar_message(bar, "MES", "1m")
        ours = closed_bar(message)
        assert (ours.start, ours.end, ours.close, ours.delta) == (bar.start, bar.end, bar.close, bar.delta)
        outcomes_bus += from_bus.on_bar(ours, feed_flow=True)
    assert [type(o) for o in outcomes_live] == [Sized, Sized] == [type(o) for o in outcomes_bus]
    assert outcomes_live == outcomes_bus


def test_with_bars_from_the_bus_prints_only_feed_the_flow() -> None:
    mes = instrument("MES")
    e = StrategyEngine(EmaCrossReading, P, bot(), mes, build_bars=False)
    t = ct(DAY, "08:30")
    prices = [100.0 + (i % 3) * 0.25 for i in range(200)]  # 67 at 100, 67 at 100.25, 66 at 100.5
    for i, price in enumerate(prices):
        assert e.on_print(t + i * 10**9, price, 2.0, 1 if i % 2 else -1) == []
    assert e.ctx.vwap.value == pytest.approx(sum(prices) / len(prices))  # the flow took them
    assert e.ctx.profile.poc == 100.0 and e.ctx.delta.value == 0.0
    assert e.flush(t + 10**12) == []  # no bars of its own


def test_a_time_exit_is_not_repeated_by_the_strategy_s_exit() -> None:
    e, feed = engine(EmaCross, P, "MES", exits={"flattenAt": "09:02"})
    feed.bars(DAY, "08:30", [*FLAT, CROSS_UP])
    e.on_fill(ct(DAY, "09:01"), "buy", 2, 102.0)
    (out,) = feed.bars(DAY, "09:01", [(102, 102, 95.75, 96)])  # an opposite cross at 09:02
    assert [type(o) for o in out] == [Exit] and out[0].reason.setup == "time exit"


def test_a_reversal_keeps_counting_the_new_position() -> None:
    """Exit + opposite entry on one bar (the rubber band's way): while the exit fills, the new entry
    still counts for maxPositions, and once filled it is held, so a further entry is refused."""
    e, feed = engine(
        EmaCross, EmaCrossParams(dollar_risk_per_trade=20, max_risk_points=6.0, reverse_on_cross=True), "MES"
    )
    feed.bars(DAY, "08:30", [*FLAT, CROSS_UP])
    e.on_fill(ct(DAY, "09:01"), "buy", 2, 102.0)
    assert e.open_entries == 1
    (out,) = feed.bars(DAY, "09:01", [(102, 102, 97.75, 98)])
    assert [type(o) for o in out] == [Exit, Sized]
    assert e.open_entries == 2  # the long still held, the short sent
    e.on_fill(ct(DAY, "09:02"), "sell", 2, 98.0)  # the exit
    assert e.ctx.position.flat and e.open_entries == 1  # the short, not yet filled
    e.on_fill(ct(DAY, "09:02"), "sell", 2, 98.0)  # the short entry
    assert e.open_entries == 1 and e.exits.position is not None and e.exits.position.side == "short"
    assert e.exits.position.stop == out[1].stop  # type: ignore[union-attr]


class _TwoTimeframes(EmaCross):
    """EMA_CROSS that also watches 15-minute bars: records what it sees, in order."""

    def __init__(self, params: EmaCrossParams, ctx: object) -> None:
        super().__init__(params, ctx)  # type: ignore[arg-type]
        self.seen: list[tuple[str, float, float, float, float]] = []

    def extra_timeframes(self) -> tuple[str, ...]:
        return ("15m",)

    def on_extra_bar(self, timeframe: str, bar: object) -> None:
        self.seen.append((timeframe, bar.open, bar.high, bar.low, bar.close))  # type: ignore[attr-defined]

    def on_bar(self, bar: object) -> list[object]:  # type: ignore[override]
        self.seen.append(("5m", bar.open, bar.high, bar.low, bar.close))  # type: ignore[attr-defined]
        return list(super().on_bar(bar))  # type: ignore[arg-type]


def test_extra_timeframes_arrive_before_the_main_bar_that_closes_with_them() -> None:
    p = EmaCrossParams(dollar_risk_per_trade=20, max_risk_points=6.0, timeframe="5m")
    e, feed = engine(_TwoTimeframes, p, "MES")
    feed.bars(
        DAY,
        "08:30",
        [(100, 101, 99.5, 100.5), (100.5, 102, 100, 101.5), (101.5, 101.75, 98, 99), (99, 99.5, 98.5, 99.25)],
    )
    assert e.strategy.seen == [
        ("5m", 100, 101, 99.5, 100.5),
        ("5m", 100.5, 102, 100, 101.5),
        ("15m", 100, 102, 98, 99),  # 08:30-08:45, delivered before the 08:40 bar
        ("5m", 101.5, 101.75, 98, 99),
        ("5m", 99, 99.5, 98.5, 99.25),
    ]


def test_the_context_keeps_the_previous_trading_day() -> None:
    e, feed = engine(EmaCrossReading, P, "MES")
    feed.bars(DAY, "08:30", [(100, 105, 99, 104), (104, 104.5, 95, 97)])
    assert e.ctx.levels.previous is None
    feed.bars(DAY, "17:00", [(97, 98, 96, 97.5)])  # 17:00 CT: the next trading day
    prev = e.ctx.levels.previous
    assert prev is not None and (prev.high, prev.low, prev.close) == (105, 95, 97)


def test_the_flow_and_the_levels_are_kept_only_for_a_strategy_that_reads_them() -> None:
    """EMA_CROSS declares no needs: nothing is fed, a read names what to declare, and its
    decisions are the same as with everything kept."""
    kept, feed_kept = engine(EmaCrossReading, P, "MES")
    lean, feed_lean = engine(EmaCross, P, "MES")
    bars = [*FLAT, CROSS_UP, (102, 102, 97.75, 98), (98, 99, 97, 98.5)]
    t = ct(DAY, "08:30")
    for i in range(3):
        assert kept.on_print(t + i, 100.0, 1.0, 1) == lean.on_print(t + i, 100.0, 1.0, 1) == []
    feed_kept.bars(DAY, "08:31", bars)
    feed_lean.bars(DAY, "08:31", bars)
    assert signals(feed_kept.outcomes) == signals(feed_lean.outcomes) != []
    assert kept.ctx.vwap.initialized and kept.ctx.levels.previous is None
    assert not lean.ctx.keeps_flow and not lean.ctx.keeps_levels
    with pytest.raises(NotKept, match=r"ctx.vwap is not kept.*add 'flow' to its Strategy.needs"):
        _ = lean.ctx.vwap.value
    with pytest.raises(NotKept, match=r"add 'levels'"):
        _ = lean.ctx.levels.previous


def test_apply_fill_average_price_realized_points_and_a_reversal() -> None:
    from tsxbot.strategy.position import Position, apply_fill

    pos, fill = apply_fill(Position(), 1, "buy", 2, 100.0)
    assert pos == Position(2, 100.0) and fill.realized_points is None
    pos, _ = apply_fill(pos, 2, "buy", 2, 102.0)
    assert pos == Position(4, 101.0)
    pos, fill = apply_fill(pos, 3, "sell", 1, 103.0)
    assert pos == Position(3, 101.0) and fill.realized_points == 2.0
    pos, fill = apply_fill(pos, 4, "sell", 5, 100.0)  # through flat: short 2 at the fill price
    assert pos == Position(-2, 100.0) and fill.realized_points == -1.0
    with pytest.raises(ValueError, match="quantity must be positive"):
        apply_fill(pos, 5, "buy", 0, 100.0)


def test_a_forming_bar_from_the_bus_is_refused() -> None:
    from tsxbot.messages.market_data import Bar as BarMessage
    from tsxbot.sessions import from_ns

    message = BarMessage(
        symbol="MES",
        timeframe="1m",
        start=from_ns(ct(DAY, "08:30")),
        end=from_ns(ct(DAY, "08:31")),
        open=1,
        high=1,
        low=1,
        close=1,
        volume=1,
        complete=False,
    )
    with pytest.raises(ValueError, match="still forming"):
        closed_bar(message)
