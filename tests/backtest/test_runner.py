"""Backtests on hand-made bars with the scripted strategy: every fill known by construction
(the bars model: next open + slippage, the bracket from the fill in ticks, stops at price or gap,
limits through or touched, the stop first), and the metrics checked against a plain reference."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from support.backtest_bars import DAY, day_bars, make_config, minute, minute_bars, scripted_bot
from tsxbot.backtest import Backtest, BacktestResult, FillSettings
from tsxbot.config import Config
from tsxbot.pnl.contract import spec_for

FEE = 0.37  # MES, per contract per side (the simulator's table)
PV = 5.0


def run(config: Config, rows: list, **fills: object) -> BacktestResult:
    settings = config.bots["bot_s"]
    assert spec_for(settings.instrument, config.global_config.simulator.exchange).fee_per_side == FEE
    return Backtest(settings, config, FillSettings(**fills)).run(minute_bars(rows))  # type: ignore[arg-type]


def fills_of(result: BacktestResult) -> list[tuple[str, str, int, float, str]]:
    return [(f.time.strftime("%H:%M"), f.side, f.quantity, f.price, f.role) for f in result.fills]


@pytest.fixture
def long_config(tmp_path: Path) -> Config:
    return make_config(tmp_path, scripted_bot(side="long", stop_points=5.0, target_points=40.0))


@pytest.fixture
def short_config(tmp_path: Path) -> Config:
    return make_config(tmp_path, scripted_bot(side="short", stop_points=5.0, target_points=40.0))


def test_a_long_fills_at_the_next_open_plus_slippage_and_exits_at_its_target_through(
    long_config: Config,
) -> None:
    # Signal on the bar closing 09:32 CT (09:31 bar, close 5000): stop 4995 (20 ticks), target
    # 5040 (160 ticks). Entry at the 09:32 bar's open 5001 + 1 tick; bracket from the fill.
    rows = day_bars(
        DAY,
        5000.0,
        {
            "09:32": (5001.0, 5001.0, 5001.0, 5001.0),
            "09:40": (5001.0, 5041.25, 5001.0, 5001.0),  # touches the target 5041.25: not through
            "09:41": (5001.0, 5041.5, 5001.0, 5001.0),  # through by a tick
        },
    )
    result = run(long_config, rows, slippage_ticks=1)
    # 15:32 UTC = 09:32 CT
    assert fills_of(result) == [
        ("15:32", "BUY", 2, 5001.25, "entry"),
        ("15:41", "SELL", 2, 5041.25, "target"),
    ]
    (trade,) = result.trades
    assert trade.entry_reason == "scripted entry" and trade.exit_reason == "target"
    assert trade.gross_pnl == pytest.approx(40.0 * PV * 2)
    assert trade.fees == pytest.approx(4 * FEE)
    assert trade.net_pnl == pytest.approx(400.0 - 4 * FEE)
    assert result.report.summary.net_pnl == pytest.approx(400.0 - 4 * FEE)
    # R: net / (|entry - stop| x 2 x point value) = 398.52 / (5 x 2 x 5)
    assert trade.r_multiple == pytest.approx((400.0 - 4 * FEE) / 50.0)


def test_touch_mode_fills_the_target_on_the_touch(long_config: Config) -> None:
    rows = day_bars(
        DAY,
        5000.0,
        {"09:32": (5001.0, 5001.0, 5001.0, 5001.0), "09:40": (5001.0, 5041.25, 5001.0, 5001.0)},
    )
    result = run(long_config, rows, slippage_ticks=1, limit_fill="touch")
    assert fills_of(result)[1] == ("15:40", "SELL", 2, 5041.25, "target")


def test_a_short_stopped_by_a_gap_fills_at_the_open(short_config: Config) -> None:
    # Entry: sell at the 09:32 open 5000 - 1 tick = 4999.75; stop 4999.75 + 20 ticks = 5004.75.
    rows = day_bars(DAY, 5000.0, {"09:35": (5008.0, 5009.0, 5007.0, 5008.0)})
    result = run(short_config, rows, slippage_ticks=1)
    assert fills_of(result) == [("15:32", "SELL", 2, 4999.75, "entry"), ("15:35", "BUY", 2, 5008.0, "stop")]
    assert result.trades[0].net_pnl == pytest.approx((4999.75 - 5008.0) * PV * 2 - 4 * FEE)
    assert result.trades[0].exit_reason == "stop"


def test_a_bar_reaching_both_legs_takes_the_stop(long_config: Config) -> None:
    rows = day_bars(DAY, 5000.0, {"09:36": (5000.0, 5050.0, 4990.0, 5000.0)})
    result = run(long_config, rows)
    # Entry 5000 (no slippage): stop 4995, target 5040; the 09:36 bar reaches both.
    assert fills_of(result) == [("15:32", "BUY", 2, 5000.0, "entry"), ("15:36", "SELL", 2, 4995.0, "stop")]


def test_the_bracket_is_live_on_the_entry_bar_from_the_entry(long_config: Config) -> None:
    # The entry bar opens 5000 and trades down to 4994: the stop 4995 fills at its price.
    rows = day_bars(DAY, 5000.0, {"09:32": (5000.0, 5000.0, 4994.0, 4996.0)})
    result = run(long_config, rows)
    assert fills_of(result) == [("15:32", "BUY", 2, 5000.0, "entry"), ("15:32", "SELL", 2, 4995.0, "stop")]


def test_a_strategy_exit_is_a_market_order_at_the_next_open(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, scripted_bot(side="long", stop_points=5.0, target_points=40.0, exit_after=3)
    )
    # Entry bar (09:31, closes 09:32) + 3 bars: the exit is decided at the 09:35 close, filled at
    # the 09:35 bar's open 5002 - 1 tick.
    rows = day_bars(DAY, 5000.0, {"09:33": (5001.0, 5002.0, 5001.0, 5002.0)})
    result = run(config, rows, slippage_ticks=1)
    assert fills_of(result) == [("15:32", "BUY", 2, 5000.25, "entry"), ("15:35", "SELL", 2, 5001.75, "exit")]
    assert result.trades[0].exit_reason == "scripted exit"


def test_a_moved_stop_fills_where_it_was_moved(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, scripted_bot(side="long", stop_points=5.0, target_points=40.0, move_stop_after=2)
    )
    # The strategy moves its stop from 4995 to 4996 at the 09:34 close; the 09:40 bar trades 4995.5.
    rows = day_bars(DAY, 5000.0, {"09:40": (5000.0, 5000.0, 4995.5, 4996.0)})
    result = run(config, rows)
    assert fills_of(result)[-1] == ("15:40", "SELL", 2, 4996.0, "stop")
    assert result.trades[0].exit_reason == "stop (scripted tighten)"


def test_an_open_position_is_closed_at_the_last_close(long_config: Config) -> None:
    rows = day_bars(DAY, 5000.0, {"10:29": (5003.0, 5003.0, 5003.0, 5003.0)})
    result = run(long_config, rows)
    assert fills_of(result)[-1] == ("16:30", "SELL", 2, 5003.0, "end of data")


def test_an_entry_the_account_checks_refuse_is_reported_and_not_filled(tmp_path: Path) -> None:
    # The account allows one contract an order; the bot sizes two.
    config = make_config(
        tmp_path,
        scripted_bot(side="long", stop_points=5.0, target_points=40.0),
        "bot_s",
        "risk.maxOrderSize=1",
    )
    result = run(config, day_bars(DAY, 5000.0, {}))
    assert result.fills == []
    assert result.refusals == {"MAX_ORDER_SIZE": 1}
    assert any(s.kind.startswith("REFUSED_") and s.setup == "scripted entry" for s in result.skipped)


def test_metrics_over_several_days_match_a_plain_reference(long_config: Config) -> None:
    import datetime as dt

    days = [DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)]
    rows = []
    # Day 1: target (+40 points), day 2: stop (-5), day 3: target (+40); entries at 5000.
    rows += day_bars(days[0], 5000.0, {"09:40": (5000.0, 5041.0, 5000.0, 5000.0)})
    rows += day_bars(days[1], 5000.0, {"09:40": (5000.0, 5000.0, 4990.0, 4990.0)})
    rows += day_bars(days[2], 5000.0, {"09:50": (5000.0, 5040.25, 5000.0, 5000.0)})
    result = run(long_config, rows)
    assert [f.role for f in result.fills] == ["entry", "target", "entry", "stop", "entry", "target"]
    # The plain reference: pair each entry with its exit.
    nets = []
    for entry, exit_ in zip(result.fills[::2], result.fills[1::2], strict=True):
        sign = 1 if entry.side == "BUY" else -1
        nets.append((exit_.price - entry.price) * sign * entry.quantity * PV - (entry.fees + exit_.fees))
    assert nets == pytest.approx([400 - 4 * FEE, -50 - 4 * FEE, 400 - 4 * FEE])
    m = result.report.summary
    wins = [n for n in nets if n > 0]
    losses = [n for n in nets if n < 0]
    assert m.trades == 3 and m.wins == 2 and m.losses == 1
    assert m.net_pnl == pytest.approx(sum(nets))
    assert m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx(sum(wins) / -sum(losses))
    assert m.expectancy == pytest.approx(sum(nets) / 3)
    equity, peak, worst = 0.0, 0.0, 0.0
    for n in nets:
        equity += n
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    assert m.max_drawdown_closed == pytest.approx(worst)
    # Daily Sharpe over the three days, plain: mean / stdev (sample) x sqrt(252) of net / capital.
    capital = long_config.global_config.risk.starting_balance
    returns = [n / capital for n in nets]
    mean = sum(returns) / 3
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / 2)
    assert m.sharpe == pytest.approx(mean / sd * math.sqrt(252))
    assert [d.net_pnl for d in result.report.days] == pytest.approx([round(n, 2) for n in nets])


def test_the_entry_waits_for_the_open_of_the_next_bar_even_across_minutes_without_bars(
    long_config: Config,
) -> None:
    rows = [
        r
        for r in day_bars(DAY, 5000.0, {"09:45": (5010.0, 5010.0, 5010.0, 5010.0)})
        if not (minute(DAY, "09:32") <= r[0] < minute(DAY, "09:45"))
    ]
    result = run(long_config, rows)
    assert fills_of(result)[0] == ("15:45", "BUY", 2, 5010.0, "entry")


def test_a_scale_in_gets_one_stop_for_the_whole_position(tmp_path: Path) -> None:
    from support.backtest_bars import ADDER_BOT

    config = make_config(tmp_path, ADDER_BOT)
    # Entries at the 09:32 and 09:40 opens (5000): stops 4995 and 4998 (20 and 8 ticks). After
    # the second fill both contracts are protected at the tighter 4998; the 09:45 bar trades 4997.
    rows = day_bars(DAY, 5000.0, {"09:45": (5000.0, 5000.0, 4997.0, 4999.0)})
    result = run(config, rows)
    assert fills_of(result) == [
        ("15:32", "BUY", 1, 5000.0, "entry"),
        ("15:40", "BUY", 1, 5000.0, "entry"),
        ("15:45", "SELL", 1, 4998.0, "stop"),
        ("15:45", "SELL", 1, 4998.0, "stop"),
    ]
    # The first entry's stop was moved up to the second's; the second's was its own.
    assert [f.reason for f in result.fills[2:]] == ["scale-in", "stop"]
    assert result.trades[0].quantity == 2


def test_each_trade_s_excursions_are_its_held_bars_extremes(tmp_path: Path) -> None:
    """MAE / MFE (taken from the bars after the run, a stretch of bars at a time) equal a
    bar-by-bar walk: from the bar whose open filled the entry to the bar before the one whose
    open filled the exit, each bar's high and low, and the fills."""
    from support.bench_backtest import bench_bars, write_config
    from tsxbot.backtest import MinuteBars
    from tsxbot.config import load_config
    from tsxbot.sessions import to_ns

    data = bench_bars(3)
    config = load_config(write_config(tmp_path), env={})
    bars = MinuteBars("MES", 0.25, data["t"], data["o"], data["h"], data["l"], data["c"], data["v"])
    result = Backtest(config.bots["bench"], config, FillSettings(), account_checks=False).run(bars)
    starts = data["t"].tolist()
    index = {start: i for i, start in enumerate(starts)}
    highs, lows = data["h"].tolist(), data["l"].tolist()
    assert len(result.trades) > 100
    for trade in result.trades:
        first = index[to_ns(trade.entry_time)]
        last = len(starts) if trade.exit_reason == "end of data" else index[to_ns(trade.exit_time)]
        sign = 1.0 if trade.direction == "LONG" else -1.0
        prices = [price for i in range(first, last) for price in (highs[i], lows[i])]
        at_bars = [(price - trade.entry_price) * sign * 5.0 for price in prices]
        at_exit = (trade.exit_price - trade.entry_price) * sign * 5.0
        assert trade.mae == round(min(0.0, at_exit, *at_bars), 2)
        assert trade.mfe == round(max(0.0, at_exit, *at_bars), 2)


