"""P&L from fills: FIFO round trips, realized and open P&L, periods, metrics, execution quality.

Pure computation, no I/O: the same code serves live trading, the simulator and the backtester.
One concept per module; each module's docstring holds the definitions of the figures it computes.
"""

from tsxbot.pnl.contract import ContractSpec, default_fee_per_side, spec_for
from tsxbot.pnl.drawdown import closed_trade_equity, drawdown_series, max_drawdown
from tsxbot.pnl.execution_quality import FillRate, OrderOutcome, Slippage, fill_rates, slippage
from tsxbot.pnl.execution_record import Execution
from tsxbot.pnl.ledger import DayPnl, Ledger, PnlFigures, UnknownSymbolError, mark_price
from tsxbot.pnl.matching import FifoMatcher, Lot, MatchError, RoundTrip
from tsxbot.pnl.metrics import TradeMetrics, compute, longest_losing_streak
from tsxbot.pnl.periods import PeriodFigures, daily, monthly, trading_day, weekly
from tsxbot.pnl.ratios import daily_returns, sharpe, sortino

__all__ = [
    "ContractSpec",
    "DayPnl",
    "Execution",
    "FifoMatcher",
    "FillRate",
    "Ledger",
    "Lot",
    "MatchError",
    "OrderOutcome",
    "PeriodFigures",
    "PnlFigures",
    "RoundTrip",
    "Slippage",
    "TradeMetrics",
    "UnknownSymbolError",
    "closed_trade_equity",
    "compute",
    "daily",
    "daily_returns",
    "default_fee_per_side",
    "drawdown_series",
    "fill_rates",
    "longest_losing_streak",
    "mark_price",
    "max_drawdown",
    "monthly",
    "sharpe",
    "slippage",
    "sortino",
    "spec_for",
    "trading_day",
    "weekly",
]
