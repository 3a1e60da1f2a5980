"""Brackets: stops and targets on the tick grid in the safe direction, ticks from prices by the
Rust sizing code, wrong sides refused."""

from __future__ import annotations

import pytest

from tsxbot.aggregator.sltp import BracketError, Prices, bracket_ticks, safe_prices
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.config.instruments import Instrument
from tsxbot.messages import OrderSubmission, Side


@pytest.fixture(scope="module")
def mes() -> Instrument:
    return load_config(DEFAULTS_DIR, env={}).instruments.get("MES")


def sub(side: Side, **fields: object) -> OrderSubmission:
    return OrderSubmission(order_id="o", symbol="MES", side=side, quantity=1, **fields)  # type: ignore[arg-type]


def test_off_tick_stops_round_toward_the_entry_and_targets_away_from_it(mes: Instrument) -> None:
    long = safe_prices(sub(Side.BUY, stop_loss=4995.1, take_profit=5010.1), mes, 5000.0)
    assert (long.stop_loss, long.take_profit) == (4995.25, 5010.25)  # stop up (closer), target up (farther)
    short = safe_prices(sub(Side.SELL, stop_loss=5004.9, take_profit=4990.1), mes, 5000.0)
    assert (short.stop_loss, short.take_profit) == (5004.75, 4990.0)  # stop down (closer), target down
    on_tick = safe_prices(sub(Side.BUY, stop_loss=4996.0), mes, 5000.0)
    assert (on_tick.stop_loss, on_tick.take_profit) == (4996.0, None)


def test_ticks_are_measured_from_the_reference_price(mes: Instrument) -> None:
    prices = safe_prices(sub(Side.SELL, stop_loss_ticks=8, take_profit_ticks=16), mes, 5000.0)
    assert (prices.stop_loss, prices.take_profit) == (5002.0, 4996.0)
    assert bracket_ticks(Side.SELL, 5000.0, prices, mes) == (8, 16)


def test_bracket_ticks_and_wrong_sides(mes: Instrument) -> None:
    assert bracket_ticks(Side.BUY, 5000.0, Prices(4995.0, 5010.0), mes) == (20, 40)
    assert bracket_ticks(Side.BUY, 5000.0, Prices(None, None), mes) == (None, None)
    with pytest.raises(BracketError) as stop:
        bracket_ticks(Side.BUY, 5000.0, Prices(5001.0, 5010.0), mes)
    assert stop.value.what == "stop-loss"
    with pytest.raises(BracketError) as target:
        bracket_ticks(Side.SELL, 5000.0, Prices(5001.0, 5010.0), mes)
    assert target.value.what == "take-profit"
