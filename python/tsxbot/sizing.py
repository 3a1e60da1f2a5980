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

A strategy's own sizing (its dollar risk, maxRiskPoints and the typed skips) is
``tsxbot.strategy.sizing.size_entry``, built on these.
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

__all__ = [
    "Bracket",
    "SizingInputError",
    "bracket",
    "bracket_ticks",
    "bracket_ticks_from_prices",
    "contracts_for_risk",
]
