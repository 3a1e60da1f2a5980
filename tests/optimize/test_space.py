"""Search spaces from the command line and YAML, and the objectives' scores."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tsxbot.optimize.space import Choice, Range, SpaceError, grid, parse_param, read_space
from tsxbot.optimize.study import score
from tsxbot.pnl.metrics import TradeMetrics


def test_ranges_and_choices_from_the_command_line() -> None:
    fast = parse_param("fastPeriod=5:9:2")
    assert fast == Range("fastPeriod", 5.0, 9.0, 2.0, integer=True)
    assert fast.values() == [5, 7, 9]
    assert parse_param("slowPeriod=20:22").values() == [20, 21, 22]  # integers step by 1
    assert parse_param("atrStopMultiplier=1.0:2.0:0.5").values() == [1.0, 1.5, 2.0]
    assert parse_param("entry=cross,retrace") == Choice("entry", ["cross", "retrace"])
    assert parse_param("reverseOnCross=true,false") == Choice("reverseOnCross", [True, False])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fastPeriod", "expected name=low:high"),
        ("fastPeriod=9:5", "high 5 is below low 9"),
        ("fastPeriod=a:b", "must be numbers"),
        ("fastPeriod=1:5:0", "step must be > 0"),
        ("x=1:2:3:4", "expected name=low:high"),
    ],
)
def test_bad_ranges_are_named(text: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        parse_param(text)


def test_a_float_range_without_a_step_has_no_grid() -> None:
    with pytest.raises(SpaceError, match="needs a step"):
        grid([parse_param("atrStopMultiplier=1.0:2.0")])


def test_a_space_file(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("params:\n  fastPeriod: {low: 5, high: 9, step: 2}\n  entry: [cross, retrace]\n")
    assert grid(read_space(path)) == {"fastPeriod": [5, 7, 9], "entry": ["cross", "retrace"]}
    path.write_text("params:\n  fastPeriod: {low: 5, top: 9}\n")
    with pytest.raises(SpaceError, match="fastPeriod"):
        read_space(path)
    path.write_text("nothing: 1\n")
    with pytest.raises(SpaceError, match="expected a mapping 'params'"):
        read_space(path)


def _metrics(**kw: object) -> TradeMetrics:
    base: dict[str, object] = {
        "trades": 10, "gross_pnl": 120.0, "fees": 20.0, "net_pnl": 100.0, "wins": 6, "losses": 4,
        "win_rate": 0.6, "profit_factor": 1.5, "expectancy": 10.0, "average_win": 50.0, "average_loss": -50.0,
        "largest_win": 80.0, "largest_loss": -60.0, "longest_losing_streak": 2, "max_drawdown_closed": 90.0,
        "max_drawdown_mtm": None, "sharpe": 1.2, "sortino": 1.5, "average_r": 0.2, "average_mae": -10.0,
        "average_mfe": 20.0, "average_time_in_trade_s": 300.0,
    }  # fmt: skip
    base.update(kw)
    return TradeMetrics(**base)  # type: ignore[arg-type]


def test_scores_and_the_minimum_number_of_trades() -> None:
    m = _metrics()
    assert score(m, "net", 5) == (100.0, None)
    assert score(m, "sharpe", 5) == (1.2, None)
    assert score(m, "profit_factor", 5) == (1.5, None)
    value, why = score(m, "net", 11)
    assert value == -math.inf and why == "10 trades < minTrades 11"
    assert score(_metrics(sharpe=None), "sharpe", 1)[0] == -math.inf
    assert score(_metrics(profit_factor=None, losses=0), "profit_factor", 1) == (math.inf, None)
    assert score(_metrics(profit_factor=None, wins=0, losses=0), "profit_factor", 1)[0] == -math.inf
