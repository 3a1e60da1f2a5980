"""Sizing and brackets against exact decimal references."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsxbot.messages import Side
from tsxbot.sizing import (
    SizingInputError,
    bracket,
    bracket_ticks,
    bracket_ticks_from_prices,
    contracts_for_risk,
)

# (tick size, point value) of ES, MES, MGC, CL, YM, 6E-like and ZN-like contracts.
CONTRACTS = [
    ("0.25", "50"),
    ("0.25", "5"),
    ("0.1", "10"),
    ("0.01", "1000"),
    ("1", "5"),
    ("0.00005", "125000"),
    ("0.015625", "1000"),
]


def ceil_ticks(points: Decimal, tick: Decimal) -> int:
    return int((points / tick).to_integral_value(rounding=ROUND_CEILING))


@given(
    st.sampled_from(CONTRACTS),
    st.integers(min_value=1, max_value=500_000),  # dollar risk in cents
    st.integers(min_value=1, max_value=400),  # risk in ticks
    st.integers(min_value=0, max_value=3),  # extra fraction of a tick, in quarters
    st.integers(min_value=0, max_value=50),
)
def test_contracts_match_exact_decimal_floor(
    contract, cents: int, ticks: int, quarter: int, cap: int
) -> None:  # type: ignore[no-untyped-def]
    tick, point_value = Decimal(contract[0]), Decimal(contract[1])
    points = (ticks + Decimal(quarter) / 4) * tick
    dollars = Decimal(cents) / 100
    risk_ticks = ceil_ticks(points, tick)  # a distance off the grid widens to the next tick
    want = min(
        int((dollars / (risk_ticks * tick * point_value)).to_integral_value(rounding=ROUND_FLOOR)), cap
    )
    got = contracts_for_risk(float(dollars), float(points), float(tick), float(point_value), cap)
    assert got == want


def test_examples_from_the_spec() -> None:
    # MGC, $100 risk, 3 points: 100 / (3 x 10) = 3.33 -> 3.
    assert contracts_for_risk(100.0, 3.0, 0.1, 10.0, 10) == 3
    # CL, $300 at 0.3 points: exactly 1 (naive float division gives 0.999...).
    assert contracts_for_risk(300.0, 0.3, 0.01, 1000.0, 10) == 1
    with pytest.raises(SizingInputError, match="risk points"):
        contracts_for_risk(100.0, 0.0, 0.25, 50.0, 1)
    with pytest.raises(SizingInputError, match="finite"):
        contracts_for_risk(math.nan, 1.0, 0.25, 50.0, 1)


@given(
    st.sampled_from(CONTRACTS[:5]),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(min_value=2000, max_value=400_000),  # entry in ticks
    st.integers(min_value=1, max_value=200),  # stop distance in ticks ...
    st.integers(min_value=0, max_value=99),  # ... plus hundredths of a tick
    st.sampled_from([None, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 1.3]),
)
def test_bracket_rounds_the_safe_way(
    contract, side: Side, entry_ticks: int, stop_ticks: int, extra: int, r: float | None
) -> None:  # type: ignore[no-untyped-def]
    tick = Decimal(contract[0])
    entry = entry_ticks * tick
    distance = (stop_ticks + Decimal(extra) / 100) * tick
    b = bracket(side, float(entry), float(tick), stop_points=float(distance), target_r=r)
    # The stop goes toward entry: exactly `stop_ticks` (never more risk than asked).
    assert b.stop_ticks == stop_ticks
    sign = 1 if side is Side.BUY else -1
    assert Decimal(repr(b.stop_loss)) == entry - sign * stop_ticks * tick
    if r is None:
        assert b.take_profit is None
        return
    # The target goes away from entry: reward:risk never below r.
    want_target = int((Decimal(repr(r)) * stop_ticks).to_integral_value(rounding=ROUND_CEILING))
    assert b.target_ticks == want_target
    assert b.take_profit is not None
    assert Decimal(repr(b.take_profit)) == entry + sign * want_target * tick
    assert b.target_ticks / b.stop_ticks >= r - 1e-12
    sl, tp = bracket_ticks_from_prices(side, b.entry, b.stop_loss, b.take_profit, float(tick))
    assert (sl, tp) == bracket_ticks(side, b.stop_ticks, b.target_ticks)


def test_atr_brackets_and_errors() -> None:
    b = bracket(Side.SELL, 2000.0, 0.1, stop_atr=1.5, atr=1.23, target_atr=3.0)
    assert (b.stop_loss, b.take_profit) == (2001.8, 1996.3)  # 1.845 -> 1.8; 3.69 -> 3.7
    with pytest.raises(SizingInputError, match="one tick"):
        bracket(Side.BUY, 5000.0, 0.25, stop_points=0.2)
    with pytest.raises(ValueError, match="exactly one"):
        bracket(Side.BUY, 5000.0, 0.25)
    with pytest.raises(SizingInputError, match="ATR"):
        bracket(Side.BUY, 5000.0, 0.25, stop_atr=2.0)


def test_projectx_sign_convention() -> None:
    # Long: stop below (negative ticks), target above (positive); short: the reverse (gateway doc §4.4).
    assert bracket_ticks(Side.BUY, 8, 16) == (-8, 16)
    assert bracket_ticks(Side.SELL, 8, 16) == (8, -16)
    assert bracket_ticks("SELL", 8) == (8, None)
    assert bracket_ticks_from_prices(Side.BUY, 5000.0, 4998.0, 5004.0, 0.25) == (-8, 16)
    with pytest.raises(SizingInputError, match="wrong side"):
        bracket_ticks_from_prices(Side.SELL, 5000.0, 4998.0, None, 0.25)
    with pytest.raises(SizingInputError, match="> 0"):
        bracket_ticks(Side.BUY, 0)
