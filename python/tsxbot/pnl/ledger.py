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
  counts today, entirely); ``trades`` counts the trades closed by that day's fills, ``wins`` and
  ``losses`` those with net P&L > 0 / < 0. Its daily **drawdown** is the distance of its day equity
  (daily realized - daily fees + open P&L) below that equity's peak so far today (starting at 0),
  sampled at its fills and at every mark of its symbols.
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


class DayPnl(msgspec.Struct, frozen=True, kw_only=True):
    """One bot's (or the account's) trading day so far (what ``bot:{id}:pnl`` publishes)."""

    day: dt.date
    realized: float
    fees: float
    open: float
    trades: int
    wins: int
    losses: int
    drawdown: float
    max_drawdown: float

    @property
    def net(self) -> float:
        return self.realized - self.fees + self.open


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
        self._daily: dict[dt.date, dict[str, PnlFigures]] = {}
        self.mtm = DrawdownTracker()
        self.current_day: dt.date | None = None
        self._day_drawdown: dict[tuple[dt.date, str | None], DrawdownTracker] = {}
        self._day_results: dict[dt.date, dict[str, list[int]]] = {}  # wins, losses

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
        day, bot = trading_day(fill.ts_ns), fill.bot_id
        daily = self._daily.setdefault(day, {})
        daily[bot] = daily.get(bot, PnlFigures()) + PnlFigures(
            realized=matcher.realized - realized, fees=matcher.fees - fees, trades=len(closed)
        )
        for trade in closed:
            results = self._day_results.setdefault(day, {}).setdefault(bot, [0, 0])
            results[0] += trade.net_pnl > 0
            results[1] += trade.net_pnl < 0
        self.mark(fill.symbol, fill.price, fill.ts_ns)
        return closed

    def _open_of(self, bot: str | None) -> float:
        total = 0.0
        for key, matcher in self.matchers.items():
            mark = self.marks.get(key[2])
            if mark is not None and (bot is None or key[1] == bot):
                total += matcher.open_pnl(mark)
        return total

    def _track_day(self, bots: set[str]) -> None:
        day = self.current_day
        if day is None:
            return
        for bot in bots:
            f = self._daily.get(day, {}).get(bot, PnlFigures())
            self._day_drawdown.setdefault((day, bot), DrawdownTracker()).update(
                f.realized - f.fees + self._open_of(bot)
            )
        f = self.daily_total(day)
        self._day_drawdown.setdefault((day, None), DrawdownTracker()).update(
            f.realized - f.fees + self._open_of(None)
        )

    def day_pnl(self, bot: str | None = None, day: dt.date | None = None) -> DayPnl:
        """The trading day so far for ``bot`` (None: every bot); ``day`` defaults to the latest seen."""
        day = day or self.current_day or dt.date(1970, 1, 1)
        if bot is None:
            f = self.daily_total(day)
            results = self._day_results.get(day, {}).values()
            wins, losses = sum(r[0] for r in results), sum(r[1] for r in results)
        else:
            f = self._daily.get(day, {}).get(bot, PnlFigures())
            wins, losses = self._day_results.get(day, {}).get(bot, [0, 0])
        tracker = self._day_drawdown.get((day, bot), DrawdownTracker())
        return DayPnl(
            day=day,
            realized=f.realized,
            fees=f.fees,
            open=self._open_of(bot) if day == self.current_day else 0.0,
            trades=f.trades,
            wins=wins,
            losses=losses,
            drawdown=tracker.current,
            max_drawdown=tracker.max_drawdown,
        )

    def daily_by_bot(self, day: dt.date) -> dict[str, PnlFigures]:
        """Each bot's realized P&L, fees and closed trades on the trading day ``day``."""
        return dict(self._daily.get(day, {}))

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

    def mark(self, symbol: str, price: float, ts_ns: int | None = None) -> None:
        """A new price for ``symbol`` (a quote's :func:`mark_price`, or a fill's price)."""
        if ts_ns is not None:
            day = trading_day(ts_ns)
            if self.current_day is None or day > self.current_day:
                self.current_day = day
        self.marks[symbol] = price
        bots: set[str] = set()
        for (_, bot, sym), matcher in self.matchers.items():
            if sym == symbol:
                matcher.mark(price)
                bots.add(bot)
        self.mtm.update(self.total().net)
        self._track_day(bots)

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
