"""Realized and open P&L per trade, bot, strategy and account, from fills and quotes.

Definitions (one each):

* **Realized P&L** (gross): the FIFO-matched P&L of every closed quantity so far, including partial
  exits of a trade still open (see :mod:`tsxbot.pnl.matching`).
* **Fees**: everything the fills were charged so far, entries and exits.
* **Open P&L**: the open lots marked to the symbol's latest mark price (:func:`mark_price`).
* **Net P&L** = realized - fees + open.
* A bot's figures are its (bot, symbol) matchers summed; a strategy's and an account's are their
  bots' figures summed.
* **Mark-to-market equity** is the total net P&L (all bots) sampled after every fill (the
  symbol marked at the fill's price) and every mark; its maximum drawdown is kept as it goes.
* A bot's **daily** realized P&L and fees are those of its fills whose CME trading day
  (:func:`tsxbot.pnl.periods.trading_day`) is that day (a trade closed today that opened yesterday
  counts today, entirely); ``trades`` counts the trades closed by that day's fills.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import msgspec

from tsxbot.pnl.contract import ContractSpec
from tsxbot.pnl.drawdown import DrawdownTracker
from tsxbot.pnl.execution_record import Execution
from tsxbot.pnl.matching import FifoMatcher, RoundTrip
from tsxbot.pnl.periods import trading_day


class UnknownSymbolError(KeyError):
    """A fill for a symbol the ledger has no contract spec for."""


def mark_price(bid: float | None, ask: float | None, last: float | None) -> float | None:
    """The price open positions are marked at: the bid/ask midpoint when both sides are quoted,
    else the last trade price, else none."""
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return last


class PnlFigures(msgspec.Struct, frozen=True, kw_only=True):
    realized: float = 0.0
    fees: float = 0.0
    open: float = 0.0
    trades: int = 0
    position: int = 0

    @property
    def net(self) -> float:
        return self.realized - self.fees + self.open

    def __add__(self, other: PnlFigures) -> PnlFigures:
        return PnlFigures(
            realized=self.realized + other.realized,
            fees=self.fees + other.fees,
            open=self.open + other.open,
            trades=self.trades + other.trades,
            position=self.position + other.position,
        )


MatcherKey = tuple[int | None, str, str]  # account, bot, symbol


class Ledger:
    """Every (account, bot, symbol)'s FIFO matcher, the closed trades and the latest marks."""

    def __init__(self, specs: Callable[[str], ContractSpec] | dict[str, ContractSpec]) -> None:
        self._specs = specs
        self.matchers: dict[MatcherKey, FifoMatcher] = {}
        self.trades: list[RoundTrip] = []
        self.marks: dict[str, float] = {}
        self._trade_counts: dict[MatcherKey, int] = {}
        self.fill_ids: set[str] = set()
        self._daily: dict[tuple[dt.date, str], PnlFigures] = {}
        self.mtm = DrawdownTracker()

    def spec(self, symbol: str) -> ContractSpec:
        if isinstance(self._specs, dict):
            try:
                return self._specs[symbol]
            except KeyError:
                raise UnknownSymbolError(f"no contract spec for symbol {symbol!r}") from None
        return self._specs(symbol)

    def apply(self, fill: Execution) -> list[RoundTrip]:
        key = (fill.account_id, fill.bot_id, fill.symbol)
        matcher = self.matchers.get(key)
        if matcher is None:
            matcher = self.matchers[key] = FifoMatcher(self.spec(fill.symbol), fill.bot_id, fill.account_id)
        realized, fees = matcher.realized, matcher.fees
        closed = matcher.add(fill)
        self.fill_ids.add(fill.fill_id)
        self.trades.extend(closed)
        self._trade_counts[key] = self._trade_counts.get(key, 0) + len(closed)
        day_key = (trading_day(fill.ts_ns), fill.bot_id)
        self._daily[day_key] = self._daily.get(day_key, PnlFigures()) + PnlFigures(
            realized=matcher.realized - realized, fees=matcher.fees - fees, trades=len(closed)
        )
        self.mark(fill.symbol, fill.price)
        return closed

    def daily_by_bot(self, day: dt.date) -> dict[str, PnlFigures]:
        """Each bot's realized P&L, fees and closed trades on the trading day ``day``."""
        return {bot: figures for (d, bot), figures in self._daily.items() if d == day}

    def daily_total(self, day: dt.date) -> PnlFigures:
        out = PnlFigures()
        for figures in self.daily_by_bot(day).values():
            out = out + figures
        return out

    def apply_all(self, fills: Iterable[Execution]) -> list[RoundTrip]:
        closed: list[RoundTrip] = []
        for fill in fills:
            closed.extend(self.apply(fill))
        return closed

    def mark(self, symbol: str, price: float) -> None:
        self.marks[symbol] = price
        for (_, _, sym), matcher in self.matchers.items():
            if sym == symbol:
                matcher.mark(price)
        self.mtm.update(self.total().net)

    def _figures(self, key: MatcherKey, matcher: FifoMatcher) -> PnlFigures:
        mark = self.marks.get(key[2])
        return PnlFigures(
            realized=matcher.realized,
            fees=matcher.fees,
            open=matcher.open_pnl(mark) if mark is not None else 0.0,
            trades=self._trade_counts.get(key, 0),
            position=matcher.position,
        )

    def _group(self, label: Callable[[MatcherKey, FifoMatcher], str]) -> dict[str, PnlFigures]:
        out: dict[str, PnlFigures] = {}
        for key, matcher in self.matchers.items():
            name = label(key, matcher)
            out[name] = out.get(name, PnlFigures()) + self._figures(key, matcher)
        return out

    def by_bot(self) -> dict[str, PnlFigures]:
        return self._group(lambda key, _: key[1])

    def by_strategy(self) -> dict[str, PnlFigures]:
        return self._group(lambda _, matcher: matcher.strategy)

    def by_account(self) -> dict[str, PnlFigures]:
        return self._group(lambda key, _: str(key[0]))

    def total(self) -> PnlFigures:
        out = PnlFigures()
        for key, matcher in self.matchers.items():
            out = out + self._figures(key, matcher)
        return out
