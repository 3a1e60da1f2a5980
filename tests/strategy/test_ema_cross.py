"""EMA_CROSS on hand-made 1-minute MES bars (tick 0.25, 5 USD a point): the cross, the retrace,
their mirrors, each reason to skip, the opposite cross, the slow-EMA trail and the cooldown in
bars. EMAs and ATR in the expectations come from the plain references (tests/core/reference.py)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from core import reference as ref
from support.strategy_feed import BarSpec, engine, signals
from tsxbot.strategies.ema_cross import EmaCross
from tsxbot.strategies.params import EmaCrossParams
from tsxbot.strategy import Exit, MoveStop, Skip, SkipKind
from tsxbot.strategy.sizing import Sized

DAY = dt.date(2026, 6, 10)
TICK = 0.25


def params(**changes: Any) -> EmaCrossParams:
    return EmaCrossParams(dollar_risk_per_trade=20, max_risk_points=6.0, **changes)


def flat(count: int, price: float = 100.0) -> list[BarSpec]:
    return [(price, price + 0.5, price - 0.5, price)] * count


def reflect(specs: list[BarSpec]) -> list[BarSpec]:
    return [(200 - o, 200 - low, 200 - h, 200 - c, *rest) for o, h, low, c, *rest in specs]


def up_to_tick(x: float) -> float:
    return math.ceil(x / TICK - 1e-9) * TICK


def down_to_tick(x: float) -> float:
    return math.floor(x / TICK + 1e-9) * TICK


def column(specs: list[BarSpec], i: int) -> list[float]:
    return [float(s[i]) for s in specs]


CROSS_UP: BarSpec = (100, 102.25, 99.75, 102)


@pytest.mark.parametrize("mirrored", [False, True], ids=["long", "short"])
def test_cross_gives_one_entry_at_the_crossing_bar(mirrored: bool) -> None:
    bars = [*flat(30), CROSS_UP, *flat(3, 102)]
    bars = reflect(bars) if mirrored else bars
    _, feed = engine(EmaCross, params(), "MES")
    feed.bars(DAY, "08:30", bars)
    got = signals(feed.outcomes)
    assert [i for i, _ in got] == [30]  # flat EMAs are equal; the first bar off them crosses
    sized = got[0][1]
    assert isinstance(sized, Sized)
    atr = ref.atr(column(bars, 1), column(bars, 2), column(bars, 3), 14)[30]
    assert atr == pytest.approx((13 * 1.0 + 2.5) / 14)
    if not mirrored:
        # entry 102 - 1.5 x ATR = 100.339 -> on the grid toward the entry: 100.5; target 102 + 2 x 1.66
        assert (sized.side, sized.stop, sized.target) == ("long", up_to_tick(102 - 1.5 * atr), 105.5)
        assert sized.stop == 100.5
    else:
        assert (sized.side, sized.stop, sized.target) == ("short", 99.5, 94.5)
    assert sized.quantity == 2  # floor(20 / (1.5 x 5))
    fast = ref.ema(column(bars, 3), 9)[30]
    slow = ref.ema(column(bars, 3), 21)[30]
    assert sized.reason.values["fastEma"] == pytest.approx(fast)
    assert sized.reason.values["slowEma"] == pytest.approx(slow)


def test_trend_filter_skips_a_long_below_the_trend_ema() -> None:
    bars = [*flat(30, 110), *flat(60, 100), CROSS_UP]
    closes = column(bars, 3)
    trend = ref.ema(closes, 80)[-1]
    assert trend > 102 and ref.ema(closes, 9)[-1] > ref.ema(closes, 21)[-1]  # the premise
    assert ref.ema(closes, 9)[-2] <= ref.ema(closes, 21)[-2]
    _, feed = engine(EmaCross, params(trend_filter_period=80), "MES")
    feed.bars(DAY, "06:00", bars)
    ((skip,),) = feed.outcomes[90:]
    assert isinstance(skip, Skip) and skip.kind == SkipKind.TREND_FILTER
    assert f"{trend:.4f}" in skip.detail
    # Without the filter the same bar is a long (the short entry of the drop to 100 was never
    # filled: it still counts for maxPositions, so allow more).
    _, feed = engine(EmaCross, params(), "MES", risk={"maxPositions": 5})
    feed.bars(DAY, "06:00", bars)
    ((sized,),) = feed.outcomes[90:]
    assert isinstance(sized, Sized) and sized.side == "long"


@pytest.mark.parametrize(
    ("changes", "kind", "detail"),
    [
        ({"min_ema_spread_points": 1.0}, SkipKind.EMA_SPREAD, "EMA spread 0.2182 < 1"),
        ({"atr_period": 40}, SkipKind.NOT_READY, "ATR"),
    ],
)
def test_cross_skipped_with_its_reason(changes: dict[str, Any], kind: SkipKind, detail: str) -> None:
    _, feed = engine(EmaCross, params(**changes), "MES")
    feed.bars(DAY, "08:30", [*flat(30), CROSS_UP])
    ((i, skip),) = signals(feed.outcomes)
    assert i == 30 and isinstance(skip, Skip) and skip.kind == kind and detail in skip.detail


@pytest.mark.parametrize("reverse", [False, True])
def test_an_opposite_cross_closes_the_position_and_reverses_when_asked(reverse: bool) -> None:
    e, feed = engine(EmaCross, params(reverse_on_cross=reverse), "MES")
    feed.bars(DAY, "08:30", [*flat(30), CROSS_UP])
    e.on_fill(feed.starts[-1] + 61 * 10**9, "buy", 2, 102.0)
    down: BarSpec = (102, 102, 97.75, 98)
    (out,) = feed.bars(DAY, "09:01", [down])
    assert (
        isinstance(out[0], Exit)
        and out[0].quantity is None
        and out[0].reason.setup == "opposite cross (short)"
    )
    if not reverse:
        assert len(out) == 1
    else:
        assert len(out) == 2 and isinstance(out[1], Sized) and out[1].side == "short"
        bars = [*flat(30), CROSS_UP, down]
        atr = ref.atr(column(bars, 1), column(bars, 2), column(bars, 3), 14)[-1]
        assert out[1].stop == down_to_tick(98 + 1.5 * atr)


def test_post_loss_bars_skip_the_next_cross() -> None:
    e, feed = engine(EmaCross, params(post_loss_bars=3), "MES")
    feed.bars(DAY, "08:30", [*flat(30), CROSS_UP, (102, 102, 100.75, 101)])
    e.on_fill(feed.starts[-2] + 61 * 10**9, "buy", 2, 102.0)
    fill = e.on_fill(feed.starts[-1] + 61 * 10**9, "sell", 2, 101.0)
    assert fill.realized_points == -1.0 and e.ctx.position.flat
    (out,) = feed.bars(DAY, "09:02", [(101, 101, 97.75, 98)])  # the down cross
    ((skip),) = out
    assert isinstance(skip, Skip) and skip.kind == SkipKind.COOLDOWN and skip.reason.setup == "cross short"


# --- retrace -------------------------------------------------------------------------------------


def rising(count: int, start: float = 100.0, step: float = 0.5) -> list[BarSpec]:
    return [
        (start + i * step - step, start + i * step + 0.25, start + i * step - step - 0.25, start + i * step)
        for i in range(count)
    ]


def retrace(pullback: list[BarSpec], resume: BarSpec) -> list[BarSpec]:
    return [*rising(30), *pullback, resume]


PULLBACK: list[BarSpec] = [(114.5, 114.5, 111.75, 112), (112, 112.5, 111.25, 111.5)]
RESUME: BarSpec = (111.5, 114.25, 111.5, 114)


@pytest.mark.parametrize("mirrored", [False, True], ids=["long", "short"])
def test_retrace_enters_when_the_pullback_closes_back_beyond_the_fast_ema(mirrored: bool) -> None:
    bars = retrace(PULLBACK, RESUME)
    closes = column(bars, 3)
    fast, slow = ref.ema(closes, 9), ref.ema(closes, 21)
    # The premise: the pull-back bars close below the fast EMA and above the slow one; the last
    # bar closes back above the fast EMA.
    assert all(slow[i] < closes[i] < fast[i] for i in (30, 31)) and closes[32] > fast[32]
    _, feed = engine(EmaCross, params(entry="retrace"), "MES")
    feed.bars(DAY, "08:30", reflect(bars) if mirrored else bars)
    ((i, sized),) = signals(feed.outcomes)
    assert i == 32 and isinstance(sized, Sized)
    stop = slow[32] - 2 * TICK
    if not mirrored:
        assert (sized.side, sized.stop) == ("long", up_to_tick(stop))
        assert sized.target == up_to_tick(114 + 2 * (114 - stop))
    else:
        assert (sized.side, sized.stop) == ("short", down_to_tick(200 - stop))
    assert sized.reason.values["pullbackBars"] == 2


def test_retrace_skipped_when_too_deep_or_too_long() -> None:
    deep = [(114.5, 114.5, 111.75, 112), (112, 112, 108.75, 109)]
    bars = retrace(deep, (109, 114.25, 109, 114))
    closes = column(bars, 3)
    slow = ref.ema(closes, 21)
    assert closes[31] < slow[31] and ref.ema(closes, 9)[32] >= slow[32]  # deep, the trend still up
    _, feed = engine(EmaCross, params(entry="retrace"), "MES")
    feed.bars(DAY, "08:30", bars)
    ((_, skip),) = signals(feed.outcomes)
    assert isinstance(skip, Skip) and skip.kind == SkipKind.PULLBACK_TOO_DEEP

    _, feed = engine(EmaCross, params(entry="retrace", max_pullback_bars=1), "MES")
    feed.bars(DAY, "08:30", retrace(PULLBACK, RESUME))
    ((_, skip),) = signals(feed.outcomes)
    assert isinstance(skip, Skip) and skip.kind == SkipKind.PULLBACK_TOO_LONG and "2 bars" in skip.detail


def test_trail_with_slow_ema_moves_the_stop_only_tighter() -> None:
    e, feed = engine(EmaCross, params(entry="retrace", trail_with_slow_ema=True), "MES")
    bars = retrace(PULLBACK, RESUME)
    feed.bars(DAY, "08:30", bars)
    ((_, sized),) = signals(feed.outcomes)
    assert isinstance(sized, Sized)
    e.on_fill(feed.starts[-1] + 60 * 10**9, "buy", sized.quantity, 114.0)
    more = [(114, 116.25, 114, 116), (116, 118.25, 116, 118)]
    out = feed.bars(DAY, "09:03", more)
    closes = column([*bars, *more], 3)
    slow = ref.ema(closes, 21)
    moves = [o for bar in out for o in bar]
    assert all(isinstance(m, MoveStop) for m in moves)
    assert [m.price for m in moves] == [down_to_tick(slow[i] - 2 * TICK) for i in (33, 34)]
    assert sized.stop < moves[0].price < moves[1].price
    # A bar that takes the slow EMA lower gives no move (the stop never loosens).
    dip: BarSpec = (118, 118, 110.25, 110.5)
    slow = ref.ema([*closes, 110.5], 21)
    assert slow[-1] < slow[-2]
    out = feed.bars(DAY, "09:05", [dip])
    assert out == [[]]
