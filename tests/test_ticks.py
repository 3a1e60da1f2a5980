"""tsxbot.ticks (Rust) against a plain-Python reference in exact decimal arithmetic."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsxbot.ticks import Rounding, TickArithmeticError, TickSize

TICK_SIZES = ["0.25", "0.1", "0.01", "1", "5", "0.005", "0.0005", "0.00005", "0.0000005", "0.015625"]


def reference_ticks(price: str, tick: str, rounding: Rounding) -> int:
    """Exact: decimal price / decimal tick, rounded as asked (ties away from zero)."""
    mode = {Rounding.NEAREST: ROUND_HALF_UP, Rounding.DOWN: ROUND_FLOOR, Rounding.UP: ROUND_CEILING}[rounding]
    return int((Decimal(price) / Decimal(tick)).quantize(Decimal(1), rounding=mode))


@pytest.mark.parametrize("tick", TICK_SIZES)
def test_tick_size_is_exact(tick: str) -> None:
    size = TickSize(float(tick))
    assert size.nanos == int(Decimal(tick) * 10**9)
    assert size.value == float(tick)


def test_examples() -> None:
    gold = TickSize(0.1)
    assert gold.to_ticks(2034.3) == 20343
    assert gold.to_price(20343) == 2034.3
    assert gold.round(0.1 + 0.2) == 0.3
    assert gold.is_on_tick(2034.3)
    assert not gold.is_on_tick(2034.35)
    es = TickSize(0.25)
    assert es.round(5000.13, Rounding.DOWN) == 5000.0
    assert es.round(5000.13, Rounding.UP) == 5000.25
    assert es.round(5000.125) == 5000.25  # tie: away from zero
    assert es.round(-5000.125) == -5000.25
    assert repr(es) == "TickSize(0.25)"
    assert es == TickSize(0.25)
    assert hash(es) == hash(TickSize(0.25))


@pytest.mark.parametrize("bad", [0.0, -0.25, math.nan, math.inf, 1 / 3])
def test_invalid_tick_size_raises_value_error(bad: float) -> None:
    with pytest.raises(TickArithmeticError, match="tick size"):
        TickSize(bad)
    assert issubclass(TickArithmeticError, ValueError)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_price_raises(bad: float) -> None:
    with pytest.raises(TickArithmeticError, match="finite"):
        TickSize(0.25).to_ticks(bad)


def test_out_of_range_raises() -> None:
    with pytest.raises(TickArithmeticError, match="out of range"):
        TickSize(0.25).to_ticks(1e12)
    with pytest.raises(TickArithmeticError, match="out of range"):
        TickSize(5.0).to_price(2**62)


@given(
    tick=st.sampled_from(TICK_SIZES),
    cents=st.integers(min_value=-(10**9), max_value=10**9),
    scale=st.sampled_from([0, 1, 2, 3, 4, 7]),
    rounding=st.sampled_from([Rounding.NEAREST, Rounding.DOWN, Rounding.UP]),
)
def test_to_ticks_matches_exact_decimal_reference(
    tick: str, cents: int, scale: int, rounding: Rounding
) -> None:
    # A decimal price with `scale` fractional digits, the way prices are typed and quoted.
    price = str(Decimal(cents).scaleb(-scale))
    if abs(Decimal(price) / Decimal(tick)) >= Decimal(10) ** 9:
        return  # beyond the documented exact range
    expected = reference_ticks(price, tick, rounding)
    # Off-grid prices within 1e-6 ticks of the grid are float noise by contract (and the band edge
    # is itself subject to float error): check only the
    # prices that are clearly on the grid or clearly off it.
    ratio = Decimal(price) / Decimal(tick)
    frac = ratio - ratio.to_integral_value(rounding=ROUND_FLOOR)
    if Decimal("0") < frac < Decimal("2e-6") or Decimal("0.999998") < frac < 1:
        return
    assert TickSize(float(tick)).to_ticks(float(price), rounding) == expected


@given(tick=st.sampled_from(TICK_SIZES), ticks=st.integers(min_value=-(10**8), max_value=10**8))
def test_round_trip_is_exact(tick: str, ticks: int) -> None:
    size = TickSize(float(tick))
    price = size.to_price(ticks)
    assert price == float(Decimal(ticks) * Decimal(tick))  # the double nearest the decimal price
    for rounding in (Rounding.NEAREST, Rounding.DOWN, Rounding.UP):
        assert size.to_ticks(price, rounding) == ticks
    assert size.is_on_tick(price)
