"""Maximum drawdown of an equity curve.

Definition: the equity curve starts at 0 (the P&L before the first point); the **maximum
drawdown** is the largest fall from a running peak to a later point,
``max_t (max_{s <= t} equity_s - equity_t)`` with the starting 0 counted as a peak. It is a
non-negative amount in USD (0 for a curve that never falls).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import accumulate


def drawdown_series(equity: Iterable[float]) -> list[float]:
    """For each point, how far it is below the running peak (>= 0)."""
    peak = 0.0
    out: list[float] = []
    for value in equity:
        peak = max(peak, value)
        out.append(peak - value)
    return out


def max_drawdown(equity: Iterable[float]) -> float:
    return max(drawdown_series(equity), default=0.0)


def closed_trade_equity(net_pnls: Iterable[float]) -> list[float]:
    """Cumulative net P&L after each closed trade (in exit order)."""
    return list(accumulate(net_pnls))


class DrawdownTracker:
    """:func:`max_drawdown` kept up to date one equity sample at a time (for live equity)."""

    __slots__ = ("current", "max_drawdown", "peak")

    def __init__(self) -> None:
        self.peak = 0.0
        self.current = 0.0
        self.max_drawdown = 0.0

    def update(self, equity: float) -> None:
        self.peak = max(self.peak, equity)
        self.current = self.peak - equity
        self.max_drawdown = max(self.max_drawdown, self.current)
