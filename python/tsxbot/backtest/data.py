"""The market a backtest runs on: one symbol's one-minute bars (and, from a trades recording, the
prints inside each bar), read by the simulator's own readers.

- ``load_bars(paths, symbol, simulator, instruments)``: CSV, Parquet or Databento DBN files (trades
  or bars; the formats ``tsxbot sim --data`` reads, through ``tsxbot.sim.marketdata.replay``),
  several files merged in time order (a minute present twice keeps the first file's bar); a file
  without a symbol column is taken as ``symbol``'s.
- ``synthetic_bars(instrument, days, seed, last_day)``: the simulator's seeded synthetic market,
  ``days`` trading sessions ending with ``last_day``'s.

``MinuteBars`` holds prices as floats on the tick grid, ``t`` the bars' opens (UTC ns) and, for
trades, the prints of each bar (``prints(i)``: prices, sizes, aggressor sides, times) so the
strategy's order flow and the stop-or-target question are answered from the real trades.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from tsxbot.config.instruments import Instrument, Instruments
from tsxbot.config.simulator import SimulatorConfig
from tsxbot.sim.marketdata.profiles import profile_for
from tsxbot.sim.marketdata.replay import RecordedSeries, RecordingError, load_recording
from tsxbot.sim.marketdata.series import MinuteSeries, SyntheticSeries, UnderlyingGenerator
from tsxbot.sim.marketdata.tickpath import BUY, SELL
from tsxbot.sim.sessions import MINUTE_NS, Session, SessionCalendar

__all__ = [
    "BarPrints",
    "DataError",
    "MinuteBars",
    "load_bars",
    "load_series",
    "sessions_ending",
    "synthetic_bars",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class DataError(ValueError):
    """The data cannot be backtested; the message says what and where."""


class BarPrints(msgspec.Struct, frozen=True):
    """The trades of one bar, in time order (prices in points, aggressor +1 buy / -1 sell)."""

    ts: list[int]
    prices: list[float]
    sizes: list[float]
    aggressors: list[int]


class MinuteBars:
    """One symbol's bars: ``t`` (open, UTC ns), ``duration`` (ns), ``o h l c v`` (floats)."""

    def __init__(
        self,
        symbol: str,
        tick_size: float,
        t: IntArray,
        o: FloatArray,
        h: FloatArray,
        low: FloatArray,
        c: FloatArray,
        v: FloatArray,
        *,
        duration: int = MINUTE_NS,
        sources: Sequence[tuple[MinuteSeries, int]] | None = None,
    ) -> None:
        self.symbol = symbol
        self.tick_size = tick_size
        self.t, self.o, self.h, self.low, self.c, self.v = t, o, h, low, c, v
        self.duration = duration
        # For trades recordings: where each bar's prints live (series, index).
        self._sources = sources

    def __len__(self) -> int:
        return len(self.t)

    @property
    def has_prints(self) -> bool:
        return self._sources is not None

    def prints(self, i: int) -> BarPrints | None:
        if self._sources is None:
            return None
        series, index = self._sources[i]
        path = series.ticks(index)
        start = int(series.t[index])
        tick = self.tick_size
        return BarPrints(
            ts=[start + off for off in path.offsets],
            prices=[p * tick for p in path.prices],
            sizes=[float(s) for s in path.sizes],
            aggressors=[1 if s == BUY else -1 if s == SELL else 0 for s in path.sides],
        )

    def between(self, start_ns: int | None, end_ns: int | None) -> MinuteBars:
        """The bars opening in ``[start_ns, end_ns)``."""
        lo = 0 if start_ns is None else int(np.searchsorted(self.t, start_ns, side="left"))
        hi = len(self.t) if end_ns is None else int(np.searchsorted(self.t, end_ns, side="left"))
        sources = None if self._sources is None else self._sources[lo:hi]
        return MinuteBars(
            self.symbol,
            self.tick_size,
            self.t[lo:hi],
            self.o[lo:hi],
            self.h[lo:hi],
            self.low[lo:hi],
            self.c[lo:hi],
            self.v[lo:hi],
            duration=self.duration,
            sources=sources,
        )


def _from_series(series: MinuteSeries, tick_size: float, keep: IntArray | None = None) -> MinuteBars:
    idx = np.arange(len(series.t)) if keep is None else keep
    recorded = isinstance(series, RecordedSeries) and bool(series.recorded)
    return MinuteBars(
        series.symbol,
        tick_size,
        series.t[idx].astype(np.int64),
        (series.o[idx] * tick_size).astype(np.float64),
        (series.h[idx] * tick_size).astype(np.float64),
        (series.low[idx] * tick_size).astype(np.float64),
        (series.c[idx] * tick_size).astype(np.float64),
        series.v[idx].astype(np.float64),
        duration=series.bar_duration(0) if len(series.t) else MINUTE_NS,
        sources=[(series, int(i)) for i in idx] if recorded else None,
    )


