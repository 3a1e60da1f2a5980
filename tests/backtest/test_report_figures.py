"""The backtest's report comes from the trades its own matcher closed and the mark-to-market
equity it sampled after each fill (``report_from_trades``); it must equal, figure for figure, the
report of the P&L module's ledger over the run's fills (``build_report``, the code of
``tsxbot report`` and of live trading)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from support.bench_backtest import bench_bars, write_config
from tsxbot.backtest import Backtest, FillSettings, MinuteBars
from tsxbot.backtest.data import synthetic_bars
from tsxbot.config import Config, load_config
from tsxbot.pnl.ledger import Ledger
from tsxbot.report.model import build_report, report_from_trades


def _check(backtest: Backtest, config: Config) -> None:
    capital = config.global_config.risk.starting_balance
    specs = {backtest.symbol: backtest.spec}
    ledger = Ledger(specs)
    mtm = []
    for fill in backtest.executions:
        ledger.apply(fill)
        mtm.append(ledger.total().net)
    assert backtest._mtm == mtm  # the same samples, bit for bit
    assert backtest.round_trips == ledger.trades
    assert backtest.round_trips, "the run closed no trade: nothing compared"
    expected = build_report(backtest.executions, specs, capital=capital)
    assert report_from_trades(backtest.round_trips, backtest._mtm, capital=capital) == expected


def test_the_benchmark_strategy_report_equals_the_ledgers(tmp_path: Path) -> None:
    d = bench_bars(3)
    config = load_config(write_config(tmp_path), env={})
    bars = MinuteBars("MES", 0.25, d["t"], d["o"], d["h"], d["l"], d["c"], d["v"])
    backtest = Backtest(config.bots["bench"], config, FillSettings(), account_checks=False)
    backtest.run(bars)
    _check(backtest, config)


@pytest.mark.parametrize("slippage", [0, 2])
def test_a_bot_with_stops_targets_and_trailing_report_equals_the_ledgers(slippage: int) -> None:
    """The example EMA_CROSS bot on the synthetic market: stops, targets, break-even and
    trailing exits, several trading days, account checks on."""
    config = load_config(Path(__file__).parents[2] / "config", env={})
    settings = config.bots["bot_2"]
    bars = synthetic_bars(settings.instrument, 5, 7, dt.date(2026, 11, 24))
    backtest = Backtest(settings, config, FillSettings(slippage_ticks=slippage))
    result = backtest.run(bars)
    assert {"stop", "target"} <= {f.role for f in result.fills}
    _check(backtest, config)
