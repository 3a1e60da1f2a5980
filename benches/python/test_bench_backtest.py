"""The backtester on the issue's benchmark strategy (EMA 9/21 crossover reversing on each cross,
one contract, market orders at the next bar's open, bars fill model; ``support.bench_backtest``),
on 20 trading days of its seeded random walk (27,600 one-minute bars; the full year is
``benches/backtest_peers.py``'s). Figures: BENCHMARKS.md ("Backtester"). Gate: about 10x the
measured median per bar, report included.

The run must also give the plain-Python reference's fills, price for price."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from support.bench_backtest import bench_bars, reference_run, write_config
from tsxbot.backtest import Backtest, BacktestResult, FillSettings, MinuteBars
from tsxbot.config import load_config

DAYS = 20


def test_bench_backtest_ema_reverse(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    data = bench_bars(DAYS)
    config = load_config(write_config(tmp_path), env={})
    bars = MinuteBars("MES", 0.25, data["t"], data["o"], data["h"], data["l"], data["c"], data["v"])
    backtest = Backtest(config.bots["bench"], config, FillSettings(), account_checks=False)
    results: list[BacktestResult] = []
    benchmark.pedantic(lambda: results.append(backtest.run(bars)), rounds=3, warmup_rounds=0)
    result = results[-1]
    fills, gross = reference_run(data["o"].tolist(), data["c"].tolist())
    traded = [(f.side, f.price) for f in result.fills if f.role != "end of data"]
    assert traded == [("BUY" if side > 0 else "SELL", price) for _, side, price in fills]
    closed = [t for t in result.trades if t.exit_reason != "end of data"]
    # Each trade's gross is rounded to the cent in the report.
    assert sum(t.gross_pnl for t in closed) == pytest.approx(gross * 5.0, abs=0.005 * len(closed))
    us = benchmark.stats.stats.median / len(bars) * 1e6
    benchmark.extra_info["us_per_bar"] = us
    assert us < 50, f"{us:.0f} us a bar"
