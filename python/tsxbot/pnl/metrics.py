"""Trade statistics over a set of closed round trips, one definition each.

* **trades**: the number of closed round trips (see :mod:`tsxbot.pnl.matching`).
* **gross P&L**: sum of the trades' gross P&L; **fees**: sum of their fees; **net P&L** = gross - fees.
* A **win** is a trade with net P&L > 0, a **loss** one with net P&L < 0 (net 0 is a scratch).
* **win rate** = wins / trades.
* **profit factor** = sum of the wins' net P&L / |sum of the losses' net P&L| (None without a loss).
* **expectancy** = net P&L / trades (the mean net P&L per trade).
* **average win** / **average loss**: mean net P&L of the wins / of the losses (the loss is < 0).
* **largest win** / **largest loss**: the highest net P&L of a win / the lowest of a loss.
* **longest losing streak**: the most consecutive losses in exit order (a win or a scratch ends it).
* **max drawdown (closed trades)**: :func:`tsxbot.pnl.drawdown.max_drawdown` of the cumulative net
  P&L after each trade in exit order; **(mark-to-market)**: of the mark-to-market equity samples
  (realized - fees + open, taken at every fill and mark), when given.
* **Sharpe**, **Sortino**: :mod:`tsxbot.pnl.ratios` on the daily net P&L (:mod:`tsxbot.pnl.periods`).
* **average R**: mean R multiple of the trades that have one; **average MAE/MFE**, **average time
  in trade**: means over all trades.

Undefined figures (a ratio with a zero denominator, an average of nothing) are None, never 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from tsxbot._core import SessionCalendar
from tsxbot.pnl.columns import TradeColumns
from tsxbot.pnl.drawdown import closed_trade_equity, max_drawdown
from tsxbot.pnl.matching import RoundTrip
from tsxbot.pnl.periods import PeriodFigures, daily
from tsxbot.pnl.ratios import daily_returns, sharpe, sortino


class TradeMetrics(msgspec.Struct, frozen=True, kw_only=True):
    trades: int
    gross_pnl: float
    fees: float
    net_pnl: float
    wins: int
    losses: int
    win_rate: float | None
    profit_factor: float | None
    expectancy: float | None
    average_win: float | None
    average_loss: float | None
    largest_win: float | None
    largest_loss: float | None
    longest_losing_streak: int
    max_drawdown_closed: float
    max_drawdown_mtm: float | None
    sharpe: float | None
    sortino: float | None
    average_r: float | None
    average_mae: float | None
    average_mfe: float | None
    average_time_in_trade_s: float | None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def longest_losing_streak(nets: Sequence[float] | npt.NDArray[np.float64]) -> int:
    losing = np.asarray(nets, dtype=np.float64) < 0
    if not losing.any():
        return 0
    # Each run of losses starts where ``losing`` turns on and ends where it turns off.
    edges = np.diff(np.concatenate(([False], losing, [False])).astype(np.int8))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def compute(
    trades: Sequence[RoundTrip] | TradeColumns,
    *,
    capital: float,
    mtm_equity: Sequence[float] | None = None,
    calendar: SessionCalendar | None = None,
    days: Sequence[PeriodFigures] | None = None,
) -> TradeMetrics:
    """``trades``: the round trips, or their columns (``TradeColumns``, built once by a caller
    that needs them for more than the metrics); ``days``: ``daily(trades, calendar)`` when the
    caller has it already."""
    columns = trades if isinstance(trades, TradeColumns) else TradeColumns(trades)
    net = columns.net
    nets: list[float] = net.tolist()
    wins: list[float] = net[net > 0].tolist()
    losses: list[float] = net[net < 0].tolist()
    gross = math.fsum(columns.gross.tolist())
    fees = math.fsum(columns.fees.tolist())
    n = len(columns)
    day_net = {
        dt.date.fromisoformat(p.period): p.net
        for p in (days if days is not None else daily(columns, calendar))
    }
    returns = daily_returns(day_net, capital)
    rs = [r for r in columns.r_multiple if r is not None]
    return TradeMetrics(
        trades=n,
        gross_pnl=gross,
        fees=fees,
        net_pnl=gross - fees,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / n if n else None,
        profit_factor=math.fsum(wins) / -math.fsum(losses) if losses else None,
        expectancy=math.fsum(nets) / n if n else None,
        average_win=_mean(wins),
        average_loss=_mean(losses),
        largest_win=max(wins) if wins else None,
        largest_loss=min(losses) if losses else None,
        longest_losing_streak=longest_losing_streak(net),
        max_drawdown_closed=max_drawdown(closed_trade_equity(net)),
        max_drawdown_mtm=max_drawdown(mtm_equity) if mtm_equity is not None else None,
        sharpe=sharpe(returns),
        sortino=sortino(returns),
        average_r=_mean(rs),
        average_mae=_mean(columns.mae.tolist()),
        average_mfe=_mean(columns.mfe.tolist()),
        average_time_in_trade_s=_mean(columns.seconds_in_trade.tolist()),
    )
