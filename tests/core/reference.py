"""Plain-Python reference implementations of the Rust core, written from the documented rules
(TA-Lib's loops for the indicators), for the property tests to compare against."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tsxbot.config.instruments import Instrument

NAN = math.nan


# --- indicators ----------------------------------------------------------------------------------


def ema(values: Sequence[float], period: int) -> list[float]:
    """TA-Lib EMA: SMA seed, then ``prev + k * (x - prev)``."""
    out = [NAN] * len(values)
    if len(values) < period:
        return out
    k = 2.0 / (period + 1)
    prev = 0.0
    for x in values[:period]:
        prev += x
    prev /= period
    out[period - 1] = prev
    for i in range(period, len(values)):
        prev = prev + k * (values[i] - prev)
        out[i] = prev
    return out


def sma(values: Sequence[float], period: int) -> list[float]:
    return [
        math.fsum(values[i + 1 - period : i + 1]) / period if i + 1 >= period else NAN
        for i in range(len(values))
    ]


def true_range(high: float, low: float, prev_close: float) -> float:
    return max(high - low, abs(high - prev_close), abs(low - prev_close))


def atr(high: Sequence[float], low: Sequence[float], close: Sequence[float], period: int) -> list[float]:
    """TA-Lib ATR: the mean of the first ``period`` true ranges (from bar 1), then Wilder."""
    n = len(high)
    out = [NAN] * n
    if n <= period:
        return out
    value = sum(true_range(high[i], low[i], close[i - 1]) for i in range(1, period + 1)) / period
    out[period] = value
    for i in range(period + 1, n):
        value = (value * (period - 1) + true_range(high[i], low[i], close[i - 1])) / period
        out[i] = value
    return out


TA_EPSILON = 1e-14  # current TA-Lib's TA_IS_ZERO (TA-Lib 0.4 used 1e-8)


def _is_zero(x: float) -> bool:
    return -TA_EPSILON < x < TA_EPSILON


def dmi(
    high: Sequence[float], low: Sequence[float], close: Sequence[float], period: int
) -> tuple[list[float], list[float], list[float]]:
    """TA-Lib ADX / PLUS_DI / MINUS_DI (current TA-Lib, C 0.8.1), in the shape of its C loops."""
    n = len(high)
    adx, plus_di, minus_di = [NAN] * n, [NAN] * n, [NAN] * n
    if n == 0:
        return adx, plus_di, minus_di
    p_dm = m_dm = tr = 0.0

    def moves(i: int) -> tuple[float, float, float]:
        up, down = high[i] - high[i - 1], low[i - 1] - low[i]
        plus = up if (up > 0 and up > down and not (down > 0 and up < down)) else 0.0
        minus = down if (down > 0 and up < down) else 0.0
        return plus, minus, true_range(high[i], low[i], close[i - 1])

    today = 0
    for _ in range(period - 1):
        today += 1
        if today >= n:
            return adx, plus_di, minus_di
        plus, minus, t = moves(today)
        p_dm, m_dm, tr = p_dm + plus, m_dm + minus, tr + t

    def smooth(i: int) -> float | None:
        nonlocal p_dm, m_dm, tr
        plus, minus, t = moves(i)
        p_dm = p_dm - p_dm / period + plus
        m_dm = m_dm - m_dm / period + minus
        tr = tr - tr / period + t
        if tr <= 0.0:  # current TA-Lib tests the smoothed true range exactly, not with TA_IS_ZERO
            plus_di[i] = minus_di[i] = 0.0
            return None
        plus_di[i] = 100.0 * (p_dm / tr)
        minus_di[i] = 100.0 * (m_dm / tr)
        total = plus_di[i] + minus_di[i]
        return None if _is_zero(total) else 100.0 * (abs(minus_di[i] - plus_di[i]) / total)

    dx_sum = 0.0
    for _ in range(period):
        today += 1
        if today >= n:
            return adx, plus_di, minus_di
        dx = smooth(today)
        dx_sum += dx if dx is not None else 0.0
    value = dx_sum / period
    adx[today] = value
    while today + 1 < n:
        today += 1
        dx = smooth(today)
        if dx is not None:
            value = (value * (period - 1) + dx) / period
        adx[today] = value
    return adx, plus_di, minus_di


def vwap(prices: Sequence[float], sizes: Sequence[float]) -> tuple[float, float]:
    """``(vwap, volume-weighted standard deviation)`` in two passes."""
    volume = math.fsum(sizes)
    if volume == 0:
        return NAN, NAN
    mean = math.fsum(p * v for p, v in zip(prices, sizes, strict=True)) / volume
    var = math.fsum(v * (p - mean) ** 2 for p, v in zip(prices, sizes, strict=True)) / volume
    return mean, math.sqrt(var)


@dataclass
class Profile:
    """Volume by integer tick (exact for integer volumes).

    With a ``window`` (in the same unit as the timestamps) it holds the prints whose timestamp is
    within ``window`` of the newest timestamp seen (``ts > newest - window``), each counted by its
    own timestamp: a late print stays until its own time leaves the window, one already out of it
    when it arrives is ignored, and zero-size prints move the newest timestamp too."""

    levels: dict[int, float] = field(default_factory=dict)
    window: int | None = None
    prints: list[tuple[int, int, float]] = field(default_factory=list)
    newest: int | None = None

    def add(self, tick: int, volume: float, ts: int = 0) -> None:
        if self.window is None:
            if volume > 0:
                self.levels[tick] = self.levels.get(tick, 0.0) + volume
            return
        self.newest = ts if self.newest is None else max(self.newest, ts)
        cutoff = self.newest - self.window
        self.prints = [p for p in self.prints if p[0] > cutoff]
        if ts > cutoff and volume > 0:
            self.prints.append((ts, tick, volume))
        self.levels = {}
        for _, t, v in self.prints:
            self.levels[t] = self.levels.get(t, 0.0) + v

    def dense(self) -> tuple[int, list[float]]:
        lo, hi = min(self.levels), max(self.levels)
        return lo, [self.levels.get(t, 0.0) for t in range(lo, hi + 1)]

    def poc(self) -> int:
        best = max(self.levels.values())
        return min(t for t, v in self.levels.items() if v == best)

    def value_area(self, fraction: float) -> tuple[int, int]:
        lo_tick, vols = self.dense()
        total = sum(vols)
        poc = self.poc() - lo_tick
        lo = hi = poc
        area = vols[poc]
        while area < fraction * total and (lo > 0 or hi < len(vols) - 1):
            up = vols[hi + 1] if hi < len(vols) - 1 else None
            down = vols[lo - 1] if lo > 0 else None
            if up is not None and down is not None and up == down:
                hi, lo, area = hi + 1, lo - 1, area + up + down
            elif up is not None and (down is None or up > down):
                hi, area = hi + 1, area + up
            else:
                assert down is not None
                lo, area = lo - 1, area + down
        return lo + lo_tick, hi + lo_tick

    def nodes(self, hvn_ratio: float, lvn_ratio: float) -> tuple[list[int], list[int]]:
        lo_tick, vols = self.dense()
        mean = sum(vols) / len(vols)
        hvn = [lo_tick + i for i, v in enumerate(vols) if v >= hvn_ratio * mean]
        lvn = [lo_tick + i for i, v in enumerate(vols) if 0 < i < len(vols) - 1 and v <= lvn_ratio * mean]
        return hvn, lvn


def divergence(closes: Sequence[float], cums: Sequence[float], lookback: int) -> int:
    """Of the last closed bar against the ``lookback`` before it: -1 bearish, +1 bullish, 0 none."""
    if len(closes) <= lookback:
        return 0
    close, cum = closes[-1], cums[-1]
    prev_c, prev_d = closes[-1 - lookback : -1], cums[-1 - lookback : -1]
    if close > max(prev_c) and cum <= max(prev_d):
        return -1
    if close < min(prev_c) and cum >= min(prev_d):
        return 1
    return 0


# --- sessions and bars ---------------------------------------------------------------------------

CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.UTC
_ETH_DATES = {1, 2, 3, 4, 5}  # ETH opens Sun..Thu: trading dates Mon..Fri


def to_ns(when: dt.datetime) -> int:
    delta = when - dt.datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def from_ns(ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=ns // 1000)


def session(ns: int, rth: bool) -> tuple[dt.date, dt.datetime, dt.datetime] | None:
    """``(trading date, open, close)`` in Chicago wall time (naive), or None outside a session."""
    local = from_ns(ns).astimezone(CHICAGO).replace(tzinfo=None)
    day = local.date()
    if rth:
        open_ = dt.datetime.combine(day, dt.time(8, 30))
        close = dt.datetime.combine(day, dt.time(15, 0))
        date = day
        if not open_ <= local < close:
            return None
    elif local.time() >= dt.time(17, 0):
        open_ = dt.datetime.combine(day, dt.time(17, 0))
        date = day + dt.timedelta(days=1)
        close = dt.datetime.combine(date, dt.time(16, 0))
    elif local.time() < dt.time(16, 0):
        date = day
        open_ = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(17, 0))
        close = dt.datetime.combine(day, dt.time(16, 0))
    else:
        return None
    if date.isoweekday() not in _ETH_DATES:
        return None
    return date, open_, close


@dataclass
class RefBar:
    start: int
    end: int
    trading_date: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    buy_volume: float = 0.0
    sell_volume: float = 0.0
    trade_count: int = 0


def bars(
    trades: Sequence[tuple[int, float, float, int]], timeframe_seconds: int, rth: bool
) -> tuple[list[RefBar], RefBar | None, int, int]:
    """``(completed bars, forming bar, dropped outside the session, dropped late)``."""
    done: list[RefBar] = []
    current: RefBar | None = None
    outside = late = 0
    tf = dt.timedelta(seconds=timeframe_seconds)
    for ts, price, size, side in trades:
        if current is not None and current.start <= ts < current.end:
            bar = current
        elif current is not None and ts < current.start:
            late += 1
            continue
        else:
            found = session(ts, rth)
            if found is None:
                outside += 1
                continue
            date, open_, close = found
            local = from_ns(ts).astimezone(CHICAGO).replace(tzinfo=None)
            start = open_ + ((local - open_) // tf) * tf
            end = min(start + tf, close)
            offset = from_ns(ts).astimezone(CHICAGO).utcoffset()
            assert offset is not None
            bar = RefBar(
                start=to_ns((start - offset).replace(tzinfo=UTC)),
                end=to_ns((end - offset).replace(tzinfo=UTC)),
                trading_date=(date - dt.date(1970, 1, 1)).days,
                open=price,
                high=price,
                low=price,
                close=price,
            )
            if current is not None:
                done.append(current)
            current = bar
        bar.high, bar.low, bar.close = max(bar.high, price), min(bar.low, price), price
        bar.volume += size
        bar.buy_volume += size if side == 1 else 0.0
        bar.sell_volume += size if side == -1 else 0.0
        bar.trade_count += 1
    return done, current, outside, late


def eth_open(instrument: Instrument, when: dt.datetime) -> bool:
    """Whether the instrument's ETH session is open at ``when``, read straight off the
    instruments table with zoneinfo (the daily halt and the weekend are closed)."""
    local = when.astimezone(ZoneInfo(instrument.sessions.timezone))
    open_t = dt.time.fromisoformat(instrument.sessions.eth.open)
    close_t = dt.time.fromisoformat(instrument.sessions.eth.close)
    days = instrument.sessions.trading_days  # ISO weekdays on whose evening ETH opens
    now_t, weekday = local.time(), local.isoweekday()
    if open_t > close_t:  # over midnight
        if now_t >= open_t:
            return str(weekday) in days
        if now_t < close_t:
            return str(weekday - 1 if weekday > 1 else 7) in days
        return False
    return str(weekday) in days and open_t <= now_t < close_t
