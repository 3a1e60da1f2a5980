"""The bars fill model's rules, one case each, prices known by construction."""

from __future__ import annotations

import pytest

from tsxbot.backtest.fill_model import FillSettings, bracket_hit, limit_fill, market_fill, stop_fill

TICK = 0.25


def test_market_orders_fill_at_the_open_plus_slippage_against_them() -> None:
    assert market_fill(True, 5000.0, TICK, 0) == 5000.0
    assert market_fill(True, 5000.0, TICK, 2) == 5000.5
    assert market_fill(False, 5000.0, TICK, 2) == 4999.5


def test_a_stop_fills_at_its_price_or_at_a_gapping_open() -> None:
    # long position: a sell stop at 4990
    assert stop_fill(True, 4990.0, 5000.0, 5001.0, 4995.0, gap=True) is None
    assert stop_fill(True, 4990.0, 5000.0, 5001.0, 4990.0, gap=True) == 4990.0  # touched
    assert stop_fill(True, 4990.0, 4985.0, 4988.0, 4980.0, gap=True) == 4985.0  # gap through
    assert stop_fill(True, 4990.0, 4985.0, 4988.0, 4980.0, gap=False) == 4990.0  # entry bar
    # short position: a buy stop at 5010
    assert stop_fill(False, 5010.0, 5000.0, 5009.75, 4990.0, gap=True) is None
    assert stop_fill(False, 5010.0, 5000.0, 5012.0, 4990.0, gap=True) == 5010.0
    assert stop_fill(False, 5010.0, 5015.0, 5020.0, 5014.0, gap=True) == 5015.0


def test_a_limit_fills_through_by_a_tick_or_on_touch() -> None:
    # long position: a sell limit at 5020
    assert limit_fill(True, 5020.0, 5000.0, 5020.0, 4999.0, True, TICK, "through") is None
    assert limit_fill(True, 5020.0, 5000.0, 5020.25, 4999.0, True, TICK, "through") == 5020.0
    assert limit_fill(True, 5020.0, 5000.0, 5020.0, 4999.0, True, TICK, "touch") == 5020.0
    assert limit_fill(True, 5020.0, 5025.0, 5026.0, 5024.0, True, TICK, "through") == 5025.0  # gap: better
    # short position: a buy limit at 4980
    assert limit_fill(False, 4980.0, 5000.0, 5001.0, 4980.0, True, TICK, "through") is None
    assert limit_fill(False, 4980.0, 5000.0, 5001.0, 4979.75, True, TICK, "through") == 4980.0
    assert limit_fill(False, 4980.0, 5000.0, 5001.0, 4980.0, True, TICK, "touch") == 4980.0


def test_both_legs_in_one_bar_take_the_stop_unless_the_prints_say_otherwise() -> None:
    bar = (5000.0, 5030.0, 4980.0, 5000.0)
    assert bracket_hit(True, 4990.0, 5020.0, bar, gap=True, tick_size=TICK, mode="through") == (
        "stop",
        4990.0,
    )
    target_first = [5000.0, 5010.0, 5021.0, 4985.0, 5000.0]
    assert bracket_hit(
        True, 4990.0, 5020.0, bar, gap=True, tick_size=TICK, mode="through", prints=target_first
    ) == ("target", 5020.0)
    stop_first = [5000.0, 4989.0, 5025.0]
    assert bracket_hit(
        True, 4990.0, 5020.0, bar, gap=True, tick_size=TICK, mode="through", prints=stop_first
    ) == ("stop", 4990.0)
    # one leg only
    assert bracket_hit(
        False, 5010.0, 4990.0, (5000.0, 5005.0, 4989.0, 4995.0), gap=True, tick_size=TICK, mode="through"
    ) == (
        "target",
        4990.0,
    )
    assert (
        bracket_hit(
            False, 5010.0, None, (5000.0, 5005.0, 4989.0, 4995.0), gap=True, tick_size=TICK, mode="through"
        )
        is None
    )


def test_negative_slippage_is_refused() -> None:
    with pytest.raises(ValueError, match="slippageTicks"):
        FillSettings(slippage_ticks=-1)