def test_the_garbage_collector_is_paused_for_a_run_only(tmp_path: Path) -> None:
    import gc

    from support.bench_backtest import bench_bars, write_config
    from tsxbot.backtest import MinuteBars
    from tsxbot.config import load_config

    data = bench_bars(1)
    config = load_config(write_config(tmp_path), env={})
    bars = MinuteBars("MES", 0.25, data["t"], data["o"], data["h"], data["l"], data["c"], data["v"])
    backtest = Backtest(config.bots["bench"], config, FillSettings(), account_checks=False)
    seen: list[bool] = []
    backtest.run(bars, progress=lambda _: seen.append(gc.isenabled()))
    assert seen and not any(seen)  # paused while running
    assert gc.isenabled()
    assert backtest.summary(bars).trades > 0 and gc.isenabled()
    gc.disable()
    try:
        backtest.run(bars)
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()


def test_the_fills_listed_are_the_fills_the_pnl_matched(tmp_path: Path) -> None:
    """The run keeps each fill as one plain row: the result's ``FillRow`` list and the P&L
    records (``executions``, what the ledger is given) are both built from it and agree, fill for
    fill, with the trades the run's matcher closed."""
    from support.backtest_bars import ADDER_BOT
    from tsxbot.messages import Side
    from tsxbot.sessions import to_ns

    config = make_config(tmp_path, ADDER_BOT)
    rows = day_bars(DAY, 5000.0, {"09:45": (5000.0, 5000.0, 4997.0, 4999.0)})
    backtest = Backtest(config.bots["bot_s"], config, FillSettings())
    result = backtest.run(minute_bars(rows))
    executions = backtest.executions
    assert [f.fill_id for f in result.fills] == ["bot_s-1", "bot_s-2", "bot_s-3", "bot_s-4"]
    assert result.fills == backtest.fill_rows
    for row, fill in zip(result.fills, executions, strict=True):
        assert (row.fill_id, to_ns(row.time), row.quantity, row.price, row.fees) == (
            fill.fill_id,
            fill.ts_ns,
            fill.quantity,
            fill.price,
            fill.fees,
        )
        assert fill.side is (Side.BUY if row.side == "BUY" else Side.SELL)
        assert (fill.bot_id, fill.symbol, fill.strategy) == ("bot_s", "MES", backtest._strategy_type)
    # The entries carry their stops (the trade's initial risk), the exits none.
    assert [f.stop_loss for f in executions] == [4995.0, 4998.0, None, None]
    (trade,) = backtest.round_trips
    assert trade.fill_ids == tuple(f.fill_id for f in executions)
    assert backtest._mtm[-1] == trade.net_pnl
