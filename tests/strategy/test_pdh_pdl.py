"""PDH_PDL on hand-made 5-minute MGC bars: each setup, its mirror, and each reason it is skipped.

Day 1 (Tue 2026-06-09) sets the levels: its regular-session bars make PDH 2010, PDL 1990.
Day 2 (Wed) is the trading day. MGC: tick 0.1, 10 USD a point."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core import reference as ref
from support.strategy_feed import BarSpec, Feed, ct, engine, instrument, signals
from tsxbot.sessions import calendar_for
from tsxbot.strategies.params import PdhPdlParams
from tsxbot.strategies.pdh_pdl import PdhPdl
from tsxbot.strategy import ClosedBar, ExchangeClock, SessionLevels, Skip, SkipKind
from tsxbot.strategy.sizing import Sized

DAY1, DAY2 = dt.date(2026, 6, 9), dt.date(2026, 6, 10)
LEVEL_BARS: list[BarSpec] = [(2000, 2010, 1999, 2005), (2005, 2006, 1990, 2000), (2000, 2004, 1995, 2001)]


def mirror(specs: list[BarSpec]) -> list[BarSpec]:
    """The same bars reflected about 2000 (a long setup becomes the short one); delta negated."""
    out: list[BarSpec] = []
    for o, h, low, c, *rest in specs:
        volume = rest[0] if rest else 100.0
        delta = rest[1] if len(rest) > 1 else 0.0
        out.append((4000 - o, 4000 - low, 4000 - h, 4000 - c, volume, -delta))
    return out


def params(**changes: Any) -> PdhPdlParams:
    return PdhPdlParams(dollar_risk_per_trade=100, max_risk_points=3.0, timeframe="5m", **changes)


def run(
    day2: list[BarSpec],
    start: str,
    p: PdhPdlParams,
    *,
    mirrored: bool = False,
    prefix: list[BarSpec] | None = None,
) -> Feed:
    _, feed = engine(PdhPdl, p, "MGC")
    feed.bars(DAY1, "08:30", mirror(LEVEL_BARS) if mirrored else LEVEL_BARS)
    if prefix:
        feed.bars(DAY2, "05:00", prefix)
    feed.bars(DAY2, start, mirror(day2) if mirrored else day2)
    return feed


# --- breakout ------------------------------------------------------------------------------------


def uptrend() -> list[BarSpec]:
    """06:00-08:25: ten flat bars at 2000 (the session's POC), then twenty rising 0.45 to 2009."""
    specs: list[BarSpec] = [(2000, 2000.5, 1999.5, 2000)] * 10
    price = 2000.0
    for _ in range(20):
        close = round(price + 0.45, 2)
        specs.append((price, close + 0.3, price - 0.2, close))
        price = close
    return specs


BREAKOUT: BarSpec = (2009, 2012.3, 2008.8, 2012.0, 200, 60)  # 08:30: closes 2012 > PDH + 2 ticks


@pytest.mark.parametrize("mirrored", [False, True], ids=["long at PDH", "short at PDL"])
def test_breakout_gives_exactly_one_entry_at_the_breaking_bar(mirrored: bool) -> None:
    bars = [*uptrend(), BREAKOUT]
    feed = run(bars, "06:00", params(), mirrored=mirrored)
    got = signals(feed.outcomes)
    assert [i for i, _ in got] == [33]  # 3 level bars + 30 + the breakout
    sized = got[0][1]
    assert isinstance(sized, Sized)
    highs, lows, closes = zip(*[(b[1], b[2], b[3]) for b in LEVEL_BARS + bars], strict=True)
    atr = ref.atr(highs, lows, closes, 14)[-1]
    # PDH - 1.5 x ATR is farther than 15 ticks from the entry: the stop distance is clamped to 1.5.
    assert 2012.0 - (2010 - 1.5 * atr) > 1.5
    if not mirrored:
        assert (sized.side, sized.stop, sized.target) == ("long", 2010.5, 2015.0)
        assert sized.reason.levels["pdh"] == 2010.0
    else:
        assert (sized.side, sized.stop, sized.target) == ("short", 1989.5, 1985.0)
        assert sized.reason.levels["pdl"] == 1990.0
    assert sized.quantity == 3  # floor(100 / (1.5 x 10)) = 6, capped by maxOrderSize 3
    assert sized.reason.setup == f"breakout {'short' if mirrored else 'long'}"
    assert sized.reason.values["atr"] == pytest.approx(atr)
    assert sized.reason.values["relVolume"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("breakout", "changes", "prefix", "kind", "detail"),
    [
        (
            (2009, 2012.3, 2008.8, 2012.0, 140, 60),
            {},
            None,
            SkipKind.RELATIVE_VOLUME,
            "relative volume 1.40 < 1.5",
        ),
        # A 10 000-lot bar at 2030 earlier in the session holds the VWAP above the entry.
        (BREAKOUT, {}, [(2030, 2030.5, 2029.5, 2030, 10_000)], SkipKind.VWAP, "is not above VWAP"),
        (BREAKOUT, {"adx_range_threshold": 99, "adx_trend_threshold": 99}, None, SkipKind.REGIME, "ranging"),
        ((2009, 2012.3, 2008.8, 2012.0, 200, -60), {}, None, SkipKind.DELTA, "bar delta -60 is not positive"),
        # 2000 lots at the close make 2012 the session's POC: not below the entry.
        ((2009, 2012.3, 2008.8, 2012.0, 2000, 60), {}, None, SkipKind.VOLUME_PROFILE, "POC 2012"),
        (BREAKOUT, {"atr_period": 50}, None, SkipKind.NOT_READY, "warming up"),
    ],
)
def test_breakout_skipped_with_its_reason(
    breakout: BarSpec, changes: dict[str, Any], prefix: list[BarSpec] | None, kind: SkipKind, detail: str
) -> None:
    feed = run([*uptrend(), breakout], "06:00", params(**changes), prefix=prefix)
    got = signals(feed.outcomes)
    assert len(got) == 1
    skip = got[0][1]
    assert isinstance(skip, Skip) and skip.kind == kind and detail in skip.detail
    assert skip.reason.setup == "breakout long"


def test_breakout_filters_off_let_the_same_bar_through() -> None:
    p = params(use_cumulative_delta=False, use_volume_profile=False)
    feed = run([*uptrend(), (2009, 2012.3, 2008.8, 2012.0, 2000, -60)], "06:00", p)
    ((_, sized),) = signals(feed.outcomes)
    assert isinstance(sized, Sized) and sized.side == "long"


def test_only_a_fresh_break_counts_and_only_in_its_window() -> None:
    # A second bar closing above the line (the previous one already did) gives nothing.
    feed = run([*uptrend(), BREAKOUT, (2012, 2013, 2011.5, 2012.5, 300, 60)], "06:00", params())
    assert [i for i, _ in signals(feed.outcomes)] == [33]
    # The same break outside breakoutStart-breakoutEnd gives nothing at all.
    feed = run([*uptrend(), BREAKOUT], "06:00", params(breakout_start="09:00", breakout_end="10:30"))
    assert signals(feed.outcomes) == []
    # mode: fade runs no breakout.
    feed = run([*uptrend(), BREAKOUT], "06:00", params(mode="fade"))
    assert signals(feed.outcomes) == []


@pytest.mark.parametrize(
    ("changes", "kind", "detail"),
    [
        ({"max_risk_points": 1.0}, SkipKind.RISK_TOO_WIDE, "1.5 points away, beyond maxRiskPoints 1"),
        ({"dollar_risk_per_trade": 10}, SkipKind.SIZE_ZERO, "buys no contract"),
    ],
)
def test_breakout_skipped_by_the_shared_sizing(changes: dict[str, Any], kind: SkipKind, detail: str) -> None:
    base = {"dollar_risk_per_trade": 100, "max_risk_points": 3.0, **changes}
    p = PdhPdlParams(timeframe="5m", **base)
    feed = run([*uptrend(), BREAKOUT], "06:00", p)
    ((_, skip),) = signals(feed.outcomes)
    assert isinstance(skip, Skip) and skip.kind == kind and detail in skip.detail


# --- fade ----------------------------------------------------------------------------------------


def chop(count: int, around: float = 2000.0, amp: float = 1.0) -> list[BarSpec]:
    """Bars going nowhere, alternately up and down by ``amp``: a low ADX, the value area around
    ``around``."""
    up = (around - 0.5 * amp, around + 1.5 * amp, around - 0.5 * amp, around + amp)
    down = (around + 0.5 * amp, around + 0.5 * amp, around - 1.5 * amp, around - amp)
    return [up if i % 2 == 0 else down for i in range(count)]


# 06:00-12:55: 84 bars of chop at 2008.5; then at 13:00 the fade bar: high 2010.1 (within 2 ticks
# of PDH), close 2009.5 (below PDH - 2 ticks), upper wick 0.5 of 0.7.
FADE_DAY: list[BarSpec] = chop(84, around=2008.5, amp=0.3)
FADE: BarSpec = (2009.6, 2010.1, 2009.4, 2009.5, 100, -10)


@pytest.mark.parametrize("mirrored", [False, True], ids=["short at PDH", "long at PDL"])
def test_fade_gives_one_entry_with_the_stop_beyond_the_level(mirrored: bool) -> None:
    feed = run([*FADE_DAY, FADE], "06:00", params(), mirrored=mirrored)
    got = signals(feed.outcomes)
    assert [i for i, _ in got] == [3 + 84]
    sized = got[0][1]
    assert isinstance(sized, Sized)
    # Stop: max(high + 2 ticks = 2010.3, PDH + 8 ticks = 2010.8); risk 1.3; target 2009.5 - 2.6.
    if not mirrored:
        assert (sized.side, sized.stop, sized.target) == ("short", 2010.8, 2006.9)
    else:
        assert (sized.side, sized.stop, sized.target) == ("long", 1989.2, 1993.1)
    assert sized.reason.setup == f"fade {'long' if mirrored else 'short'}"
    assert sized.reason.values["adx"] < 25


@pytest.mark.parametrize(
    ("fade", "changes", "kind", "detail"),
    [
        (
            (2009.0, 2010.1, 2008.9, 2009.7, 100, -10),
            {},
            SkipKind.WICK,
            "wick 0.4 is less than 0.5 of the range 1.2",
        ),
        (FADE, {"adx_trend_threshold": 1, "adx_range_threshold": 1}, SkipKind.REGIME, "trending"),
        ((2009.6, 2010.1, 2009.4, 2009.5, 100, 10), {}, SkipKind.DELTA, "bar delta 10"),
        # With the whole session as the value area, PDH (traded at 2010.1) lies inside it.
        (FADE, {"value_area_fraction": 1.0}, SkipKind.VOLUME_PROFILE, "inside the value area"),
    ],
)
def test_fade_skipped_with_its_reason(
    fade: BarSpec, changes: dict[str, Any], kind: SkipKind, detail: str
) -> None:
    feed = run([*FADE_DAY, fade], "06:00", params(**changes))
    ((_, skip),) = signals(feed.outcomes)
    assert isinstance(skip, Skip) and skip.kind == kind and detail in skip.detail, skip


def test_fade_target_stops_at_the_other_level_and_is_skipped_below_min_reward_risk() -> None:
    # Levels PDH 2010, PDL 2008: the target stops at PDL (1.5 points for 1.3 of risk: 1.15 R).
    levels: list[BarSpec] = [(2009, 2010, 2008, 2009)]
    _, feed = engine(PdhPdl, params(min_reward_risk=1.5), "MGC")
    feed.bars(DAY1, "08:30", levels)
    feed.bars(DAY2, "06:00", [*chop(83, around=2009.0, amp=0.3), (2009, 2009.5, 2008.9, 2009.3)])
    out = feed.bars(DAY2, "13:00", [FADE])
    ((skip,),) = out
    assert isinstance(skip, Skip) and skip.kind == SkipKind.REWARD_RISK_TOO_LOW, skip
    assert "1.15" in skip.detail


# --- liquidity sweep -----------------------------------------------------------------------------

# 06:00-07:25 chop at 2008; 07:30 a high of 2010.4 (4 ticks above PDH) closing 2009.8; 07:35 a
# close of 2009.5, 5 ticks back below PDH: the short. 07:40 back up, 07:45 a second sweep.
SWEEP_DAY: list[BarSpec] = chop(18, around=2008.0)
SWEEP: list[BarSpec] = [
    (2008.5, 2010.4, 2008.4, 2009.8),
    (2009.8, 2009.9, 2009.3, 2009.5),
    (2009.5, 2010.0, 2009.4, 2009.9),
    (2009.9, 2010.5, 2009.3, 2009.4),
]


@pytest.mark.parametrize("mirrored", [False, True], ids=["short at PDH", "long at PDL"])
def test_sweep_gives_one_entry_then_once_per_level(mirrored: bool) -> None:
    feed = run([*SWEEP_DAY, *SWEEP], "06:00", params(), mirrored=mirrored)
    got = signals(feed.outcomes)
    assert [i for i, _ in got] == [3 + 18 + 1, 3 + 18 + 3]
    sized, again = got[0][1], got[1][1]
    assert isinstance(sized, Sized)
    # Stop: the sweep's extreme (2010.4) + 2 ticks; risk 1.1; target 2009.5 - 2 x 1.1.
    if not mirrored:
        assert (sized.side, sized.stop, sized.target) == ("short", 2010.6, 2007.3)
    else:
        assert (sized.side, sized.stop, sized.target) == ("long", 1989.4, 1992.7)
    assert isinstance(again, Skip) and again.kind == SkipKind.ALREADY_TRADED


@pytest.mark.parametrize("changes", [{"detect_liquidity_sweeps": False}, {"mode": "breakout"}])
def test_sweep_off(changes: dict[str, Any]) -> None:
    feed = run([*SWEEP_DAY, *SWEEP], "06:00", params(**changes))
    assert signals(feed.outcomes) == []


# --- levels --------------------------------------------------------------------------------------


def _bar(day: dt.date, hhmm: str, high: float, low: float) -> ClosedBar:
    start = ct(day, hhmm)
    return ClosedBar(start, start + 300 * 10**9, low, high, low, high, 10.0)


def test_levels_monday_uses_friday_and_a_day_without_data_is_skipped() -> None:
    clock = ExchangeClock(calendar_for(instrument("MGC")))
    levels = SessionLevels(clock, (510, 915))
    levels.update(_bar(dt.date(2026, 6, 11), "09:00", 2020, 2010))  # Thursday
    levels.update(_bar(dt.date(2026, 6, 11), "16:00", 2090, 2080))  # after 15:15: not in the session
    levels.update(_bar(dt.date(2026, 6, 14), "18:00", 2050, 2040))  # Sunday evening: Monday's ETH
    assert (
        levels.previous is not None
        and levels.previous.trading_date == (dt.date(2026, 6, 11) - dt.date(1970, 1, 1)).days
    )
    assert (levels.previous.high, levels.previous.low) == (2020, 2010)  # Friday had no data
    levels.update(_bar(dt.date(2026, 6, 15), "09:00", 2030, 2025))  # Monday RTH
    levels.update(_bar(dt.date(2026, 6, 16), "09:00", 2000, 1995))  # Tuesday
    assert levels.previous is not None and (levels.previous.high, levels.previous.low) == (2030, 2025)
