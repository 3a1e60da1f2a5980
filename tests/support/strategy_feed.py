"""Hand-made bars for strategy tests: each bar becomes a few prints through the real engine
(Rust bars, VWAP, volume profile, delta), and each bar's outcomes are collected separately."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from tsxbot.config import DEFAULTS_DIR
from tsxbot.config.bot_config import BotConfig
from tsxbot.config.instruments import Instrument, Instruments, InstrumentsFile
from tsxbot.config.sources import load_yaml
from tsxbot.sessions import to_ns
from tsxbot.strategies.params import StrategyParams
from tsxbot.strategy.engine import Outcome, StrategyEngine

CT = ZoneInfo("America/Chicago")
_INSTRUMENTS: Instruments | None = None


def instrument(symbol: str) -> Instrument:
    global _INSTRUMENTS
    if _INSTRUMENTS is None:
        layer = load_yaml(DEFAULTS_DIR / "instruments.yaml", "instruments.yaml")
        _INSTRUMENTS = Instruments(msgspec.convert(layer.data, InstrumentsFile).instruments)
    return _INSTRUMENTS.get(symbol)


def ct(day: dt.date, hhmm: str) -> int:
    """Chicago wall time on ``day`` as integer ns."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return to_ns(dt.datetime(day.year, day.month, day.day, hours, minutes, tzinfo=CT))


def bot(**changes: Any) -> BotConfig:
    """A bot config that gates nothing unless told: all hours, no cooldown, many signals."""
    data: dict[str, Any] = {
        "bot": {"id": "t", "name": "t"},
        "instrument": {"symbol": "MES"},
        "strategy": {"type": "EMA_CROSS"},
        "tradingHours": {"start": "00:00", "end": "23:59"},
        "risk": {"maxSignalsPerDay": 50, "maxPositions": 1, "maxDailyLoss": 5000, "maxDrawdown": 5000},
        "maxOrderSize": 3,
        "signalCooldownMinutes": 0,
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return msgspec.convert(data, BotConfig)


# (open, high, low, close, volume, delta); delta defaults to 0.
BarSpec = tuple[float, ...]


class Feed:
    """Drives a ``StrategyEngine`` with bars given as OHLCV at consecutive times."""

    def __init__(self, engine: StrategyEngine) -> None:
        self.engine = engine
        self.seconds = engine.ctx.timeframe_seconds
        self.starts: list[int] = []
        self.outcomes: list[list[Outcome]] = []

    def bars(self, day: dt.date, start: str, specs: Sequence[BarSpec]) -> list[list[Outcome]]:
        """Bars from ``start`` (Chicago time on ``day``), one timeframe apart; returns each bar's outcomes."""
        t0 = ct(day, start)
        out = []
        for i, spec in enumerate(specs):
            out.append(self.bar(t0 + i * self.seconds * 10**9, *spec))
        return out

    def bar(
        self, start: int, o: float, h: float, low: float, c: float, volume: float = 100.0, delta: float = 0.0
    ) -> list[Outcome]:
        """One bar's prints: open, high, low (a contract each, no aggressor) then the close's
        buy and sell volume (the rest, split to give ``delta``); then the bar is closed on time."""
        assert low <= min(o, c) <= max(o, c) <= h, f"test set-up: not a bar: {(o, h, low, c)}"
        assert volume > 3 and abs(delta) <= volume - 3, "test set-up: volume must cover 3 + |delta|"
        rest = volume - 3
        buy, sell = (rest + delta) / 2, (rest - delta) / 2
        engine = self.engine
        second = 10**9
        got: list[Outcome] = []
        got += engine.on_print(start, o, 1.0, 0)
        got += engine.on_print(start + second, h, 1.0, 0)
        got += engine.on_print(start + 2 * second, low, 1.0, 0)
        if buy > 0:
            got += engine.on_print(start + 3 * second, c, buy, 1)
        if sell > 0:
            got += engine.on_print(start + 3 * second, c, sell, -1)
        assert not got, f"test set-up: a bar closed early: {got}"
        outcomes = engine.flush(start + self.seconds * second)
        self.starts.append(start)
        self.outcomes.append(list(outcomes))
        return list(outcomes)


def engine(
    strategy: type[Any], params: StrategyParams, symbol: str, **bot_changes: Any
) -> tuple[StrategyEngine, Feed]:
    e = StrategyEngine(strategy, params, bot(**bot_changes), instrument(symbol))
    return e, Feed(e)


def signals(outcomes: Sequence[Sequence[Outcome]]) -> list[tuple[int, Outcome]]:
    """Every outcome with the index of its bar."""
    return [(i, o) for i, bar in enumerate(outcomes) for o in bar]
