"""``tsxbot backtest`` as a user runs it: a bot YAML, a data file (bars or trades CSV) or the
synthetic market, and the terminal report, the JSON (its documented schema), the trades CSV and
the HTML report."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import msgspec
import pytest

from support.backtest_bars import DAY, day_bars, make_config, minute, scripted_bot
from tsxbot.backtest import BacktestResult
from tsxbot.cli import main
from tsxbot.sessions import from_ns


def bot_file(tmp_path: Path, **params: object) -> Path:
    make_config(tmp_path, scripted_bot(**params))
    return tmp_path / "config" / "bots" / "bot_s.yaml"


def write_bars_csv(path: Path, rows: list) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "open", "high", "low", "close", "volume", "symbol"])
        for t, (o, h, lo, c) in rows:
            writer.writerow([from_ns(t).isoformat(), o, h, lo, c, 100, "MESZ6"])
    return path


def test_backtest_a_bars_file_writes_json_trades_csv_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = bot_file(tmp_path, side="long", stop_points=5.0, target_points=40.0)
    data = write_bars_csv(
        tmp_path / "bars.csv", day_bars(DAY, 5000.0, {"09:41": (5001.0, 5041.5, 5001.0, 5001.0)})
    )
    out_json, out_csv, out_html = tmp_path / "bt.json", tmp_path / "trades.csv", tmp_path / "bt.html"
    code = main(
        [
            "backtest",
            "--bot",
            str(bot),
            "--data",
            str(data),
            "--slippage-ticks",
            "1",
            "--json",
            str(out_json),
            "--trades-csv",
            str(out_csv),
            "--html",
            str(out_html),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "scripted" in printed and "target" in printed and "Net P&L" in printed
    result = msgspec.json.decode(out_json.read_bytes(), type=BacktestResult)
    assert result.schema_version == 1 and result.kind == "backtest" and result.fill_model == "bars"
    assert [(f.side, f.price, f.role) for f in result.fills] == [
        ("BUY", 5000.25, "entry"),
        ("SELL", 5040.25, "target"),
    ]
    assert result.report.summary.trades == len(result.trades) == 1
    raw = json.loads(out_json.read_text())
    assert raw["trades"][0]["entry_reason"] == "scripted entry"
    assert raw["data"]["bars"] == 150 and raw["data"]["symbol"] == "MES"
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and rows[0]["exit_reason"] == "target"
    assert float(rows[0]["net_pnl"]) == pytest.approx(result.trades[0].net_pnl)
    html = out_html.read_text()
    assert "<html" in html and "plotly" in html.lower()
    assert 'id="backtest-trades"' in html and "scripted entry" in html and ">target<" in html


def test_backtest_a_trades_file_uses_the_prints_for_stop_or_target(tmp_path: Path) -> None:
    bot = bot_file(tmp_path, side="long", stop_points=5.0, target_points=40.0)
    path = tmp_path / "trades.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ts_event", "price", "size", "side", "symbol"])
        t, end = minute(DAY, "08:00"), minute(DAY, "10:30")
        while t < end:
            prices = [5000.0]
            if t == minute(DAY, "09:36"):
                prices = [5000.0, 5041.0, 4990.0, 5000.0]  # the target (through) before the stop
            for k, price in enumerate(prices):
                writer.writerow([t + k * 1_000_000_000, price, 1, "B", "MES"])
            t += 60 * 10**9
    out_json = tmp_path / "bt.json"
    assert main(["backtest", "--bot", str(bot), "--data", str(path), "--json", str(out_json), "--quiet"]) == 0
    result = msgspec.json.decode(out_json.read_bytes(), type=BacktestResult)
    assert result.data.prints
    assert [(f.time.strftime("%H:%M"), f.price, f.role) for f in result.fills] == [
        ("15:32", 5000.0, "entry"),
        ("15:36", 5040.0, "target"),
    ]


def test_synthetic_backtest_of_the_example_bot_is_deterministic(tmp_path: Path) -> None:
    bot = Path(__file__).parents[2] / "config" / "bots" / "bot_2.yaml"
    outs = []
    for k in range(2):
        out = tmp_path / f"bt{k}.json"
        args = [
            "backtest",
            "--bot",
            str(bot),
            "--synthetic",
            "--days",
            "3",
            "--seed",
            "5",
            "--to",
            "2026-11-24",
        ]
        assert main([*args, "--json", str(out), "--quiet"]) == 0
        outs.append(msgspec.json.decode(out.read_bytes(), type=BacktestResult))
    a, b = outs
    assert [msgspec.to_builtins(f) for f in a.fills] == [msgspec.to_builtins(f) for f in b.fills]
    assert a.strategy == "EMA_CROSS" and a.data.warmup_bars > 0
    assert a.data.first_bar is not None and a.data.first_bar.date() >= dt.date(2026, 11, 19)
    assert a.data.last_bar is not None and a.data.last_bar < dt.datetime(2026, 11, 24, 22, tzinfo=dt.UTC)
    assert len(a.trades) == a.report.summary.trades > 0
    assert sum(len(t.fill_ids) for t in a.trades) == len(a.fills)
    for trade in a.trades:
        assert trade.entry_reason and trade.exit_reason


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv"], "missing.csv: file not found"),
        (["--synthetic", "--days", "0", "--to", "2026-11-24"], "--days must be at least 1"),
        (["--synthetic", "--from", "2026-11-25", "--to", "2026-11-24"], "is after --to"),
        (["--synthetic", "--slippage-ticks", "-1", "--to", "2026-11-24"], "--slippage-ticks must be >= 0"),
    ],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    bot = bot_file(tmp_path)
    assert main(["backtest", "--bot", str(bot), *args, "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_several_files_and_a_period_trade_only_within_it(tmp_path: Path) -> None:
    bot = bot_file(tmp_path, side="long", stop_points=5.0, target_points=40.0)
    days = [DAY + dt.timedelta(days=k) for k in range(3)]  # Tue, Wed, Thu
    # One file a day; each day the target is reached at 09:41.
    files = [
        write_bars_csv(
            tmp_path / f"d{k}.csv", day_bars(day, 5000.0, {"09:41": (5000.0, 5041.0, 5000.0, 5000.0)})
        )
        for k, day in enumerate(days)
    ]
    out = tmp_path / "bt.json"
    args = ["backtest", "--bot", str(bot), "--from", days[1].isoformat(), "--to", days[1].isoformat()]
    for f in reversed(files):  # the order of the files does not matter
        args += ["--data", str(f)]
    assert main([*args, "--json", str(out), "--quiet"]) == 0
    result = msgspec.json.decode(out.read_bytes(), type=BacktestResult)
    assert [t.entry_time.date() for t in result.trades] == [days[1]]
    assert result.data.warmup_bars == 150  # the day before, fed to the strategy without trading
    assert result.data.bars == 150


def test_a_strategy_that_raises_stops_the_backtest_naming_the_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = bot_file(tmp_path, side="long", stop_points=5.0, target_points=40.0, raise_after=2)
    data = write_bars_csv(tmp_path / "bars.csv", day_bars(DAY, 5000.0, {}))
    assert main(["backtest", "--bot", str(bot), "--data", str(data), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "the strategy raised RuntimeError: scripted failure 2 bars after the entry" in err
    assert "on the bar 2026-11-24T15:33:00+00:00..2026-11-24T15:34:00+00:00 O 5000" in err
