"""A trial is scored on the backtest's summary alone: the same figures as the full result's."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import msgspec
import optuna
import pytest

from support.bench_backtest import bench_bars, write_config
from tsxbot.backtest import MinuteBars
from tsxbot.config import load_config
from tsxbot.optimize.space import Range, Scalar
from tsxbot.optimize.study import Optimizer
from tsxbot.pnl.metrics import TradeMetrics


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


def test_a_repeated_parameter_set_is_scored_once_per_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sampler drawing params already scored on the same data gets the earlier trial's value
    (a backtest is a pure function of them); other data is backtested again."""
    data = bench_bars(2)
    config = load_config(write_config(tmp_path), env={})
    bars = MinuteBars("MES", 0.25, data["t"], data["o"], data["h"], data["l"], data["c"], data["v"])
    first, second = bars.between(None, int(data["t"][1380])), bars.between(int(data["t"][1380]), None)
    optimizer = Optimizer(
        config, config.bots["bench"], [Range("fastPeriod", 5, 6, integer=True)], account_checks=False
    )
    runs: list[dict[str, object]] = []
    metrics = optimizer.metrics

    def counted(changes: dict[str, Scalar], *args: Any) -> TradeMetrics:
        runs.append(dict(changes))
        return metrics(changes, *args)

    monkeypatch.setattr(optimizer, "metrics", counted)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3), direction="maximize")
    optimizer.optimize(study, first, None, 8)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 8
    assert sorted(map(str, runs)) == sorted({str(r) for r in runs}) and len(runs) == 2  # each set once
    for t in trials:
        same = [u for u in trials if u.params == t.params]
        assert {u.value for u in same} == {t.value}
        if "same_as" in t.user_attrs:
            original = trials[t.user_attrs["same_as"]]
            assert original.params == t.params and "same_as" not in original.user_attrs
            assert t.user_attrs["trades"] == original.user_attrs["trades"]
    assert optimizer.metrics({"fastPeriod": 5}, first, None).net_pnl in {t.value for t in trials}
    # The same study on other bars: backtested again, not taken from the first bars' trials.
    optimizer.optimize(study, second, first, 12)
    assert len(runs) == 4


def test_workers_sample_with_their_own_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--jobs 3 --sampler-seed 5``: this process samples with 5, its two workers with 6 and 7
    (one seed everywhere draws the same params in every worker)."""
    import argparse

    from tsxbot.cli import build_parser
    from tsxbot.cli.optimize_cmd import _spawn_workers

    started: list[list[str]] = []

    class Fake:
        def __init__(self, argv: list[str], **_: object) -> None:
            started.append(argv)

    monkeypatch.setattr("tsxbot.cli.optimize_cmd.subprocess.Popen", Fake)
    argv = ["optimize", "--bot", "b.yaml", "--synthetic", "--param", "fastPeriod=4:12", "--sampler-seed", "5"]
    args = build_parser().parse_args(argv)
    args.argv, args.jobs = argv, 3
    _spawn_workers(args, "study.journal", "s")
    seeds = [build_parser().parse_args(a[3:]).sampler_seed for a in started]
    assert seeds == [6, 7]
    args.sampler_seed = None
    started.clear()
    _spawn_workers(argparse.Namespace(**{**vars(args), "argv": argv[:-2]}), "study.journal", "s")
    assert [build_parser().parse_args(a[3:]).sampler_seed for a in started] == [None, None]


def test_a_changed_bot_config_is_other_data_for_repeated_params(tmp_path: Path) -> None:
    """The fingerprint repeated params are matched on covers the whole bot config (not only its
    strategy params), the instrument and the account's limits: a study resumed after the bot's
    yaml changed scores its repeated params anew."""
    data = bench_bars(1)
    config = load_config(write_config(tmp_path), env={})
    bars = MinuteBars("MES", 0.25, data["t"], data["o"], data["h"], data["l"], data["c"], data["v"])
    settings = config.bots["bench"]
    space = [Range("fastPeriod", 5, 6, integer=True)]

    def fingerprint(s: Any) -> str:
        return Optimizer(config, s, space, account_checks=False).fingerprint(bars, None)

    assert fingerprint(settings) == fingerprint(settings)
    cooled = msgspec.structs.replace(settings.config, signal_cooldown_minutes=7)
    assert fingerprint(dataclasses.replace(settings, config=cooled)) != fingerprint(settings)
    sized = msgspec.structs.replace(settings.config, max_order_size=settings.config.max_order_size + 1)
    assert fingerprint(dataclasses.replace(settings, config=sized)) != fingerprint(settings)
    fees = msgspec.structs.replace(settings.instrument, tick_size=settings.instrument.tick_size * 2)
    assert fingerprint(dataclasses.replace(settings, instrument=fees)) != fingerprint(settings)
