"""The closed bar a strategy receives: the Rust ``tsxbot.bars.Bar`` or the bus ``Bar`` message.

Both carry the same fields; ``BarLike`` is what a strategy may rely on. Times are integer
nanoseconds since the epoch (UTC), ``start`` inclusive, ``end`` exclusive: the bar's close is the
strategy's clock. ``closed_bar`` turns a bus ``Bar`` message (datetimes, whole contracts) into a
``ClosedBar`` with the Rust bar's shape.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from tsxbot.messages.market_data import Bar as BarMessage
from tsxbot.sessions import to_ns

__all__ = ["BarLike", "ClosedBar", "closed_bar"]


class BarLike(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...
    @property
    def delta(self) -> float: ...


class ClosedBar(msgspec.Struct, frozen=True, gc=False):
    """A bar with the Rust ``Bar``'s fields (for bars that come from the bus or from history)."""

    start: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    buy_volume: float = 0.0
    sell_volume: float = 0.0
    trade_count: int = 0

    @property
    def delta(self) -> float:
        return self.buy_volume - self.sell_volume


def closed_bar(message: BarMessage) -> ClosedBar:
    """A bus ``BAR`` payload as a ``ClosedBar`` (refuses a bar still forming: ``ValueError``)."""
    if not message.complete:
        raise ValueError(f"the {message.symbol} {message.timeframe} bar at {message.start} is still forming")
    return ClosedBar(
        start=to_ns(message.start),
        end=to_ns(message.end),
        open=message.open,
        high=message.high,
        low=message.low,
        close=message.close,
        volume=float(message.volume),
        buy_volume=float(message.buy_volume),
        sell_volume=float(message.sell_volume),
        trade_count=message.trade_count,
    )
