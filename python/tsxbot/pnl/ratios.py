"""Sharpe and Sortino ratios on daily returns.

Definitions:

* A **daily return** is the trading day's net P&L divided by the account's capital (its starting
  balance). The series covers every weekday from the first to the last trading day of the period,
  a day without a closed trade returning 0.
* **Sharpe** = mean(daily returns) / sample standard deviation (n - 1) x sqrt(252), risk-free rate 0.
* **Sortino** = mean(daily returns) / downside deviation x sqrt(252), where the downside deviation
  is ``sqrt(mean(min(r, 0)^2))`` over all days.
* Both are undefined (None) with fewer than two days or a zero denominator.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

TRADING_DAYS_PER_YEAR = 252


def daily_returns(daily_net: Mapping[dt.date, float], capital: float) -> list[float]:
    if capital <= 0:
        raise ValueError(f"capital must be > 0, got {capital}")
    if not daily_net:
        return []
    day, last = min(daily_net), max(daily_net)
    out: list[float] = []
    while day <= last:
        if day.isoweekday() <= 5:
            out.append(daily_net.get(day, 0.0) / capital)
        day += dt.timedelta(days=1)
    return out


def sharpe(returns: Sequence[float]) -> float | None:
    n = len(returns)
    if n < 2:
        return None
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    if var <= 0:
        return None
    return mean / math.sqrt(var) * math.sqrt(TRADING_DAYS_PER_YEAR)


def sortino(returns: Sequence[float]) -> float | None:
    n = len(returns)
    if n < 2:
        return None
    mean = math.fsum(returns) / n
    downside = math.sqrt(math.fsum(min(r, 0.0) ** 2 for r in returns) / n)
    if downside <= 0:
        return None
    return mean / downside * math.sqrt(TRADING_DAYS_PER_YEAR)
