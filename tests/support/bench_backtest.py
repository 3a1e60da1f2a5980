"""The issue's backtest benchmark, shared by ``benches/python/test_bench_backtest.py`` and
``benches/backtest_peers.py``: a seeded random walk of one-minute bars (23 hours a trading day,
CME sessions) and the EMA 9/21 crossover reversing on each cross, one contract, a stop far enough
never to trigger, no target, market orders at the next bar's open.

``reference_run`` is the plain-Python reference of that strategy on those bars (the floor for a
per-bar Python hook, and what every framework's fills and P&L are checked against)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tsxbot.config import DEFAULTS_DIR
from tsxbot.indicators import EMA
from tsxbot.strategy import (
    NOTHING,
    BarLike,
    Context,
    Decision,
    Enter,
    Exit,
    Period,
    PositiveFloat,
    Reason,
    Side,
    Strategy,
    StrategyParams,
    opposite,
)

FIRST_DAY = dt.date(2025, 1, 6)
TICK = 0.25
POINT_VALUE = 5.0  # MES
FEE_PER_SIDE = 1.24
SESSION_MINUTES = 23 * 60


class EmaReverseParams(StrategyParams, frozen=True, kw_only=True):
    fast_period: Period = 9
    slow_period: Period = 21
    stop_points: PositiveFloat = 2000.0


class EmaReverse(Strategy[EmaReverseParams]):
    """Long when EMA(fast) crosses above EMA(slow), short when it crosses below; reverses."""

    params_type = EmaReverseParams
    needs = frozenset()  # its own EMAs only

    def __init__(self, params: EmaReverseParams, ctx: Context) -> None:
        super().__init__(params, ctx)
        self._fast = EMA(params.fast_period)
        self._slow = EMA(params.slow_period)
        self._prev_fast = self._prev_slow = math.nan
        self._cross_long = Reason(setup="cross long")
        self._cross_short = Reason(setup="cross short")
        self._reverse = Reason(setup="reverse")

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        close = bar.close
        fast = self._fast.update(close)
        slow = self._slow.update(close)
        prev_fast, prev_slow = self._prev_fast, self._prev_slow
        self._prev_fast, self._prev_slow = fast, slow
        side: Side
        if fast > slow and prev_fast <= prev_slow:
            side = "long"
        elif fast < slow and prev_fast >= prev_slow:
            side = "short"
        else:
            return NOTHING  # also while warming up: comparisons with NaN are False
        held = self.ctx.position.side
        if held == side:
            return NOTHING
        stop = self.params.stop_points
        if side == "long":
            enter = Enter(side=side, stop=close - stop, target=None, reason=self._cross_long)
        else:
            enter = Enter(side=side, stop=close + stop, target=None, reason=self._cross_short)
        if held == opposite(side):
            return [Exit(reason=self._reverse), enter]
        return [enter]


BOT_YAML = """
bot: {id: bench, name: EMA_Reverse, enabled: true}
instrument: {symbol: MES}
strategy:
  type: support.bench_backtest:EmaReverse
  params: {dollarRiskPerTrade: 10000, maxRiskPoints: 5000, timeframe: 1m}
risk: {maxPositions: 1, maxDailyLoss: 10000, maxDrawdown: 10000, maxSignalsPerDay: 10000}
tradingHours: {start: "17:00", end: "16:01", timezone: America/Chicago}
maxOrderSize: 1
signalCooldownMinutes: 0
"""


def write_config(root: Path) -> Path:
    """A config directory with the benchmark bot (MES with the benchmark's fee per side)."""
    import shutil

    directory = root / "config"
    (directory / "bots").mkdir(parents=True, exist_ok=True)
    shutil.copy(DEFAULTS_DIR / "global.yaml", directory / "global.yaml")
    text = (DEFAULTS_DIR / "instruments.yaml").read_text()
    marker = "  - symbol: MES\n"
    assert marker in text
    (directory / "instruments.yaml").write_text(
        text.replace(marker, f"{marker}    feePerSide: {FEE_PER_SIDE}\n")
    )
    (directory / "bots" / "bench.yaml").write_text(BOT_YAML)
    return directory


def bench_bars(days: int = 252, seed: int = 12) -> dict[str, npt.NDArray[np.float64] | npt.NDArray[np.int64]]:
    """``days`` CME trading sessions of 23 one-minute bars an hour from ``FIRST_DAY`` (MES
    sessions, 17:00-16:00 CT): a seeded random walk on the tick grid. Keys t (bar open, UTC ns),
    o, h, l, c, v."""
    from tsxbot.config import load_config
    from tsxbot.sim.sessions import MINUTE_NS, SessionCalendar

    calendar = SessionCalendar(load_config(DEFAULTS_DIR, env={}).instruments.get("MES").sessions)
    opens: list[int] = []
    day = FIRST_DAY
    while len(opens) < days:
        session = calendar.session_on(day)
        if session is not None:
            opens.append(session.open_ns)
        day += dt.timedelta(days=1)
    t = (
        np.asarray(opens, dtype=np.int64)[:, None] + np.arange(SESSION_MINUTES, dtype=np.int64) * MINUTE_NS
    ).ravel()
    rng = np.random.default_rng(seed)
    n = len(t)
    steps = np.rint(rng.normal(0.0, 2.0, n)).astype(np.int64)
    close = 20_000 + np.cumsum(steps)
    open_ = np.concatenate(([20_000], close[:-1]))
    high = np.maximum(open_, close) + np.rint(np.abs(rng.normal(0.0, 1.0, n))).astype(np.int64)
    low = np.minimum(open_, close) - np.rint(np.abs(rng.normal(0.0, 1.0, n))).astype(np.int64)
    volume = rng.integers(10, 500, n).astype(np.float64)
    return {
        "t": t,
        "o": open_ * TICK,
        "h": high * TICK,
        "l": low * TICK,
        "c": close * TICK,
        "v": volume,
    }


def ta_ema(values: Sequence[float], period: int) -> list[float]:
    """TA-Lib's EMA (the simple average of the first ``period`` values, then 2 / (period + 1)),
    NaN before: the definition of ``tsxbot.indicators.EMA`` and backtrader's."""
    out = [math.nan] * len(values)
    if len(values) < period:
        return out
    value = sum(values[:period]) / period
    out[period - 1] = value
    alpha = 2.0 / (period + 1)
    for i in range(period, len(values)):
        value += alpha * (values[i] - value)
        out[i] = value
    return out


def reference_run(
    o: Sequence[float], c: Sequence[float], fast_period: int = 9, slow_period: int = 21
) -> tuple[list[tuple[int, int, float]], float]:
    """The strategy in plain Python: fills (bar index, +1 buy / -1 sell, price), each one contract
    (a reversal is two), orders at the next bar's open (none after the last bar); and the gross
    P&L in points of the closed round trips (an open position at the end is left out)."""
    fast = ta_ema(c, fast_period)
    slow = ta_ema(c, slow_period)
    fills: list[tuple[int, int, float]] = []
    position = 0
    entry = 0.0
    gross = 0.0
    for i in range(1, len(c) - 1):
        if fast[i] > slow[i] and fast[i - 1] <= slow[i - 1]:
            want = 1
        elif fast[i] < slow[i] and fast[i - 1] >= slow[i - 1]:
            want = -1
        else:
            continue
        if position == want:
            continue
        price = o[i + 1]
        if position:
            fills.append((i + 1, want, price))
            gross += (price - entry) * position
        fills.append((i + 1, want, price))
        position, entry = want, price
    return fills, gross
