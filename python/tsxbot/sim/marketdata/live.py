"""One contract's live market: replays the series' prints up to the clock, keeps the last price,
the best bid and ask, a book around them, and the session's open, high, low and volume.

A contract nobody watches is not stepped print by print: ``jump_to`` recomputes its state for
any instant straight from the series, so idle contracts cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tsxbot.gateway.enums import TradeLogType
from tsxbot.sim.contracts import Contract
from tsxbot.sim.marketdata.profiles import MarketProfile
from tsxbot.sim.marketdata.series import MinuteSeries, stable_hash
from tsxbot.sim.sessions import MINUTE_NS, Session

BUY = int(TradeLogType.BUY)

PrintHandler = Callable[["ContractMarket", int, int, int, int], None]
"""(market, ns, price ticks, size, aggressor side) for every print, in time order."""


class ContractMarket:
    def __init__(self, contract: Contract, series: MinuteSeries, profile: MarketProfile, depth_levels: int):
        self.contract = contract
        self.series = series
        self.profile = profile
        self.depth_levels = depth_levels
        self.calendar = contract.calendar
        self.cursor_ns = -1
        self.minute_i = 0
        self.tick_j = 0
        self.last: int | None = None
        self.last_size = 0
        self.last_side = BUY
        self.last_ns = 0
        self.bid: int | None = None
        self.ask: int | None = None
        self.session: Session | None = None
        self.open = 0
        self.high = 0
        self.low = 0
        self.volume = 0
        self.prev_close: int | None = None
        # What simulated orders took from the book since the last print (price -> size).
        self.consumed: dict[int, int] = {}
        self._template_i = -1
        self._template: tuple[list[int], list[int]] = ([], [])
        self._mean_minute_volume = max(1.0, profile.daily_volume / 1380.0)

    # --- moving the market ---------------------------------------------------------------------
    def jump_to(self, ns: int) -> None:
        """Sets the state as of ``ns`` without playing the prints (no events)."""
        series = self.series
        i = series.index_at(ns)
        self.cursor_ns = ns
        self.consumed.clear()
        if i < 0:
            self.minute_i, self.tick_j = 0, 0
            return
        base = int(series.t[i])
        j = 0
        if ns < base + series.bar_duration(i):
            offsets = series.ticks(i).offsets
            j = int(np.searchsorted(np.asarray(offsets), ns - base, side="right"))
            self.minute_i, self.tick_j = i, j
        else:
            self.minute_i, self.tick_j = i + 1, 0
        # The last print and the session it belongs to.
        if j > 0:
            path = series.ticks(i)
            bar_i, last, size, side = i, path.prices[j - 1], path.sizes[j - 1], path.sides[j - 1]
            last_ns = base + path.offsets[j - 1]
        else:
            bar_i = i - 1 if ns < base + series.bar_duration(i) else i
            if bar_i < 0:
                return
            path = series.ticks(bar_i)
            last, size, side = path.prices[-1], path.sizes[-1], path.sides[-1]
            last_ns = int(series.t[bar_i]) + path.offsets[-1]
        self._set_last(last_ns, last, size, side)
        session = self.calendar.session_at(int(series.t[bar_i]))
        self.session = session
        k0 = int(np.searchsorted(series.t, session.open_ns, side="left")) if session else bar_i
        self.prev_close = int(series.c[k0 - 1]) if k0 > 0 else int(series.o[k0])
        self.open = int(series.o[k0])
        whole = slice(k0, bar_i if j > 0 else bar_i + 1)
        highs = [int(series.h[whole].max())] if whole.stop > whole.start else []
        lows = [int(series.low[whole].min())] if whole.stop > whole.start else []
        volume = int(series.v[whole].sum())
        if j > 0:
            prefix = series.ticks(i)
            highs.append(max(prefix.prices[:j]))
            lows.append(min(prefix.prices[:j]))
            volume += sum(prefix.sizes[:j])
        self.high, self.low, self.volume = max(highs), min(lows), volume

    def advance(self, ns: int, on_print: PrintHandler) -> int:
        """Plays every print up to and including ``ns``; returns how many."""
        if ns <= self.cursor_ns:
            return 0
        series = self.series
        series.ensure(ns)
        count = 0
        t = series.t
        while self.minute_i < len(t) and int(t[self.minute_i]) <= ns:
            i = self.minute_i
            base = int(t[i])
            path = series.ticks(i)
            offsets, prices, sizes, sides = path.offsets, path.prices, path.sizes, path.sides
            n = len(offsets)
            j = self.tick_j
            while j < n:
                when = base + offsets[j]
                if when > ns:
                    self.tick_j = j
                    self.cursor_ns = ns
                    return count
                self.tick_j = j + 1
                self._print(when, prices[j], sizes[j], sides[j])
                on_print(self, when, prices[j], sizes[j], sides[j])
                count += 1
                j += 1
            self.minute_i += 1
            self.tick_j = 0
        self.cursor_ns = ns
        return count

    def _set_last(self, ns: int, price: int, size: int, side: int) -> None:
        self.last, self.last_size, self.last_side, self.last_ns = price, size, side, ns
        if side == BUY:
            self.ask, self.bid = price, price - 1
        else:
            self.bid, self.ask = price, price + 1

    def _print(self, ns: int, price: int, size: int, side: int) -> None:
        session = self.session
        if session is None or ns >= session.close_ns:
            self.session = self.calendar.session_at(ns)
            self.prev_close = self.last if self.last is not None else price
            self.open = self.high = self.low = price
            self.volume = 0
        self._set_last(ns, price, size, side)
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.volume += size
        if self.consumed:
            self.consumed.clear()

    # --- the book ------------------------------------------------------------------------------
    def is_open(self, ns: int) -> bool:
        return self.calendar.session_at(ns) is not None

    def _depth_template(self) -> tuple[list[int], list[int]]:
        i = min(self.minute_i, len(self.series.t) - 1)
        if i != self._template_i and i >= 0:
            rng = np.random.default_rng(
                [self.series.seed, stable_hash(self.contract.symbol), int(self.series.t[i]) // MINUTE_NS, 2]
            )
            liquidity = min(3.0, max(0.15, float(self.series.v[i]) / self._mean_minute_volume))
            levels = np.arange(self.depth_levels)
            base = self.profile.depth_size * liquidity * (1.0 + 0.25 * levels)
            bids = np.maximum(1, np.rint(base * np.exp(0.4 * rng.standard_normal(self.depth_levels))))
            asks = np.maximum(1, np.rint(base * np.exp(0.4 * rng.standard_normal(self.depth_levels))))
            self._template = ([int(x) for x in bids], [int(x) for x in asks])
            self._template_i = i
        return self._template

    def book(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks) as (price ticks, size) from the best level outwards, less what simulated
        orders have taken since the last print."""
        if self.bid is None or self.ask is None:
            return [], []
        bid_sizes, ask_sizes = self._depth_template()
        wobble = 0.5 + ((self.tick_j * 37) % 11) / 10.0
        consumed = self.consumed
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        for k in range(self.depth_levels):
            scale = wobble if k < 2 else 1.0
            bp, ap = self.bid - k, self.ask + k
            bs = max(1, int(bid_sizes[k] * scale)) - consumed.get(bp, 0)
            a_s = max(1, int(ask_sizes[k] * scale)) - consumed.get(ap, 0)
            if bp > 0:
                bids.append((bp, max(0, bs)))
            asks.append((ap, max(0, a_s)))
        return bids, asks
