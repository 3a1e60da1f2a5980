"""Walk-forward windows: ``IN`` trading days in sample, the next ``OUT`` out of sample, rolled
forward by ``OUT`` days until the data ends (a last window shorter than ``OUT`` is dropped)."""

from __future__ import annotations

from tsxbot.backtest import MinuteBars
from tsxbot.pnl.periods import trading_day

__all__ = ["windows"]


def windows(bars: MinuteBars, in_days: int, out_days: int) -> list[tuple[MinuteBars, MinuteBars]]:
    if in_days < 1 or out_days < 1:
        return []
    days = [trading_day(int(t)) for t in bars.t.tolist()]
    starts: list[int] = []  # the index of each trading day's first bar
    for i, day in enumerate(days):
        if i == 0 or day != days[i - 1]:
            starts.append(i)
    starts.append(len(days))
    out: list[tuple[MinuteBars, MinuteBars]] = []
    first = 0
    while first + in_days + out_days < len(starts):
        a, b, c = starts[first], starts[first + in_days], starts[first + in_days + out_days]
        out.append((_slice(bars, a, b), _slice(bars, b, c)))
        first += out_days
    return out


def _slice(bars: MinuteBars, a: int, b: int) -> MinuteBars:
    end = int(bars.t[b]) if b < len(bars.t) else int(bars.t[-1]) + bars.duration
    return bars.between(int(bars.t[a]), end)
