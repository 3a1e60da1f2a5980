"""The manual trading page (``services.manualTrading``, port 7400): a live candle chart with the
position's lines, positions and working orders, moving a stop or target, flatten all. The order
ticket is not built yet (it needs a ``manual`` bot at the aggregator)."""

from tsxbot.manual_trading.service import ManualTrading

__all__ = ["ManualTrading"]
