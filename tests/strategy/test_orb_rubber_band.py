"""ORB_RUBBER_BAND on hand-made 1-minute MNQ bars (tick 0.25, 2 USD a point).

08:00-08:29: thirty quiet bars at 20000 (volume 100: relative volume's base). 08:30-08:44: the
opening range, high 20010, low 19990 (R = 20, midpoint 20000). 08:45: the breakout bar closes
20013 (3 points beyond, between max(2 ticks, 10% R) = 2 and 30% R = 6) on 150 lots (1.5x)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from core import reference as ref
from support.strategy_feed import BarSpec, Feed, engine, signals
from tsxbot.strategies.orb_rubber_band import OrbRubberBand
from tsxbot.strategies.params import OrbRubberBandParams
from tsxbot.strategy import Exit, Skip, SkipKind
from tsxbot.strategy.engine import StrategyEngine
from tsxbot.strategy.sizing import Sized

DAY = dt.date(2026, 6, 10)
TICK = 0.25
QUIET: list[BarSpec] = [(20000, 20001, 19999, 20000)] * 30
RANGE: list[BarSpec] = [(20000, 20010, 19995, 20005), *[(20005, 20008, 19990, 20000)] * 14]
BREAKOUT: BarSpec = (20008, 20013.5, 20007, 20013, 150)
INDEX = 45  # the breakout bar


def params(**changes: Any) -> OrbRubberBandParams:
    base: dict[str, Any] = {"dollar_risk_per_trade": 80, "max_risk_points": 30.0, "risk_reward_ratio": 1.5}
    return OrbRubberBandParams(**{**base, **changes})


def reflect(specs: list[BarSpec]) -> list[BarSpec]:
    return [(40000 - o, 40000 - low, 40000 - h, 40000 - c, *rest) for o, h, low, c, *rest in specs]


def run(
    after: list[BarSpec], p: OrbRubberBandParams | None = None, **bot: Any
) -> tuple[StrategyEngine, Feed]:
    e, feed = engine(OrbRubberBand, p or params(), "MNQ", **bot)
    feed.bars(DAY, "08:00", [*QUIET, *RANGE, *after])
    return e, feed


def rth_vwap(specs: list[BarSpec]) -> float:
    """The session VWAP (from 08:30) of the prints the feed makes of ``specs`` (plain reference)."""
    prices: list[float] = []
    sizes: list[float] = []
    for o, h, low, c, *rest in specs:
        volume = float(rest[0]) if rest else 100.0
        prices += [o, h, low, c]
        sizes += [1.0, 1.0, 1.0, volume - 3]
    return ref.vwap(prices, sizes)[0]


@pytest.mark.parametrize("mirrored", [False, True], ids=["long", "short"])
def test_breakout_gives_one_entry_with_the_stop_beyond_the_range(mirrored: bool) -> None:
    _, feed = engine(OrbRubberBand, params(rubber_band=False), "MNQ")
    bars = [*QUIET, *RANGE, BREAKOUT, (20013, 20014, 20011, 20012)]
    feed.bars(DAY, "08:00", reflect(bars) if mirrored else bars)
    ((i, sized),) = signals(feed.outcomes)
    assert i == INDEX and isinstance(sized, Sized)
    if not mirrored:  # stop 19990 - 2 ticks; risk 23.5; target 20013 + 1.5 x 23.5
        assert (sized.side, sized.stop, sized.target) == ("long", 19989.5, 20048.25)
    else:
        assert (sized.side, sized.stop, sized.target) == ("short", 20010.5, 19951.75)
    assert sized.quantity == 1  # floor(80 / (23.5 x 2))
    assert sized.reason.levels == {"rangeHigh": 20010, "rangeLow": 19990, "rangeMid": 20000}
    assert sized.reason.values["R"] == 20 and sized.reason.values["relVolume"] == pytest.approx(1.5)


def test_stop_at_the_range_midpoint() -> None:
    _, feed = run([BREAKOUT], params(stop_at="rangeMid"))
    ((_, sized),) = signals(feed.outcomes)
    assert isinstance(sized, Sized) and (sized.stop, sized.target) == (20000, 20032.5)


@pytest.mark.parametrize(
    ("bar", "changes", "kind", "detail"),
    [
        (
            (20008, 20017.5, 20007, 20017, 150),
            {},
            SkipKind.TOO_EXTENDED,
            "7 beyond the range, more than 0.3 x R (20)",
        ),
        ((20008, 20013.5, 20007, 20013, 110), {}, SkipKind.RELATIVE_VOLUME, "relative volume 1.10 < 1.2"),
        (BREAKOUT, {"entry_cutoff": "08:46"}, SkipKind.AFTER_CUTOFF, "cut-off"),
        (
            BREAKOUT,
            {"max_risk_points": 20.0},
            SkipKind.RISK_TOO_WIDE,
            "23.5 points away, beyond maxRiskPoints 20",
        ),
    ],
)
def test_breakout_skipped_with_its_reason(
    bar: BarSpec, changes: dict[str, Any], kind: SkipKind, detail: str
) -> None:
    _, feed = run([bar], params(**changes))
    ((i, skip),) = signals(feed.outcomes)
    assert i == INDEX and isinstance(skip, Skip) and skip.kind == kind and detail in skip.detail, skip


def test_a_small_break_is_not_a_breakout() -> None:
    # 1.75 points beyond the range: less than 10% of R (2 points).
    _, feed = run([(20008, 20012, 20007, 20011.75, 300)])
    assert signals(feed.outcomes) == []


def test_one_breakout_per_side_per_session() -> None:
    _, feed = run(
        [BREAKOUT, (20013, 20013, 20008.5, 20009), (20009, 20013.5, 20009, 20013, 300)],
        params(rubber_band=False),
    )
    got = signals(feed.outcomes)
    assert [i for i, _ in got] == [INDEX, INDEX + 2]
    assert isinstance(got[1][1], Skip) and got[1][1].kind == SkipKind.ALREADY_TRADED


def test_no_range_from_a_late_start() -> None:
    # The bot saw no bar starting at 08:30: no range, no breakout, however clear.
    _, feed = engine(OrbRubberBand, params(), "MNQ")
    feed.bars(DAY, "08:00", QUIET)
    feed.bars(DAY, "08:31", [*RANGE[1:], BREAKOUT])
    assert signals(feed.outcomes) == []


# --- rubber band ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "extreme"),
    [((20013, 20016, 20007.5, 20008, 200), 20016), ((20013, 20020, 20012, 20014, 200), 20020)],
    ids=["closes back inside", "gives back half the move"],
)
def test_rubber_band_closes_the_breakout_and_takes_the_other_side(failure: BarSpec, extreme: float) -> None:
    # VWAP is 0.7 R away in the first case: allow a reward:risk that low (next test: the default).
    e, feed = run([BREAKOUT], params(min_reward_risk=0.5))
    e.on_fill(feed.starts[-1] + 60 * 10**9, "buy", 1, 20013.0)
    (out,) = feed.bars(DAY, "08:46", [failure])
    exit_, sized = out
    assert isinstance(exit_, Exit) and exit_.quantity is None
    assert isinstance(sized, Sized) and sized.side == "short"
    close = failure[3]
    stop = extreme + 2 * TICK
    assert sized.stop == stop
    vwap = rth_vwap([*RANGE, BREAKOUT, failure])
    assert e.ctx.vwap.value == pytest.approx(vwap)
    by_rr = close - 1.5 * (stop - close)
    expected = max(vwap, by_rr) if vwap < close else by_rr  # the nearer of VWAP and R:R
    assert sized.target == math.floor(expected / TICK + 1e-9) * TICK
    assert sized.reason.setup == "rth rubber band short" and sized.reason.values["extreme"] == extreme


def test_rubber_band_to_a_vwap_too_near_is_skipped_by_the_minimum_reward_risk() -> None:
    e, feed = run([BREAKOUT])
    e.on_fill(feed.starts[-1] + 60 * 10**9, "buy", 1, 20013.0)
    ((exit_, skip),) = feed.bars(DAY, "08:46", [(20013, 20016, 20007.5, 20008, 200)])
    assert isinstance(exit_, Exit)  # the breakout position still closes
    target = math.floor(rth_vwap([*RANGE, BREAKOUT, (20013, 20016, 20007.5, 20008, 200)]) / TICK) * TICK
    ratio = (20008 - target) / (20016.5 - 20008)  # the VWAP target on the grid, over 8.5 of risk
    assert isinstance(skip, Skip) and skip.kind == SkipKind.REWARD_RISK_TOO_LOW
    assert f"reward:risk {ratio:.2f} is below minRewardRisk 1" in skip.detail


def test_rubber_band_skipped_on_low_volume_and_not_after_its_window() -> None:
    _, feed = run([BREAKOUT, (20013, 20016, 20007.5, 20008, 120)])
    ((i, _), (j, skip)) = signals(feed.outcomes)
    assert (i, j) == (INDEX, INDEX + 1)
    assert isinstance(skip, Skip) and skip.kind == SkipKind.RELATIVE_VOLUME and "1.5" in skip.detail
    # Sixteen minutes above the range, then back inside: too late for the rubber band.
    hold: list[BarSpec] = [(20012, 20013, 20011, 20012)] * 15
    _, feed = run([BREAKOUT, *hold, (20012, 20012, 20007.5, 20008, 400)])
    assert [i for i, _ in signals(feed.outcomes)] == [INDEX]


# --- stretch -------------------------------------------------------------------------------------

STRETCH: list[BarSpec] = [BREAKOUT, (20013, 20062, 20013, 20060, 100), (20060, 20061, 20049, 20050, 100)]


@pytest.mark.parametrize("mirrored", [False, True], ids=["short above VWAP", "long below VWAP"])
def test_stretch_far_from_vwap_then_back_toward_it_is_a_signal_to_vwap(mirrored: bool) -> None:
    bars = [*QUIET, *RANGE, *STRETCH]
    bars = reflect(bars) if mirrored else bars
    _, feed = engine(OrbRubberBand, params(rubber_band=False), "MNQ", risk={"maxPositions": 5})
    feed.bars(DAY, "08:00", bars)
    got = signals(feed.outcomes)
    assert [i for i, _ in got] == [INDEX, INDEX + 2]
    sized = got[1][1]
    atr = ref.atr([b[1] for b in bars], [b[2] for b in bars], [b[3] for b in bars], 14)
    vwap_then = rth_vwap(bars[30 : INDEX + 2])
    extreme = bars[INDEX + 1][3]
    assert abs(extreme - vwap_then) > 2 * atr[INDEX + 1]  # the premise: stretched, by construction
    vwap = rth_vwap(bars[30:])
    assert isinstance(sized, Sized)
    if not mirrored:
        assert (sized.side, sized.reason.setup, sized.stop) == ("short", "stretch short", 20062.5)
        assert sized.target == math.floor(vwap / TICK + 1e-9) * TICK
    else:
        assert (sized.side, sized.reason.setup, sized.stop) == ("long", "stretch long", 19937.5)
        assert sized.target == math.ceil(vwap / TICK - 1e-9) * TICK


def test_stretch_after_the_cutoff_is_skipped() -> None:
    _, feed = run(STRETCH, params(rubber_band=False, entry_cutoff="08:47"), risk={"maxPositions": 5})
    got = signals(feed.outcomes)
    assert isinstance(got[-1][1], Skip) and got[-1][1].kind == SkipKind.AFTER_CUTOFF
    assert got[-1][1].reason.setup == "stretch short"


def test_a_london_range_works_the_same_way_with_its_own_cutoff() -> None:
    p = params(london_open="02:00", london_entry_cutoff="05:00", rubber_band=False)
    _, feed = engine(OrbRubberBand, p, "MNQ")
    feed.bars(DAY, "01:30", [*QUIET, *RANGE, BREAKOUT])
    ((i, sized),) = signals(feed.outcomes)
    assert i == INDEX and isinstance(sized, Sized) and sized.reason.setup == "london breakout long"
    assert (sized.stop, sized.target) == (19989.5, 20048.25)
    _, feed = engine(OrbRubberBand, params(london_open="02:00", london_entry_cutoff="02:16"), "MNQ")
    feed.bars(DAY, "01:30", [*QUIET, *RANGE, BREAKOUT])
    ((_, skip),) = signals(feed.outcomes)
    assert isinstance(skip, Skip) and skip.kind == SkipKind.AFTER_CUTOFF
    # Without londonOpen nothing trades at that hour.
    _, feed = engine(OrbRubberBand, params(), "MNQ")
    feed.bars(DAY, "01:30", [*QUIET, *RANGE, BREAKOUT])
    assert signals(feed.outcomes) == []
