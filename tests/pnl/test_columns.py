"""The columnar figures (``TradeColumns``, numpy over the trades) against plain loops over the
trades written here (the code they replaced): equal bit for bit, the sign of a zero included,
whatever the order and the values of the trades."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tsxbot.pnl import RoundTrip, compute, daily, monthly, trading_day, weekly
from tsxbot.pnl.columns import TradeColumns
from tsxbot.pnl.drawdown import closed_trade_equity, drawdown_series, max_drawdown
from tsxbot.pnl.metrics import longest_losing_streak
from tsxbot.pnl.periods import CHICAGO, PeriodFigures
from tsxbot.pnl.ratios import daily_returns, sharpe, sortino
from tsxbot.report.model import EquityPoint, Report, TradeRow, _day, report_from_trades
from tsxbot.sessions import from_ns, to_ns

# Monday 2026-03-02 00:00 CT; exits spread over two weeks, across 17:00 CT and a weekend.
BASE = to_ns(dt.datetime(2026, 3, 2, tzinfo=CHICAGO))
HOUR = 3_600_000_000_000

amounts = st.one_of(
    st.floats(-5_000, 5_000, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1.25, -1.25, 2.48, 0.005, -0.005, 1e-9]),
)
trade_st = st.tuples(
    st.integers(0, 14 * 24 - 1),  # exit hour
    st.integers(0, 3),  # exit minute (ties on purpose)
    st.integers(0, 600),  # minutes in trade
    amounts,  # gross
    st.sampled_from([0.0, 2.48, 1.24, 0.1]),  # fees
    st.one_of(st.none(), st.sampled_from([0.0, -1.0, 50.0, 12.5])),  # initial risk
    st.sampled_from(["b1", "b2"]),
)


def make(spec: Sequence[tuple[int, int, int, float, float, float | None, str]]) -> list[RoundTrip]:
    out = []
    for i, (hour, minute, held, gross, fees, risk, bot) in enumerate(spec):
        exit_ns = BASE + hour * HOUR + minute * 60_000_000_000
        out.append(
            RoundTrip(
                bot_id=bot,
                strategy=f"s{i % 2}",
                account_id=1,
                symbol="MES",
                direction=1 if i % 3 else -1,
                quantity=1 + i % 2,
                max_position=2,
                entry_price=100.0 + i,
                exit_price=101.0,
                entry_ns=exit_ns - held * 60_000_000_000,
                exit_ns=exit_ns,
                gross_pnl=gross,
                fees=fees,
                mae=-abs(gross) / 3,
                mfe=abs(gross) / 7,
                initial_risk=risk,
                fill_ids=(f"f{i}", f"g{i}"),
            )
        )
    return out


# The plain references (the per-trade loops the columns replaced) -------------------------------


def ref_periods(trades: Sequence[RoundTrip], key: str) -> list[PeriodFigures]:
    out: dict[str, PeriodFigures] = {}
    for trade in trades:
        day = trading_day(trade.exit_ns)
        year, week, _ = day.isocalendar()
        label = (
            day.isoformat()
            if key == "day"
            else f"{year}-W{week:02d}"
            if key == "week"
            else f"{day.year}-{day.month:02d}"
        )
        figures = out.setdefault(label, PeriodFigures(period=label))
        figures.gross += trade.gross_pnl
        figures.fees += trade.fees
        figures.trades += 1
        figures.wins += trade.net_pnl > 0
        figures.losses += trade.net_pnl < 0
    return [out[label] for label in sorted(out)]


def ref_drawdowns(equity: Sequence[float]) -> list[float]:
    peak, out = 0.0, []
    for value in equity:
        peak = max(peak, value)
        out.append(peak - value)
    return out


def ref_streak(nets: Sequence[float]) -> int:
    best = run = 0
    for net in nets:
        run = run + 1 if net < 0 else 0
        best = max(best, run)
    return best


def ref_metrics(
    trades: Sequence[RoundTrip], capital: float, mtm: Sequence[float] | None
) -> dict[str, object]:
    ordered = sorted(trades, key=lambda t: (t.exit_ns, t.entry_ns))
    nets = [t.net_pnl for t in ordered]
    wins = [n for n in nets if n > 0]
    losses = [n for n in nets if n < 0]
    gross = math.fsum(t.gross_pnl for t in ordered)
    fees = math.fsum(t.fees for t in ordered)
    n = len(ordered)
    returns = daily_returns(
        {dt.date.fromisoformat(p.period): p.net for p in ref_periods(ordered, "day")}, capital
    )
    rs = [r for r in (t.r_multiple for t in ordered) if r is not None]

    def mean(values: Sequence[float]) -> float | None:
        return math.fsum(values) / len(values) if values else None

    return {
        "trades": n,
        "gross_pnl": gross,
        "fees": fees,
        "net_pnl": gross - fees,
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": len(wins) / n if n else None,
        "profit_factor": math.fsum(wins) / -math.fsum(losses) if losses else None,
        "expectancy": math.fsum(nets) / n if n else None,
        "average_win": mean(wins),
        "average_loss": mean(losses),
        "largest_win": max(wins) if wins else None,
        "largest_loss": min(losses) if losses else None,
        "longest_losing_streak": ref_streak(nets),
        "max_drawdown_closed": max(ref_drawdowns(list(itertools.accumulate(nets))), default=0.0),
        "max_drawdown_mtm": max(ref_drawdowns(mtm), default=0.0) if mtm is not None else None,
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
        "average_r": mean(rs),
        "average_mae": mean([t.mae for t in ordered]),
        "average_mfe": mean([t.mfe for t in ordered]),
        "average_time_in_trade_s": mean([t.duration_ns / 1e9 for t in ordered]),
    }


def ref_rows(trades: Sequence[RoundTrip], excursions: Mapping[str, tuple[float, float]]) -> list[TradeRow]:
    rows = []
    for t in sorted(trades, key=lambda t: (t.exit_ns, t.entry_ns)):
        mae, mfe = excursions.get(t.trade_id, (t.mae, t.mfe))
        rows.append(
            TradeRow(
                trade_id=t.trade_id,
                bot_id=t.bot_id,
                strategy=t.strategy,
                symbol=t.symbol,
                direction="LONG" if t.direction > 0 else "SHORT",
                quantity=t.quantity,
                entry_time=from_ns(t.entry_ns),
                exit_time=from_ns(t.exit_ns),
                trading_day=trading_day(t.exit_ns),
                entry_price=t.entry_price,
                exit_price=t.exit_price,
                gross_pnl=round(t.gross_pnl, 2),
                fees=round(t.fees, 2),
                net_pnl=round(t.net_pnl, 2),
                r_multiple=t.r_multiple,
                mae=round(mae, 2),
                mfe=round(mfe, 2),
                seconds_in_trade=t.duration_ns / 1e9,
            )
        )
    return rows


def same(a: object, b: object) -> bool:
    """Equal, bit for bit (JSON keeps -0.0 apart from 0.0, and so does this)."""
    return msgspec.json.encode(a) == msgspec.json.encode(b)


# The tests -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(trade_st, max_size=60))
def test_the_periods_equal_the_loop_over_the_trades(
    spec: list[tuple[int, int, int, float, float, float | None, str]],
) -> None:
    trades = make(spec)  # in the order generated, not the exits' (each period summed in that order)
    assert same(daily(trades), ref_periods(trades, "day"))
    assert same(weekly(trades), ref_periods(trades, "week"))
    assert same(monthly(trades), ref_periods(trades, "month"))
    ordered = TradeColumns(trades)
    assert same(daily(ordered), ref_periods(ordered.trades, "day"))


@settings(max_examples=300, deadline=None)
@given(st.lists(trade_st, max_size=60), st.one_of(st.none(), st.lists(amounts, max_size=80)))
def test_the_metrics_equal_the_loop_over_the_trades(
    spec: list[tuple[int, int, int, float, float, float | None, str]], mtm: list[float] | None
) -> None:
    trades = make(spec)
    expected = ref_metrics(trades, 50_000.0, mtm)
    assert same(msgspec.to_builtins(compute(trades, capital=50_000.0, mtm_equity=mtm)), expected)
    assert same(
        msgspec.to_builtins(compute(TradeColumns(trades), capital=50_000.0, mtm_equity=mtm)), expected
    )


@given(st.lists(amounts, max_size=80))
def test_the_equity_and_drawdowns_equal_the_loops(values: list[float]) -> None:
    assert same(closed_trade_equity(values), list(itertools.accumulate(values)))
    assert same(drawdown_series(values), ref_drawdowns(values))
    assert same(max_drawdown(values), max(ref_drawdowns(values), default=0.0))
    assert longest_losing_streak(values) == ref_streak(values)


def test_the_columns_keep_the_exit_order_of_sorted() -> None:
    trades = make(
        [(5, 1, 10, 1.0, 0.0, None, "b1"), (5, 1, 3, 2.0, 0.0, None, "b1"), (2, 0, 1, 3.0, 0.0, None, "b1")]
    )
    trades.append(
        msgspec.structs.replace(trades[0], fill_ids=("tie",))
    )  # the same exit and entry: kept in order
    columns = TradeColumns(trades)
    assert columns.trades == sorted(trades, key=lambda t: (t.exit_ns, t.entry_ns))
    assert columns.exit_ns.tolist() == [t.exit_ns for t in columns.trades]
    assert columns.net.tolist() == [t.net_pnl for t in columns.trades]
    assert columns.trade_ids == [t.trade_id for t in columns.trades]
    assert TradeColumns(trades, exit_order=False).trades == trades


@settings(max_examples=200, deadline=None)
@given(st.lists(trade_st, max_size=40), st.lists(amounts, max_size=50), st.booleans())
def test_the_report_equals_the_loop_over_the_trades(
    spec: list[tuple[int, int, int, float, float, float | None, str]], mtm: list[float], measured: bool
) -> None:
    trades = make(spec)
    excursions = {t.trade_id: (-abs(t.gross_pnl) / 2, 0.0) for t in trades[::2]} if measured else {}
    report = report_from_trades(trades, mtm, capital=50_000.0, excursions=excursions)
    ordered = sorted(trades, key=lambda t: (t.exit_ns, t.entry_ns))
    equity = list(itertools.accumulate(t.net_pnl for t in ordered))
    expected_equity = [
        EquityPoint(time=from_ns(t.exit_ns), equity=round(e, 2), drawdown=round(d, 2))
        for t, e, d in zip(ordered, equity, ref_drawdowns(equity), strict=True)
    ]
    assert isinstance(report, Report)
    assert same(report.trades, ref_rows(trades, excursions))
    assert same(report.equity, expected_equity)
    assert same(report.days, [_day(p) for p in ref_periods(ordered, "day")])  # the rows of these figures
    assert same(msgspec.to_builtins(report.summary), ref_metrics(trades, 50_000.0, mtm))
    bots = sorted({t.bot_id for t in trades})
    assert [b.bot_id for b in report.bots] == bots
    for row in report.bots:
        mine = [t for t in ordered if t.bot_id == row.bot_id]
        assert row.strategy == mine[-1].strategy
        assert same(msgspec.to_builtins(row.metrics), ref_metrics(mine, 50_000.0, None))
