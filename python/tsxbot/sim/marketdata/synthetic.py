"""The seeded synthetic generator: one-minute bars for a whole session of one product.

Per session: an overnight gap from the previous close (larger after a weekend), a day regime
(trending with a drift, or ranging with mean reversion to the open), a day volatility level that
persists from day to day, GARCH(1,1) volatility clustering minute to minute, and a U-shaped
volume curve over the regular session (thin overnight, heavy at the open and into the close),
with volatility following volume. Prices are integer ticks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tsxbot.sim.marketdata.profiles import MarketProfile
from tsxbot.sim.sessions import MINUTE_NS, Session

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MIN_MINUTE_VOLUME = 4  # enough prints to visit open, high, low and close


@dataclass
class GeneratorState:
    """What carries over from one session to the next."""

    close_ticks: int
    vol_level: float = 0.0


@dataclass(frozen=True)
class MinuteBlock:
    """One session of one-minute bars (bar open times, integer-tick prices, volume)."""

    session: Session
    t: IntArray
    o: IntArray
    h: IntArray
    low: IntArray
    c: IntArray
    v: IntArray


def volume_shape(t: IntArray, session: Session) -> FloatArray:
    """Share of the session's volume in each minute (sums to 1): U-shaped over RTH."""
    minute = MINUTE_NS
    shape = np.full(t.shape, 0.12)
    pre = (t >= session.rth_open_ns - 60 * minute) & (t < session.rth_open_ns)
    shape[pre] = 0.3
    rth = (t >= session.rth_open_ns) & (t < session.rth_close_ns)
    since_open = (t[rth] - session.rth_open_ns) / minute
    to_close = (session.rth_close_ns - t[rth]) / minute
    shape[rth] = 1.0 + 2.5 * np.exp(-since_open / 20.0) + 1.5 * np.exp(-to_close / 12.0)
    after = t >= session.rth_close_ns
    shape[after] = 0.35
    total = float(shape.sum())
    return shape / total if total > 0 else shape


def generate_session(
    profile: MarketProfile,
    session: Session,
    tick_size: float,
    state: GeneratorState,
    rng: np.random.Generator,
) -> MinuteBlock:
    n = session.minutes
    t = session.open_ns + np.arange(n, dtype=np.int64) * MINUTE_NS
    shape = volume_shape(t, session)

    state.vol_level = 0.8 * state.vol_level + 0.6 * float(rng.standard_normal())
    sigma_day = profile.daily_volatility * math.exp(0.25 * state.vol_level)
    sigma = sigma_day * np.sqrt(shape)

    prev_close = state.close_ticks * tick_size
    weekend = session.trading_date.isoweekday() == 1
    gap = sigma_day * (0.45 if weekend else 0.25) * float(rng.standard_normal())
    open_log = math.log(prev_close) + gap

    trending = bool(rng.random() < 0.3)
    if trending:
        direction = 1.0 if rng.random() < 0.5 else -1.0
        drift = direction * float(rng.uniform(0.6, 1.5)) * sigma_day * shape
        kappa = 0.0
    else:
        drift = np.zeros(n)
        kappa = float(rng.uniform(0.002, 0.01))

    z = rng.standard_normal(n).tolist()
    sig = sigma.tolist()
    dr = drift.tolist()
    closes = [0.0] * n
    cluster = [0.0] * n
    g = 1.0
    logp = open_log
    for i in range(n):
        cluster[i] = g
        logp += dr[i] - kappa * (logp - open_log) + sig[i] * math.sqrt(g) * z[i]
        closes[i] = logp
        g = 0.05 + 0.10 * z[i] * z[i] + 0.85 * g

    price = np.exp(np.asarray(closes))
    c = np.maximum(np.rint(price / tick_size).astype(np.int64), 1)
    o = np.empty(n, dtype=np.int64)
    o[0] = max(1, round(math.exp(open_log) / tick_size))
    o[1:] = c[:-1]
    g_arr = np.asarray(cluster)
    excursion = sigma * np.sqrt(g_arr) * price / tick_size * 0.5
    up = np.floor(np.abs(rng.standard_normal(n)) * excursion).astype(np.int64)
    down = np.floor(np.abs(rng.standard_normal(n)) * excursion).astype(np.int64)
    h = np.maximum(o, c) + up
    low = np.maximum(np.minimum(o, c) - down, 1)
    noise = np.exp(0.35 * rng.standard_normal(n))
    v = np.rint(profile.daily_volume * shape * noise * (0.7 + 0.3 * np.sqrt(g_arr))).astype(np.int64)
    v = np.maximum(v, MIN_MINUTE_VOLUME)
    state.close_ticks = int(c[-1])
    return MinuteBlock(session=session, t=t, o=o, h=h, low=low, c=c, v=v)
