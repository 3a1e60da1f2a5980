"""How each product's synthetic market behaves: start price, daily volatility and volume.

Micro contracts follow their mini's price path (``underlying``), with their own volume, the way
MES trades at ES's price on the real exchange.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketProfile:
    underlying: str
    start_price: float
    daily_volatility: float  # standard deviation of the daily log return
    daily_volume: int
    avg_trade_size: float
    depth_size: int  # typical resting size at the best level in RTH


_MINIS: dict[str, MarketProfile] = {
    "ES": MarketProfile("ES", 6000.0, 0.011, 1_400_000, 3.0, 25),
    "NQ": MarketProfile("NQ", 21000.0, 0.014, 550_000, 2.0, 8),
    "YM": MarketProfile("YM", 44000.0, 0.010, 150_000, 1.5, 4),
    "RTY": MarketProfile("RTY", 2300.0, 0.015, 150_000, 1.8, 6),
    "GC": MarketProfile("GC", 2650.0, 0.012, 220_000, 1.7, 5),
    "CL": MarketProfile("CL", 70.0, 0.022, 320_000, 1.8, 10),
}
_MICROS = {"MES": "ES", "MNQ": "NQ", "MYM": "YM", "M2K": "RTY", "MGC": "GC", "MCL": "CL"}
_MICRO_VOLUME_SHARE = 0.6


def profile_for(symbol: str, tick_size: float) -> MarketProfile:
    """The profile of a known symbol; unknown symbols get a generic one of their own."""
    if symbol in _MINIS:
        return _MINIS[symbol]
    mini = _MICROS.get(symbol)
    if mini is not None:
        base = _MINIS[mini]
        return MarketProfile(
            underlying=mini,
            start_price=base.start_price,
            daily_volatility=base.daily_volatility,
            daily_volume=int(base.daily_volume * _MICRO_VOLUME_SHARE),
            avg_trade_size=max(1.0, base.avg_trade_size * 0.8),
            depth_size=base.depth_size * 3,
        )
    return MarketProfile(symbol, tick_size * 20_000, 0.012, 100_000, 1.5, 5)
