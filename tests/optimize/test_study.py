"""A trial is scored on the backtest's summary alone: the same figures as the full result's."""

from __future__ import annotations

from pathlib import Path

from support.bench_backtest import bench_bars, write_config
from tsxbot.backtest import MinuteBars
from tsxbot.config import load_config
from tsxbot.optimize.space import Range
from tsxbot.optimize.study import Optimizer


def test_a_trial_s_metrics_are_the_full_backtest_s_summary(tmp_path: Path) -> None:
    data = bench_bars(4)
    config = load_config(write_config(tmp_path), env={})
    bars = MinuteBars("MES", 0.25, data["t"], data["o"], data["h"], data["l"], data["c"], data["v"])
    warmup, traded = bars.between(None, int(data["t"][1380])), bars.between(int(data["t"][1380]), None)
    optimizer = Optimizer(
        config, config.bots["bench"], [Range("fastPeriod", 4, 12, integer=True)], account_checks=False
    )
    for fast in (5, 9):
        full = optimizer.backtest({"fastPeriod": fast}, traded, warmup)
        assert full.report.summary.trades > 100
        assert optimizer.metrics({"fastPeriod": fast}, traded, warmup) == full.report.summary
