"""Prices as integer ticks: ``TickSize(0.25).to_ticks(5012.25) == 20049``.

Implemented in Rust (``core-rs/src/ticks.rs``); rounding to the tick is exact and deterministic.
"""

from tsxbot._core import Rounding, TickArithmeticError, TickSize

__all__ = ["Rounding", "TickArithmeticError", "TickSize"]
