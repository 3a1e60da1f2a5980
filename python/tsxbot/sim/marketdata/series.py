"""One contract's market history as one-minute bars plus the prints inside each bar, from the
synthetic generator or from a recording. The live feed, the matching engine and the History
endpoint all read this one series, so bars and prints always agree."""

from __future__ import annotations

import datetime as dt
import zlib
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from tsxbot.sim.marketdata.profiles import MarketProfile
from tsxbot.sim.marketdata.synthetic import (
    MIN_MINUTE_VOLUME,
    GeneratorState,
    IntArray,
    MinuteBlock,
    generate_session,
)
from tsxbot.sim.marketdata.tickpath import TickPath, tick_path
from tsxbot.sim.sessions import MINUTE_NS, SessionCalendar

_EMPTY = np.empty(0, dtype=np.int64)


def stable_hash(text: str) -> int:
    return zlib.crc32(text.encode())


class UnderlyingGenerator:
    """Sessions of one product's price path, generated in order from ``history_days`` sessions
    before the start and extended as the clock moves on. Shared by a mini and its micro."""

    def __init__(
        self,
        profile: MarketProfile,
        calendar: SessionCalendar,
        tick_size: float,
        seed: int,
        start_ns: int,
        history_days: int,
    ) -> None:
        self.profile = profile
        self.calendar = calendar
        self.tick_size = tick_size
        self.seed = seed
        self.blocks: list[MinuteBlock] = []
        first = calendar.sessions_before(start_ns, history_days)[0]
        self._next_date = first.trading_date
        start_rng = np.random.default_rng([seed, stable_hash(profile.underlying), 0])
        start_price = profile.start_price * float(np.exp(0.05 * start_rng.standard_normal()))
        self.state = GeneratorState(close_ticks=max(1, round(start_price / tick_size)))
        self.version = 0

    def extend_to(self, ns: int) -> bool:
        """Generates every session that opens before ``ns`` plus the one after; True if any."""
        added = False
        while not self.blocks or self.blocks[-1].session.open_ns <= ns:
            day = self._next_date
            self._next_date = day + dt.timedelta(days=1)
            session = self.calendar.session_on(day)
            if session is None:
                continue
            rng = np.random.default_rng([self.seed, stable_hash(self.profile.underlying), day.toordinal()])
            self.blocks.append(generate_session(self.profile, session, self.tick_size, self.state, rng))
            added = True
        if added:
            self.version += 1
        return added


class MinuteSeries:
    """One symbol's one-minute bars (``t`` = bar open, UTC ns) and the prints inside each."""

    def __init__(
        self,
        symbol: str,
        tick_size: float,
        *,
        seed: int,
        max_trades: int,
        avg_trade_size: float,
    ) -> None:
        self.symbol = symbol
        self.tick_size = tick_size
        self.seed = seed
        self.max_trades = max_trades
        self.avg_trade_size = avg_trade_size
        self.t: IntArray = _EMPTY
        self.o: IntArray = _EMPTY
        self.h: IntArray = _EMPTY
        self.low: IntArray = _EMPTY
        self.c: IntArray = _EMPTY
        self.v: IntArray = _EMPTY
        self._ticks: OrderedDict[int, TickPath] = OrderedDict()

    def ensure(self, ns: int) -> None:
        """Makes sure every bar that opens at or before ``ns`` exists (if the source has it)."""

    def __len__(self) -> int:
        return len(self.t)

    def index_at(self, ns: int) -> int:
        """Index of the last bar that opened at or before ``ns`` (-1 if none)."""
        self.ensure(ns)
        return int(np.searchsorted(self.t, ns, side="right")) - 1

    def bar_duration(self, i: int) -> int:
        return MINUTE_NS

    def ticks(self, i: int) -> TickPath:
        found = self._ticks.get(i)
        if found is not None:
            self._ticks.move_to_end(i)
            return found
        path = self._make_ticks(i)
        self._ticks[i] = path
        if len(self._ticks) > 4096:
            self._ticks.popitem(last=False)
        return path

    def _make_ticks(self, i: int) -> TickPath:
        rng = np.random.default_rng([self.seed, stable_hash(self.symbol), int(self.t[i]) // MINUTE_NS, 1])
        return tick_path(
            int(self.o[i]),
            int(self.h[i]),
            int(self.low[i]),
            int(self.c[i]),
            int(self.v[i]),
            duration_ns=self.bar_duration(i),
            max_trades=self.max_trades,
            avg_trade_size=self.avg_trade_size,
            rng=rng,
        )


class SyntheticSeries(MinuteSeries):
    """A symbol on a (possibly shared) generated price path, with its own volume."""

    def __init__(
        self,
        symbol: str,
        generator: UnderlyingGenerator,
        volume_share: float,
        *,
        seed: int,
        max_trades: int,
        avg_trade_size: float,
    ) -> None:
        super().__init__(
            symbol, generator.tick_size, seed=seed, max_trades=max_trades, avg_trade_size=avg_trade_size
        )
        self.generator = generator
        self.volume_share = volume_share
        self._version = -1

    def ensure(self, ns: int) -> None:
        self.generator.extend_to(ns)
        if self._version == self.generator.version:
            return
        blocks = self.generator.blocks
        self.t = np.concatenate([b.t for b in blocks])
        self.o = np.concatenate([b.o for b in blocks])
        self.h = np.concatenate([b.h for b in blocks])
        self.low = np.concatenate([b.low for b in blocks])
        self.c = np.concatenate([b.c for b in blocks])
        v = np.concatenate([b.v for b in blocks])
        if self.volume_share != 1.0:
            v = np.maximum(np.rint(v * self.volume_share).astype(np.int64), MIN_MINUTE_VOLUME)
        self.v = v
        self._version = self.generator.version


SeriesFactory = Callable[[str], MinuteSeries]
