"""The exchange fill model on hand-made prints: what the simulator's matching engine does that
the bars model cannot (a resting target's queue position), and its command-line checks.

The scripted bot buys 2 MES at the 09:32 CT bar's close, its bracket 5 points below and 10 points
above the fill (5000.00: the book's ask at a flat 5000.00 market); at 09:36 the test's prints
come to the target's price."""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec
import pytest

from support.backtest_bars import ADDER_BOT, DAY, make_config, minute, scripted_bot
from tsxbot.backtest import BacktestResult
from tsxbot.cli import main

Print = tuple[float, int, str]  # price, size, aggressor (B buy / A sell)
TARGET_BOT = scripted_bot(side="long", stop_points=5.0, target_points=10.0)


def _run(
    tmp_path: Path,
    at_0936: list[Print],
    fill_model: str,
    bot_text: str = TARGET_BOT,
    minute_at: str = "09:36",
) -> list[tuple[str, int, float, str]]:
    make_config(tmp_path, bot_text)
    data = tmp_path / "trades.csv"
    with data.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ts_event", "price", "size", "side", "symbol"])
        t, end = minute(DAY, "08:00"), minute(DAY, "10:30")
        while t < end:
            prints = [(5000.0, 1, "B")] + (at_0936 if t == minute(DAY, minute_at) else [])
            for k, (price, size, side) in enumerate(prints):
                writer.writerow([t + k * 1_000_000_000, price, size, side, "MES"])
            t += 60 * 10**9
    out = tmp_path / f"{fill_model}.json"
    bot = tmp_path / "config" / "bots" / "bot_s.yaml"
    args = ["backtest", "--bot", str(bot), "--data", str(data), "--limit-fill", "touch"]
    assert main([*args, "--fill-model", fill_model, "--json", str(out), "--quiet"]) == 0
    result = msgspec.json.decode(out.read_bytes(), type=BacktestResult)
    assert result.fill_model == fill_model
    return [(f.time.strftime("%H:%M:%S"), f.quantity, f.price, f.role) for f in result.fills]


ENTRY = ("15:32:00", 2, 5000.0, "entry")


def test_a_target_touched_by_a_few_lots_stays_in_the_queue(tmp_path: Path) -> None:
    """Three 1-lot buys at 5010.00: the bars model (touch) fills the target; at the exchange the
    displayed size queued ahead of it has not traded, so it is still working at the end."""
    touches = [(5010.0, 1, "B")] * 3
    assert _run(tmp_path / "b", touches, "bars") == [ENTRY, ("15:36:00", 2, 5010.0, "target")]
    assert _run(tmp_path / "e", touches, "exchange") == [ENTRY, ("16:30:00", 2, 4999.75, "end of data")]


FULL = [("15:36:01", 2, 5010.0, "target")]
# A 1-lot sell at our price (the bid came up to our offer: we were there first): one of the two
# contracts fills; the other is still working at the end of the data and is closed there.
PARTIAL = [("15:36:02", 1, 5010.0, "target"), ("16:30:00", 1, 4999.75, "end of data")]


@pytest.mark.parametrize(
    ("prints", "fills"),
    [
        ([(5010.0, 10_000, "B")], FULL),  # enough traded at the price: the queue ahead is gone
        ([(5010.25, 1, "B")], FULL),  # a print through the price fills it at once
        ([(5009.0, 1, "B"), (5010.0, 1, "A")], PARTIAL),
    ],
)
def test_the_exchange_fills_the_target_as_its_queue_and_the_prints_allow(
    tmp_path: Path, prints: list[Print], fills: list[tuple[str, int, float, str]]
) -> None:
    assert _run(tmp_path, prints, "exchange") == [ENTRY, *fills]


@pytest.mark.parametrize(
    "args",
    [
        ["--synthetic", "--to", "2026-11-24"],
        ["--data", "a.csv", "--data", "b.csv"],
    ],
)
def test_the_exchange_model_replays_exactly_one_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    make_config(tmp_path, scripted_bot())
    bot = tmp_path / "config" / "bots" / "bot_s.yaml"
    assert main(["backtest", "--bot", str(bot), *args, "--fill-model", "exchange", "--quiet"]) == 2
    assert "--fill-model exchange replays one --data file" in capsys.readouterr().err


def test_a_scale_in_gets_one_stop_at_the_exchange(tmp_path: Path) -> None:
    """Two entries (stops 20 and 8 ticks below 5000): after the second, both stop legs work at
    the tighter 4998 (modified at the exchange, as the bot's UPDATE_SLTP does); a 4997.75 print
    triggers both, each then sells into the book below the print."""
    got = _run(tmp_path, [(4997.75, 1, "A")], "exchange", ADDER_BOT, "09:45")
    assert got[:2] == [("15:32:00", 1, 5000.0, "entry"), ("15:40:00", 1, 5000.0, "entry")]
    stops = got[2:]
    assert [(t, q, role) for t, q, _p, role in stops] == [("15:45:01", 1, "stop"), ("15:45:01", 1, "stop")]
    assert all(4996.0 <= p <= 4997.75 for _t, _q, p, _r in stops), stops


def test_a_strategy_exit_is_a_market_order_and_the_bracket_is_cancelled(tmp_path: Path) -> None:
    """The scripted exit two bars after the entry: a reduce-only market sell into the bid at the
    bar's close; the bracket's legs are cancelled then, so the print through the old target at
    09:36 fills nothing."""
    bot = scripted_bot(side="long", stop_points=5.0, target_points=10.0, exit_after=2)
    got = _run(tmp_path, [(5010.25, 1, "B")], "exchange", bot)
    assert got == [ENTRY, ("15:34:00", 2, 4999.75, "exit")]
