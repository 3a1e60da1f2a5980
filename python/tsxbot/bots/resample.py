"""The connection manager publishes one-minute bars; a strategy on a longer timeframe (``5m``)
gets them combined here, on the timeframe's grid (a 5-minute bar starts at :00, :05, ...)."""

from __future__ import annotations

from tsxbot.strategy.bar import ClosedBar

__all__ = ["BarResampler"]


class BarResampler:
    """``add(bar)`` takes a closed bar of the source timeframe and returns the bars of the
    target timeframe it completes (none, one, or two when a bucket was left unfinished by a gap)."""

    def __init__(self, seconds: int) -> None:
        self.step = seconds * 1_000_000_000
        self._current: ClosedBar | None = None

    @property
    def passthrough(self) -> bool:
        return self.step <= 60 * 1_000_000_000

    def add(self, bar: ClosedBar) -> list[ClosedBar]:
        if self.passthrough:
            return [bar]
        out: list[ClosedBar] = []
        bucket = bar.start // self.step * self.step
        current = self._current
        if current is not None and current.start != bucket:
            out.append(current)  # a bucket whose last bars never came (a gap, the session's end)
            current = None
        if current is None:
            current = ClosedBar(
                start=bucket,
                end=bucket + self.step,
                open=bar.open,
                high=bar.high,
                low=bar.low,
                close=bar.close,
                volume=bar.volume,
                buy_volume=bar.buy_volume,
                sell_volume=bar.sell_volume,
                trade_count=bar.trade_count,
            )
        else:
            current = ClosedBar(
                start=current.start,
                end=current.end,
                open=current.open,
                high=max(current.high, bar.high),
                low=min(current.low, bar.low),
                close=bar.close,
                volume=current.volume + bar.volume,
                buy_volume=current.buy_volume + bar.buy_volume,
                sell_volume=current.sell_volume + bar.sell_volume,
                trade_count=current.trade_count + bar.trade_count,
            )
        if bar.end >= current.end:
            out.append(current)
            self._current = None
        else:
            self._current = current
        return out
