"""Hand-made one-minute bars and a config with the scripted test strategy, for backtests whose
fills are known by construction."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tsxbot.backtest import MinuteBars
from tsxbot.config import DEFAULTS_DIR, Config, load_config
from tsxbot.sessions import to_ns
from tsxbot.strategy import NOTHING, BarLike, Decision, Enter, Reason, Strategy, StrategyParams
from tsxbot.strategy.clock import minutes

CT = dt.timezone(dt.timedelta(hours=-6))  # Chicago in November (CST)
DAY = dt.date(2026, 11, 24)  # a Tuesday
Ohlc = tuple[float, float, float, float]


def scripted_bot(bot_id: str = "bot_s", **params: Any) -> str:
    lines = "\n".join(
        f"    {k[0].lower() + ''.join(p.title() for p in k.split('_'))[1:]}: {v!r}" for k, v in params.items()
    )
    return f"""
bot: {{id: {bot_id}, name: Scripted, enabled: true}}
instrument: {{symbol: MES}}
strategy:
  type: support.bot_strategies:Scripted
  params:
    dollarRiskPerTrade: 300
    maxRiskPoints: 20
    timeframe: 1m
{lines}
risk: {{maxPositions: 1, maxDailyLoss: 400, maxDrawdown: 800, maxSignalsPerDay: 5}}
tradingHours: {{start: "08:30", end: "15:00", timezone: America/Chicago}}
maxOrderSize: 2
signalCooldownMinutes: 0
"""


def make_config(root: Path, bot_text: str, bot_id: str = "bot_s", *overrides: str) -> Config:
    directory = root / "config"
    (directory / "bots").mkdir(parents=True, exist_ok=True)
    shutil.copy(DEFAULTS_DIR / "global.yaml", directory / "global.yaml")
    shutil.copy(DEFAULTS_DIR / "instruments.yaml", directory / "instruments.yaml")
    (directory / "bots" / f"{bot_id}.yaml").write_text(bot_text)
    return load_config(directory, overrides=list(overrides), env={})


def minute(day: dt.date, hhmm: str) -> int:
    hour, mins = map(int, hhmm.split(":"))
    return to_ns(dt.datetime(day.year, day.month, day.day, hour, mins, tzinfo=CT))


def day_bars(
    day: dt.date, flat: float, changes: Mapping[str, Ohlc], *, start: str = "08:00", end: str = "10:30"
) -> list[tuple[int, Ohlc]]:
    """Bars from ``start`` to ``end`` (exchange time): flat at the last close, except ``changes``
    (``"HH:MM"`` of the bar's open -> open, high, low, close)."""
    out: list[tuple[int, Ohlc]] = []
    t, stop = minute(day, start), minute(day, end)
    last = flat
    by_ns = {minute(day, k): v for k, v in changes.items()}
    while t < stop:
        bar = by_ns.get(t, (last, last, last, last))
        out.append((t, bar))
        last = bar[3]
        t += 60 * 10**9
    return out


def minute_bars(rows: list[tuple[int, Ohlc]], tick: float = 0.25) -> MinuteBars:
    t = np.array([r[0] for r in rows], dtype=np.int64)
    cols = np.array([r[1] for r in rows], dtype=np.float64).reshape(-1, 4)
    return MinuteBars("MES", tick, t, cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], np.full(len(t), 100.0))


class AdderParams(StrategyParams, frozen=True, kw_only=True):
    # Long entries on the bars closing at these times (exchange time), each with its stop this
    # many points below the close.
    enter_at: tuple[str, ...] = ("09:32", "09:40")
    stop_points: tuple[float, ...] = (5.0, 2.0)


class Adder(Strategy[AdderParams]):
    """Scales in: a long at each of ``enter_at`` (target 40 points away: never reached here)."""

    params_type = AdderParams

    def on_bar(self, bar: BarLike) -> Sequence[Decision]:
        minute = self.ctx.minute()
        for at, points in zip(self.params.enter_at, self.params.stop_points, strict=True):
            if minute == minutes(at):
                reason = Reason(setup=f"add {at}")
                return [Enter(side="long", stop=bar.close - points, target=bar.close + 40.0, reason=reason)]
        return NOTHING


ADDER_BOT = """
bot: {id: bot_s, name: Adder, enabled: true}
instrument: {symbol: MES}
strategy:
  type: support.backtest_bars:Adder
  params: {dollarRiskPerTrade: 300, maxRiskPoints: 20, timeframe: 1m}
risk: {maxPositions: 2, maxDailyLoss: 400, maxDrawdown: 800, maxSignalsPerDay: 5}
tradingHours: {start: "08:30", end: "15:00", timezone: America/Chicago}
maxOrderSize: 1
signalCooldownMinutes: 0
"""