def load_bars(
    paths: Sequence[Path], symbol: str, simulator: SimulatorConfig, instruments: Instruments
) -> MinuteBars:
    """``symbol``'s bars from every file (see the module docstring); ``DataError`` naming the file
    and the problem otherwise."""
    if not paths:
        raise DataError("no data file given")
    tick = instruments.get(symbol).tick_size
    parts = [_from_series(load_series(path, symbol, simulator, instruments), tick) for path in paths]
    if len(parts) == 1:
        return parts[0]
    return _merge(parts)


def load_series(
    path: Path, symbol: str, simulator: SimulatorConfig, instruments: Instruments
) -> MinuteSeries:
    """``symbol``'s market in one file, as the simulator replays it; ``DataError`` otherwise."""
    found = _read(path, simulator, instruments)
    if found is None:  # no symbol column: the file is the bot's symbol
        market = msgspec.structs.replace(simulator.market, replay_symbol=symbol)
        found = _read(path, msgspec.structs.replace(simulator, market=market), instruments)
    assert found is not None
    series = found.get(symbol)
    if series is None:
        raise DataError(f"{path}: no data for {symbol} (it holds {', '.join(sorted(found))})")
    return series


def _read(path: Path, simulator: SimulatorConfig, instruments: Instruments) -> dict[str, MinuteSeries] | None:
    """The file's series by symbol; None when it has no symbol column (and no replaySymbol)."""
    config = msgspec.structs.replace(simulator, data=str(path), start_time=None)
    try:
        found, _start = load_recording(config, instruments)
    except RecordingError as exc:
        if "no symbol column" in str(exc) and simulator.market.replay_symbol is None:
            return None
        raise DataError(str(exc)) from None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:  # a malformed value in a record
        raise DataError(f"{path}: a record cannot be read: {type(exc).__name__}: {exc}") from None
    return found


def _merge(parts: list[MinuteBars]) -> MinuteBars:
    t = np.concatenate([p.t for p in parts])
    order = np.argsort(t, kind="stable")
    t = t[order]
    keep = np.concatenate(([True], t[1:] != t[:-1]))  # a minute twice: the first file's bar
    chosen = order[keep]

    def col(name: str) -> FloatArray:
        return np.concatenate([getattr(p, name) for p in parts])[chosen]

    with_prints = all(p.has_prints for p in parts)
    sources: list[tuple[MinuteSeries, int]] | None = None
    if with_prints:
        every = [s for p in parts for s in (p._sources or [])]
        sources = [every[int(i)] for i in chosen]
    first = parts[0]
    return MinuteBars(
        first.symbol,
        first.tick_size,
        t[keep],
        col("o"),
        col("h"),
        col("low"),
        col("c"),
        col("v"),
        duration=min(p.duration for p in parts),
        sources=sources,
    )


def sessions_ending(instrument: Instrument, last_day: dt.date, days: int) -> list[Session]:
    """The ``days`` trading sessions ending with the one that closes on ``last_day`` (or the
    latest before it), oldest first."""
    if days < 1:
        raise DataError(f"--days must be at least 1, got {days}")
    calendar = SessionCalendar(instrument.sessions)
    day = last_day
    for _ in range(10):
        session = calendar.session_on(day)
        if session is not None:
            return calendar.sessions_before(session.close_ns, days)
        day -= dt.timedelta(days=1)
    raise DataError(f"no trading session on or before {last_day}")


def synthetic_bars(instrument: Instrument, days: int, seed: int, last_day: dt.date) -> MinuteBars:
    """The simulator's synthetic market for ``instrument`` (seed ``seed``): the ``days`` trading
    sessions ending with the one that closes on ``last_day`` (or the latest before it)."""
    sessions = sessions_ending(instrument, last_day, days)
    first, end_ns = sessions[0], sessions[-1].close_ns
    calendar = SessionCalendar(instrument.sessions)
    profile = profile_for(instrument.symbol, instrument.tick_size)
    mini = profile_for(profile.underlying, instrument.tick_size)
    generator = UnderlyingGenerator(mini, calendar, instrument.tick_size, seed, end_ns, days)
    series = SyntheticSeries(
        instrument.symbol,
        generator,
        profile.daily_volume / mini.daily_volume,
        seed=seed,
        max_trades=SimulatorConfig().market.max_trades_per_minute,
        avg_trade_size=profile.avg_trade_size,
    )
    series.ensure(end_ns)
    keep = np.nonzero((series.t >= first.open_ns) & (series.t < end_ns))[0].astype(np.int64)
    return _from_series(series, instrument.tick_size, keep)
