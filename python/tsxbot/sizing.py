"""Position sizing and brackets (Rust, exact integer ticks and money).

- ``contracts_for_risk(dollar_risk, risk_points, tick_size, point_value, max_contracts)``:
  ``floor(dollar_risk / (risk_points x point_value))`` capped; the distance is first rounded up
  to whole ticks (fewer contracts is the safe way).
- ``bracket(side, entry, tick_size, stop_points=... | stop_atr=..., atr=..., target_points=... |
  target_atr=... | target_r=...)``: stop-loss and take-profit prices on the tick grid; the stop is
  rounded toward entry (never more risk than asked), the target away from it (never less
  reward:risk than asked).
- ``bracket_ticks`` / ``bracket_ticks_from_prices``: ProjectX's signed bracket offsets (long: stop
  negative, target positive; short: the reverse).
"""

from __future__ import annotations

from tsxbot._core import (
    Bracket,
    SizingInputError,
    bracket,
    bracket_ticks,
    bracket_ticks_from_prices,
    contracts_for_risk,
)
from tsxbot.config.instruments import Instrument
from tsxbot.strategies.params import StrategyParams

__all__ = [
    "Bracket",
    "SizingInputError",
    "bracket",
    "bracket_ticks",
    "bracket_ticks_from_prices",
    "contracts_for_risk",
    "contracts_for_strategy",
]


def contracts_for_strategy(
    params: StrategyParams, instrument: Instrument, risk_points: float, max_contracts: int
) -> int:
    """Contracts for a stop ``risk_points`` away, with the strategy's ``dollarRiskPerTrade``.

    Refuses a stop beyond ``maxRiskPoints`` with ``SizingInputError``.
    """
    if risk_points > params.max_risk_points:
        raise SizingInputError(
            f"the stop is {risk_points:g} points away, beyond maxRiskPoints {params.max_risk_points:g}"
        )
    return contracts_for_risk(
        params.dollar_risk_per_trade, risk_points, instrument.tick_size, instrument.point_value, max_contracts
    )
