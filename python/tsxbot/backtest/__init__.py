"""The backtester: a bot's strategy on history through the same code as live (``runner``), the
bars fill model (``fill_model``), the data it reads (``data``) and what it gives back (``result``).
"""

from tsxbot.backtest.data import DataError, MinuteBars, load_bars, synthetic_bars
from tsxbot.backtest.fill_model import FillSettings
from tsxbot.backtest.result import SCHEMA_VERSION, BacktestResult, BacktestTrade, FillRow, write_trades_csv
from tsxbot.backtest.runner import Backtest, StrategyError

__all__ = [
    "SCHEMA_VERSION",
    "Backtest",
    "BacktestResult",
    "BacktestTrade",
    "DataError",
    "FillRow",
    "FillSettings",
    "MinuteBars",
    "StrategyError",
    "load_bars",
    "synthetic_bars",
    "write_trades_csv",
]
