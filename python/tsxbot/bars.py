"""Time bars (Rust) from trades or quotes, in exchange time and aware of the session.

``BarAggregator(calendar, timeframe_seconds, session=SessionKind.ETH)``: bars of 1 s .. 1 day
anchored at the session open (ETH 17:00 Chicago: 5-minute bars at 17:00, 17:05, ...; a 1-day bar
is the whole session), cut at the session close (the CME daily halt), no bars over gaps, prints
outside the session or older than the forming bar dropped and counted. ``update`` returns the bar a
trade completed (or None); ``flush(now_ns)`` closes a bar on time in a quiet market.
"""

from __future__ import annotations

from tsxbot._core import Bar, BarAggregator
from tsxbot.messages.market_data import Bar as BarMessage
from tsxbot.sessions import SessionKind, calendar_for, from_ns

__all__ = ["Bar", "BarAggregator", "SessionKind", "bar_message", "calendar_for", "timeframe_seconds"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def timeframe_seconds(timeframe: str) -> int:
    """``"5m"`` -> 300; units s, m, h, d (as in the strategies' ``timeframe``)."""
    number, unit = timeframe[:-1], timeframe[-1:]
    if unit not in _UNITS or not number.isdigit() or int(number) == 0:
        raise ValueError(f"invalid timeframe {timeframe!r} (expected e.g. 1s, 5m, 1h, 1d)")
    return int(number) * _UNITS[unit]


def bar_message(
    bar: Bar, symbol: str, timeframe: str, *, contract_id: str | None = None, complete: bool = True
) -> BarMessage:
    """The bus ``BAR`` payload for a bar (volumes are whole contracts)."""
    return BarMessage(
        symbol=symbol,
        timeframe=timeframe,
        start=from_ns(bar.start),
        end=from_ns(bar.end),
        open=bar.open,
        high=bar.high,
        low=bar.low,
        close=bar.close,
        volume=round(bar.volume),
        buy_volume=round(bar.buy_volume),
        sell_volume=round(bar.sell_volume),
        trade_count=bar.trade_count,
        contract_id=contract_id,
        complete=complete,
    )
