"""Closed round trips as columns, built once: what the metrics (:mod:`tsxbot.pnl.metrics`), the
periods (:mod:`tsxbot.pnl.periods`) and the report read of each trade, one array per figure,
instead of every figure walking the trades' attributes again.

Nothing is defined here: each figure keeps its one definition in its module (a trade's net P&L,
R multiple and duration in :mod:`tsxbot.pnl.matching`, the trading day in
:mod:`tsxbot.pnl.periods`). The columns only carry the trades' own values, so every figure
computed from them is, bit for bit, the one a loop over the trades gives (tests/pnl/test_columns.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from tsxbot._core import SessionCalendar
from tsxbot.pnl.matching import RoundTrip

__all__ = ["TradeColumns", "exit_ordered"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class TradeColumns:
    """``trades`` with one column per figure (``exit_order``: sorted by exit time, then entry
    time, stably, as the metrics and the report order them; else in the order given)."""

    __slots__ = ("_days", "_ids", "_r", "entry_ns", "exit_ns", "fees", "gross", "mae", "mfe", "net", "trades")

    def __init__(self, trades: Iterable[RoundTrip], *, exit_order: bool = True) -> None:
        listed = list(trades)
        n = len(listed)
        exit_ns = np.fromiter((t.exit_ns for t in listed), np.int64, n)
        entry_ns = np.fromiter((t.entry_ns for t in listed), np.int64, n)
        if exit_order and not exit_ordered(exit_ns, entry_ns):
            order = np.lexsort((entry_ns, exit_ns))  # stable, as sorted(key=(exit, entry))
            listed = [listed[i] for i in order.tolist()]
            exit_ns, entry_ns = exit_ns[order], entry_ns[order]
        self.trades = listed
        self.exit_ns: Ints = exit_ns
        self.entry_ns: Ints = entry_ns
        self.gross: Floats = np.fromiter((t.gross_pnl for t in listed), np.float64, n)
        self.fees: Floats = np.fromiter((t.fees for t in listed), np.float64, n)
        # RoundTrip.net_pnl (gross - fees), one IEEE subtraction each as there.
        self.net: Floats = self.gross - self.fees
        self.mae: Floats = np.fromiter((t.mae for t in listed), np.float64, n)
        self.mfe: Floats = np.fromiter((t.mfe for t in listed), np.float64, n)
        self._r: list[float | None] | None = None
        self._ids: list[str] | None = None
        self._days: Ints | None = None

    def __len__(self) -> int:
        return len(self.trades)

    @property
    def trade_ids(self) -> list[str]:
        """Each trade's ``RoundTrip.trade_id``."""
        if self._ids is None:
            self._ids = [t.trade_id for t in self.trades]
        return self._ids

    @property
    def r_multiple(self) -> list[float | None]:
        """Each trade's ``RoundTrip.r_multiple`` (None without an initial risk)."""
        if self._r is None:
            self._r = [t.r_multiple for t in self.trades]
        return self._r

    @property
    def seconds_in_trade(self) -> Floats:
        """Each trade's ``duration_ns / 1e9`` (the int to float conversion and the division as
        Python does them)."""
        return (self.exit_ns - self.entry_ns) / 1e9

    def trading_days(self, calendar: SessionCalendar | None = None) -> Ints:
        """Each trade's exit trading day (``pnl.periods.trading_day``) as a date ordinal."""
        from tsxbot.pnl.periods import trading_day_ordinals

        if calendar is not None:
            return trading_day_ordinals(self.exit_ns, calendar)
        if self._days is None:
            self._days = trading_day_ordinals(self.exit_ns, None)
        return self._days


def exit_ordered(exit_ns: Ints, entry_ns: Ints) -> bool:
    """Whether the pairs ``(exit, entry)`` are already in (non-decreasing) order."""
    later = exit_ns[1:] > exit_ns[:-1]
    same = exit_ns[1:] == exit_ns[:-1]
    return bool(np.all(later | (same & (entry_ns[1:] >= entry_ns[:-1]))))
