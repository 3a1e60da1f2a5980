"""The backtest's report comes from the trades its own matcher closed and the mark-to-market
equity it sampled after each fill (``report_from_trades``); it must equal, figure for figure, the
report of the P&L module's ledger over the run's fills (``build_report``, the code of
``tsxbot report`` and of live trading)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest

from support.bench_backtest import bench_bars, write_config
from tsxbot.backtest import Backtest, FillSettings, MinuteBars
from tsxbot.backtest.data import synthetic_bars
from tsxbot.config import Config, load_config
from tsxbot.pnl.ledger import Ledger
from tsxbot.report.model import build_report, report_from_trades


def _bar_excursions_loop(backtest: Backtest, bars: MinuteBars) -> dict[str, tuple[float, float]]:
    """The plain reference: each stretch of one position, its highest high and lowest low, one
    after the other (the loop ``Backtest._bar_excursions`` replaced with numpy)."""
    held = [h for h in backtest._held if h[0] < len(bars)]
    out: dict[str, tuple[float, float]] = {}
    for j, (start, trade, k, average, realized) in enumerate(held):
        end = held[j + 1][0] if j + 1 < len(held) else len(bars)
        if trade is None:
            continue
        high, low = max(bars.h[start:end].tolist()), min(bars.low[start:end].tolist())
        at_high = (high - average) * k + realized
        at_low = (low - average) * k + realized
        worst, best = (at_low, at_high) if k > 0 else (at_high, at_low)
        mae, mfe = out.get(trade, (0.0, 0.0))
        out[trade] = (min(mae, worst), max(mfe, best))
    return out


def _check(backtest: Backtest, config: Config, bars: MinuteBars) -> None:
    excursions = backtest._bar_excursions(bars)
    assert excursions, "no trade held through a bar: nothing compared"
    assert msgspec.json.encode(excursions) == msgspec.json.encode(_bar_excursions_loop(backtest, bars))
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
    _check(backtest, config, bars)


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
    _check(backtest, config, bars)
