"""The previous session's high, low and close, from closed bars.

``SessionLevels(clock, window=None)`` takes every closed bar (``update``); a bar belongs to the
session of its ETH trading date (``tsxbot.sessions``: Sunday evening's bars are Monday's), and,
with ``window=(start, end)`` (minutes of the day, exchange time), only when it starts inside that
window (e.g. the regular session 08:30-15:15). ``previous`` is the last completed session before
the current trading day: Monday's is Friday's, a day without data is skipped, and it stays fixed
for the whole trading day.
"""

from __future__ import annotations

import msgspec

from tsxbot.strategy.bar import BarLike
from tsxbot.strategy.clock import ExchangeClock

__all__ = ["DayLevels", "SessionLevels"]


class DayLevels(msgspec.Struct, frozen=True):
    trading_date: int
    high: float
    low: float
    close: float

    @property
    def mid(self) -> float:
        return (self.high + self.low) / 2


class SessionLevels:
    __slots__ = ("_close", "_date", "_high", "_low", "clock", "previous", "window")

    def __init__(self, clock: ExchangeClock, window: tuple[int, int] | None = None) -> None:
        self.clock = clock
        self.window = window
        self.previous: DayLevels | None = None
        self._date: int | None = None
        self._high = self._low = self._close = 0.0

    def update(self, bar: BarLike) -> None:
        day = self.clock.trading_date(bar.start)
        if day is None:
            return
        if self._date is not None and self._date < day:
            self.previous = DayLevels(self._date, self._high, self._low, self._close)
            self._date = None
        if self.window is not None and not self.clock.in_window(bar.start, *self.window):
            return
        if self._date is None:
            self._date = day
            self._high, self._low = bar.high, bar.low
        else:
            self._high = max(self._high, bar.high)
            self._low = min(self._low, bar.low)
        self._close = bar.close
