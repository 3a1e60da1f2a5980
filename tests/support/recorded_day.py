"""The simulator's own market written out as a trades recording: every print of a contract's
series (time in ns, price, size, aggressor) in the CSV format the simulator and the backtester
read back, so one file is replayed by both."""

from __future__ import annotations

import csv
from pathlib import Path

from tsxbot.sim.marketdata.series import MinuteSeries
from tsxbot.sim.marketdata.tickpath import BUY


def export_prints(
    series: MinuteSeries, symbol: str, tick: float, start_ns: int, end_ns: int, path: Path
) -> int:
    """Writes the prints of the minutes opening in ``[start_ns, end_ns)``; returns how many."""
    series.ensure(end_ns)
    count = 0
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ts_event", "symbol", "price", "size", "side"])
        for i in range(len(series.t)):
            base = int(series.t[i])
            if not start_ns <= base < end_ns:
                continue
            ticks = series.ticks(i)
            for offset, price, size, side in zip(
                ticks.offsets, ticks.prices, ticks.sizes, ticks.sides, strict=True
            ):
                writer.writerow([base + offset, symbol, price * tick, size, "B" if side == BUY else "A"])
                count += 1
    return count
