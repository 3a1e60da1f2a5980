"""The strategy layer: a print through the engine (Rust bars + VWAP + volume profile + delta, the
strategy hook at each bar close) and the per-bar hook, for PDH_PDL (the heaviest of the three:
ATR, ADX, relative volume, levels, profile and delta) on MGC 5-minute bars. Figures:
BENCHMARKS.md ("Strategies"). Gates: about 10x the measured medians.

Each round takes the next 1000 prints (or bars) of a prepared random walk, so time only moves
forward (a print older than the forming bar would be dropped, not timed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import msgspec
import numpy as np
from pytest_benchmark.fixture import BenchmarkFixture

from tsxbot.config import DEFAULTS_DIR
from tsxbot.config.bot_config import BotConfig
from tsxbot.config.instruments import Instruments, InstrumentsFile
from tsxbot.config.sources import load_yaml
from tsxbot.sessions import to_ns
from tsxbot.strategies.params import PdhPdlParams
from tsxbot.strategies.pdh_pdl import PdhPdl
from tsxbot.strategy import ClosedBar
from tsxbot.strategy.engine import StrategyEngine

N = 1000
ROUNDS, WARMUP = 200, 10
# Tue 2026-06-09 00:00 CT: a print a second (300 to a 5-minute bar), 210 rounds ~ 2.4 days.
START = to_ns(dt.datetime(2026, 6, 9, 5, 0, tzinfo=dt.UTC))
rng = np.random.default_rng(11)


def _engine() -> StrategyEngine:
    layer = load_yaml(DEFAULTS_DIR / "instruments.yaml", "instruments.yaml")
    mgc = Instruments(msgspec.convert(layer.data, InstrumentsFile).instruments).get("MGC")
    bot = msgspec.convert(
        {
            "bot": {"id": "b", "name": "b"},
            "instrument": {"symbol": "MGC"},
            "strategy": {"type": "PDH_PDL"},
            "tradingHours": {"start": "00:00", "end": "23:59"},
        },
        BotConfig,
    )
    params = PdhPdlParams(dollar_risk_per_trade=100, max_risk_points=3.0)
    return StrategyEngine(PdhPdl, params, bot, mgc)


def _prints(count: int, spacing_ns: int) -> list[tuple[int, float, float, int]]:
    walk = 2000 + np.round(np.cumsum(rng.normal(0, 0.05, count)) * 10) / 10
    sizes = rng.integers(1, 6, count)
    sides = rng.choice([1, -1], count)
    return [
        (START + i * spacing_ns, float(p), float(s), int(a))
        for i, (p, s, a) in enumerate(zip(walk, sizes, sides, strict=True))
    ]


def _chunks(items: list[object]) -> Iterator[tuple[tuple[list[object]], dict[str, object]]]:
    for i in range(0, len(items), N):
        yield (items[i : i + N],), {}


def test_bench_print_through_the_engine(benchmark: BenchmarkFixture) -> None:
    engine = _engine()
    prints = _prints((ROUNDS + WARMUP) * N, 1_000_000_000)
    chunks = _chunks(prints)  # type: ignore[arg-type]
    on_print = engine.on_print

    def run(chunk: list[tuple[int, float, float, int]]) -> None:
        for ts, price, size, side in chunk:
            on_print(ts, price, size, side)

    benchmark.pedantic(run, setup=lambda: next(chunks), rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    ns = benchmark.stats.stats.median / N * 1e9
    benchmark.extra_info["ns_per_print"] = round(ns)
    assert engine.ctx.profile.initialized and engine.strategy.levels.previous is not None
    # Measured ~0.36-0.40 us a print, median (BENCHMARKS.md; the target is 5 us); gate 4 us.
    assert ns < 4_000, f"{ns:.0f} ns a print"


def test_bench_pdh_pdl_per_bar_hook(benchmark: BenchmarkFixture) -> None:
    engine = _engine()
    walk = 2000 + np.cumsum(rng.normal(0, 1.0, (ROUNDS + WARMUP) * N))
    spans = rng.uniform(0.3, 2.0, len(walk))
    bars = []
    for i, (c, s) in enumerate(zip(walk, spans, strict=True)):
        start = START + i * 300_000_000_000
        close = float(round(c * 10) / 10)
        bars.append(
            ClosedBar(
                start,
                start + 300_000_000_000,
                close,
                close + float(s),
                close - float(s),
                close,
                100.0,
                60.0,
                40.0,
            )
        )
    chunks = _chunks(bars)  # type: ignore[arg-type]
    on_bar = engine.strategy.on_bar

    def run(chunk: list[ClosedBar]) -> None:
        for bar in chunk:
            engine.ctx.now = bar.end
            on_bar(bar)

    benchmark.pedantic(run, setup=lambda: next(chunks), rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    ns = benchmark.stats.stats.median / N * 1e9
    benchmark.extra_info["ns_per_bar"] = round(ns)
    # Measured ~1.9 us a bar, median (BENCHMARKS.md); gate 20 us.
    assert ns < 20_000, f"{ns:.0f} ns a bar"
