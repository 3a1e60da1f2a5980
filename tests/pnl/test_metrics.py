"""Every metric against a plain reference written here, on generated trades."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsxbot.pnl import RoundTrip, compute, daily_returns, max_drawdown, sharpe, sortino
from tsxbot.pnl.drawdown import DrawdownTracker
from tsxbot.pnl.periods import CHICAGO

# Tuesday 2026-03-03 10:00 CT.
BASE = dt.datetime(2026, 3, 3, 10, 0, tzinfo=CHICAGO)


def ns(when: dt.datetime) -> int:
    return int(when.timestamp()) * 1_000_000_000


def trade(i: int, net_cents: int, day: int, risk: float | None) -> RoundTrip:
    exit_at = BASE + dt.timedelta(days=day, minutes=i)
    gross = net_cents / 100 + 2.8
    return RoundTrip(
        bot_id="b1",
        strategy="s",
        account_id=1,
        symbol="ES",
        direction=1,
        quantity=1,
        max_position=1,
        entry_price=100.0,
        exit_price=100.0,
        entry_ns=ns(exit_at) - 60_000_000_000 * (i % 7 + 1),
        exit_ns=ns(exit_at),
        gross_pnl=gross,
        fees=2.8,
        mae=-abs(gross) - 1,
        mfe=abs(gross) + 1,
        initial_risk=risk,
        fill_ids=(f"a{i}", f"b{i}"),
    )


# reference implementations -------------------------------------------------------------------


def ref_drawdown(equity: list[float]) -> float:
    points = [0.0, *equity]
    return max(
        (points[i] - points[j] for i in range(len(points)) for j in range(i, len(points))), default=0.0
    )


def ref_streak(nets: list[float]) -> int:
    return max((len(list(g)) for neg, g in itertools.groupby(nets, key=lambda n: n < 0) if neg), default=0)


def ref_sharpe(r: list[float]) -> float | None:
    if len(r) < 2 or statistics.stdev(r) == 0:
        return None
    return statistics.mean(r) / statistics.stdev(r) * math.sqrt(252)


def ref_sortino(r: list[float]) -> float | None:
    if len(r) < 2:
        return None
    dd = math.sqrt(sum(x * x for x in r if x < 0) / len(r))
    return None if dd == 0 else statistics.mean(r) / dd * math.sqrt(252)


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


trades_st = st.lists(
    st.tuples(st.integers(-50_000, 50_000), st.integers(0, 9), st.one_of(st.none(), st.floats(1, 1000))),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(trades_st)
def test_metrics_equal_the_reference(spec: list[tuple[int, int, float | None]]) -> None:
    trades = [trade(i, c, d, r) for i, (c, d, r) in enumerate(spec)]
    m = compute(trades, capital=50_000.0)
    ordered = sorted(trades, key=lambda t: t.exit_ns)
    nets = [t.gross_pnl - t.fees for t in ordered]
    wins = [n for n in nets if n > 0]
    losses = [n for n in nets if n < 0]
    assert m.trades == len(trades)
    assert close(m.net_pnl, sum(nets))
    assert close(m.gross_pnl, sum(t.gross_pnl for t in trades))
    assert close(m.fees, 2.8 * len(trades))
    assert close(m.win_rate, len(wins) / len(nets) if nets else None)
    assert close(m.profit_factor, sum(wins) / abs(sum(losses)) if losses else None)
    assert close(m.expectancy, statistics.mean(nets) if nets else None)
    assert close(m.average_win, statistics.mean(wins) if wins else None)
    assert close(m.average_loss, statistics.mean(losses) if losses else None)
    assert close(m.largest_win, max(wins) if wins else None)
    assert close(m.largest_loss, min(losses) if losses else None)
    assert m.longest_losing_streak == ref_streak(nets)
    assert close(m.max_drawdown_closed, ref_drawdown(list(itertools.accumulate(nets))))
    rs = [t.net_pnl / t.initial_risk for t in trades if t.initial_risk]
    assert close(m.average_r, statistics.mean(rs) if rs else None)
    assert close(m.average_mae, statistics.mean(t.mae for t in trades) if trades else None)
    assert close(
        m.average_time_in_trade_s,
        statistics.mean((t.exit_ns - t.entry_ns) / 1e9 for t in trades) if trades else None,
    )
    # Daily returns: every weekday from the first to the last trading day, 0 without a trade.
    by_day: dict[dt.date, float] = {}
    for t, n in zip(ordered, nets, strict=True):
        day = dt.datetime.fromtimestamp(t.exit_ns / 1e9, CHICAGO).date()  # all exits are 10:00-11:00 CT
        by_day[day] = by_day.get(day, 0.0) + n
    # Weekend exits count for the next Monday.
    moved: dict[dt.date, float] = {}
    for day, n in by_day.items():
        while day.isoweekday() > 5:
            day += dt.timedelta(days=1)
        moved[day] = moved.get(day, 0.0) + n
    days = sorted(moved)
    returns = (
        [
            moved.get(days[0] + dt.timedelta(k), 0.0) / 50_000
            for k in range((days[-1] - days[0]).days + 1)
            if (days[0] + dt.timedelta(k)).isoweekday() <= 5
        ]
        if days
        else []
    )
    assert close(m.sharpe, ref_sharpe(returns))
    assert close(m.sortino, ref_sortino(returns))


@given(st.lists(st.floats(-1e6, 1e6), max_size=50))
def test_max_drawdown_equals_the_brute_force(equity: list[float]) -> None:
    assert max_drawdown(equity) == pytest.approx(ref_drawdown(equity), abs=1e-6)


def test_worked_example() -> None:
    trades = [
        trade(0, 10_000, 0, 50.0),
        trade(1, -5_000, 0, 50.0),
        trade(2, -2_000, 1, None),
        trade(3, 0, 1, None),
    ]
    m = compute(trades, capital=10_000.0, mtm_equity=[50.0, 120.0, -10.0, 30.0])
    assert m.win_rate == pytest.approx(0.25)
    assert m.profit_factor == pytest.approx(100 / 70)
    assert m.expectancy == pytest.approx(30 / 4)
    assert m.longest_losing_streak == 2
    assert m.max_drawdown_closed == pytest.approx(70.0)
    assert m.max_drawdown_mtm == pytest.approx(130.0)
    assert m.average_r == pytest.approx((2 - 1) / 2)
    r = [50 / 10_000, -20 / 10_000]
    assert m.sharpe == pytest.approx(statistics.mean(r) / statistics.stdev(r) * math.sqrt(252))
    assert m.sortino == pytest.approx(statistics.mean(r) / math.sqrt(r[1] ** 2 / 2) * math.sqrt(252))


def test_no_trades_gives_undefined_ratios_not_zero() -> None:
    m = compute([], capital=1.0)
    assert (m.trades, m.win_rate, m.profit_factor, m.sharpe, m.expectancy) == (0, None, None, None, None)
    assert sharpe([0.01]) is None
    assert sortino([0.01, 0.02]) is None
    with pytest.raises(ValueError, match="capital must be > 0"):
        daily_returns({dt.date(2026, 1, 5): 1.0}, 0)


@given(st.lists(st.floats(-1e6, 1e6), max_size=50))
def test_the_running_drawdown_tracker_equals_the_batch_one(equity: list[float]) -> None:
    tracker = DrawdownTracker()
    for value in equity:
        tracker.update(value)
    assert tracker.max_drawdown == pytest.approx(ref_drawdown(equity), abs=1e-6)
