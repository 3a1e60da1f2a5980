"""A search over a bot's strategy parameters with Optuna, each trial a ``tsxbot.backtest`` run.

- ``objective``: ``net`` (net P&L), ``sharpe`` (daily Sharpe) or ``profit_factor`` (maximised);
  a trial with fewer than ``min_trades`` closed trades, an undefined figure (a Sharpe without two
  trading days) or params the strategy refuses is pruned (never the best), its ``rejected``
  attribute saying why. A profit factor without a loss (but with wins) is +inf.
- ``sampler``: ``grid`` (every point of the space; ranges need steps), ``random`` or ``tpe``
  (seeded).
- ``storage``: None (a journal file in a temporary directory, shared by this machine's worker
  processes), ``redis://host:port/db`` (Optuna's Redis journal: workers on other machines join
  the same study by running the same command with the same ``--storage`` and ``--study``), or a
  database URL (``sqlite:///...``, ``postgresql+psycopg://...``).
- Walk-forward (``walk_forward(in_days, out_days)``): rolling windows of trading days; each
  window's in-sample study picks the parameters, which are then backtested on the next
  ``out_days`` (out of sample). The out-of-sample results are the ones to trust.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import warnings
from collections.abc import Callable
from typing import Any, Literal

import msgspec
import numpy as np
import optuna

from tsxbot import __version__
from tsxbot.backtest import Backtest, BacktestResult, FillSettings, MinuteBars, StrategyError
from tsxbot.config import Config
from tsxbot.config.loader import BotSettings
from tsxbot.config.validate import format_path, validate
from tsxbot.optimize.space import Choice, Dimension, Range, Scalar, grid
from tsxbot.pnl.metrics import TradeMetrics

__all__ = ["Objective", "Optimizer", "SamplerName", "score", "settings_with", "storage_for"]

Objective = Literal["net", "sharpe", "profit_factor"]
SamplerName = Literal["grid", "random", "tpe"]


class ParamsError(ValueError):
    """Parameters the strategy refuses (the config loader's messages)."""


def score(metrics: TradeMetrics, objective: Objective, min_trades: int) -> tuple[float, str | None]:
    """The trial's value, and why it was rejected (None when it was not)."""
    if metrics.trades < min_trades:
        return -math.inf, f"{metrics.trades} trades < minTrades {min_trades}"
    if objective == "net":
        return metrics.net_pnl, None
    if objective == "sharpe":
        if metrics.sharpe is None:
            return -math.inf, "Sharpe undefined (fewer than two trading days or no variation)"
        return metrics.sharpe, None
    if metrics.profit_factor is None:
        return (math.inf, None) if metrics.wins else (-math.inf, "no win and no loss")
    return metrics.profit_factor, None


def settings_with(settings: BotSettings, changes: dict[str, Scalar]) -> BotSettings:
    """The bot with ``changes`` (camelCase) applied to its strategy params, validated as the
    config loader validates them."""
    current = msgspec.to_builtins(settings.params)
    assert isinstance(current, dict)
    unknown = [k for k in changes if k not in current]
    if unknown:
        raise ParamsError(f"unknown strategy params {unknown} (known: {sorted(current)})")
    params, problems = validate({**current, **changes}, type(settings.params))
    if params is None or problems:
        raise ParamsError(
            "; ".join(f"{format_path(p.path)}: {p.message}" for p in problems) or "invalid params"
        )
    return dataclasses.replace(settings, params=params)


def sampler_for(name: SamplerName, space: list[Dimension], seed: int | None) -> optuna.samplers.BaseSampler:
    if name == "grid":
        return optuna.samplers.GridSampler(grid(space), seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def storage_for(url: str) -> optuna.storages.BaseStorage:
    """``redis://...`` (a Redis journal), a database URL, or a journal file path."""
    from optuna.storages.journal import JournalFileBackend, JournalRedisBackend, JournalStorage

    if url.startswith(("redis://", "rediss://", "unix://")):
        with warnings.catch_warnings():  # "experimental" since Optuna 3.1; the interface we use is stable
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return JournalStorage(JournalRedisBackend(url))
    if "://" in url:
        return optuna.storages.RDBStorage(url)
    return JournalStorage(JournalFileBackend(url))


def _suggest(trial: optuna.Trial, dimension: Dimension) -> Scalar:
    if isinstance(dimension, Choice):
        choice = trial.suggest_categorical(dimension.name, list(dimension.choices))
        assert choice is not None
        return choice
    assert isinstance(dimension, Range)
    if dimension.integer:
        step = int(dimension.step) if dimension.step is not None else 1
        return trial.suggest_int(dimension.name, int(dimension.low), int(dimension.high), step=step)
    return trial.suggest_float(dimension.name, dimension.low, dimension.high, step=dimension.step)


class Optimizer:
    def __init__(
        self,
        config: Config,
        settings: BotSettings,
        space: list[Dimension],
        *,
        objective: Objective = "net",
        min_trades: int = 1,
        fills: FillSettings | None = None,
        account_checks: bool = True,
    ) -> None:
        self.config = config
        self.settings = settings
        self.space = space
        self.objective = objective
        self.min_trades = min_trades
        self.fills = fills or FillSettings()
        self.account_checks = account_checks
        for dimension in space:  # every name must be one of the strategy's params
            sample: Scalar = dimension.choices[0] if isinstance(dimension, Choice) else dimension.low
            if isinstance(dimension, Range) and dimension.integer:
                sample = int(dimension.low)
            settings_with(settings, {dimension.name: sample})

    def backtest(
        self, changes: dict[str, Scalar], bars: MinuteBars, warmup: MinuteBars | None
    ) -> BacktestResult:
        return self._backtest(changes).run(bars, warmup=warmup)

    def metrics(
        self, changes: dict[str, Scalar], bars: MinuteBars, warmup: MinuteBars | None
    ) -> TradeMetrics:
        """The backtest's summary alone (what a trial is scored on; ``backtest(...).report.summary``)."""
        return self._backtest(changes).summary(bars, warmup=warmup)

    def _backtest(self, changes: dict[str, Scalar]) -> Backtest:
        settings = settings_with(self.settings, changes)
        return Backtest(settings, self.config, self.fills, account_checks=self.account_checks)

    def fingerprint(self, bars: MinuteBars, warmup: MinuteBars | None) -> str:
        """What a trial's value depends on besides its params: the whole bot config (its other
        params, exits, limits, hours), its instrument (tick, fees), the account's risk limits,
        the fills, the account checks, the objective, the bars (their times and prices) and
        tsxbot's version. Two trials of a study with the same params and fingerprint have the
        same value (a backtest is a pure function of these); a study resumed after any of them
        changed scores its repeated params anew."""
        digest = hashlib.sha256()
        settings = self.settings
        digest.update(
            msgspec.json.encode([__version__, settings.config, settings.params, settings.instrument])
        )
        digest.update(msgspec.json.encode([self.config.global_config.risk, self.fills]))
        digest.update(msgspec.json.encode([self.account_checks, self.objective, self.min_trades]))
        for part in (warmup, bars):
            if part is not None:
                for column in (part.t, part.o, part.h, part.low, part.c, part.v):
                    digest.update(np.ascontiguousarray(column).tobytes())
            digest.update(b"|")
        return digest.hexdigest()[:16]

    def objective_fn(
        self, bars: MinuteBars, warmup: MinuteBars | None, worker: str
    ) -> Callable[[optuna.Trial], float]:
        fingerprint = self.fingerprint(bars, warmup)

        def run(trial: optuna.Trial) -> float:
            changes = {d.name: _suggest(trial, d) for d in self.space}
            trial.set_user_attr("worker", worker)
            trial.set_user_attr("data", fingerprint)
            earlier = _same_trial(trial, fingerprint)
            if earlier is not None:  # these params were scored already: the same value, not rerun
                trial.set_user_attr("same_as", earlier.number)
                for key in ("trades", "net_pnl", "rejected"):
                    if key in earlier.user_attrs:
                        trial.set_user_attr(key, earlier.user_attrs[key])
                if earlier.state == optuna.trial.TrialState.PRUNED:
                    raise optuna.TrialPruned(earlier.user_attrs.get("rejected", "pruned"))
                assert earlier.value is not None
                return earlier.value
            try:
                summary = self.metrics(changes, bars, warmup)
            except (ParamsError, StrategyError) as exc:  # fastPeriod >= slowPeriod, or a raise on a bar
                trial.set_user_attr("rejected", str(exc))
                raise optuna.TrialPruned(str(exc)) from None
            value, rejected = score(summary, self.objective, self.min_trades)
            trial.set_user_attr("trades", summary.trades)
            trial.set_user_attr("net_pnl", round(summary.net_pnl, 2))
            if rejected:  # pruned: never the best, kept out of the charts
                trial.set_user_attr("rejected", rejected)
                raise optuna.TrialPruned(rejected)
            return value

        return run

    def optimize(
        self,
        study: optuna.Study,
        bars: MinuteBars,
        warmup: MinuteBars | None,
        trials: int,
        *,
        worker: str | None = None,
    ) -> None:
        """Runs trials in this process until the study holds ``trials`` finished ones (workers
        sharing the study stop together)."""
        callback = optuna.study.MaxTrialsCallback(trials, states=None)
        study.optimize(
            self.objective_fn(bars, warmup, worker or f"{os.uname().nodename}:{os.getpid()}"),
            n_trials=trials,
            callbacks=[callback],
        )


def _same_trial(trial: optuna.Trial, fingerprint: str) -> optuna.trial.FrozenTrial | None:
    """An earlier finished trial of the study with the same params on the same data (the first)."""
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    for earlier in trial.study.get_trials(deepcopy=False, states=states):
        if (
            earlier.number != trial.number
            and earlier.params == trial.params
            and earlier.user_attrs.get("data") == fingerprint
            and "same_as" not in earlier.user_attrs
        ):
            return earlier
    return None


def best_params(study: optuna.Study) -> dict[str, Any] | None:
    """The best complete trial's params (None when every trial was rejected)."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return None
    return dict(study.best_trial.params)
