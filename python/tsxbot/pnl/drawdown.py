"""Maximum drawdown of an equity curve.

Definition: the equity curve starts at 0 (the P&L before the first point); the **maximum
drawdown** is the largest fall from a running peak to a later point,
``max_t (max_{s <= t} equity_s - equity_t)`` with the starting 0 counted as a peak. It is a
non-negative amount in USD (0 for a curve that never falls).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

Equity = Iterable[float] | npt.NDArray[np.float64]


def _values(equity: Equity) -> npt.NDArray[np.float64]:
    if isinstance(equity, np.ndarray):
        return equity.astype(np.float64, copy=False)
    return np.asarray(equity if isinstance(equity, Sequence) else list(equity), dtype=np.float64)


def _drawdowns(equity: Equity) -> npt.NDArray[np.float64]:
    values = _values(equity)
    peaks = np.maximum.accumulate(values) if len(values) else values
    # The running peak from a starting 0 (+0.0 while nothing rose above it, never -0.0).
    peaks = np.where(peaks > 0.0, peaks, 0.0)
    return peaks - values


def drawdown_series(equity: Equity) -> list[float]:
    """For each point, how far it is below the running peak (>= 0)."""
    return _drawdowns(equity).tolist()  # type: ignore[no-any-return]


def max_drawdown(equity: Equity) -> float:
    drawdowns = _drawdowns(equity)
    return float(drawdowns.max()) if len(drawdowns) else 0.0


def closed_trade_equity(net_pnls: Equity) -> list[float]:
    """Cumulative net P&L after each closed trade (in exit order; added one after the other)."""
    return np.cumsum(_values(net_pnls)).tolist()  # type: ignore[no-any-return]


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
