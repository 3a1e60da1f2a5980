"""The **bars** fill model: how orders fill against one-minute bars (no order book).

Assumptions, one each (the README's "Backtesting" section says the same):

- A **market** order decided at a bar's close fills at the **next** one-minute bar's open, plus
  ``slippage_ticks`` against the order (a buy higher, a sell lower).
- A **stop** (the protective leg of a position) fills at its price when the bar trades at or
  through it, or at the bar's open when the bar opens beyond it (a gap through the stop).
- A **limit** (the target leg) fills at its price when the bar trades through it by at least one
  tick (``limit_fill="through"``) or reaches it (``"touch"``); a bar that opens beyond the limit
  fills it at the open (the better price).
- When one bar reaches both the stop and the target of a position, the **stop is taken first**,
  unless the bar's own prints (a trades recording) show the target was reached first.
- On the bar whose open filled the entry, the bracket is checked against that bar's range from the
  entry on (the open is the entry price: no gap to take).
- Fees per contract per side come from the instruments table (``tsxbot.pnl.spec_for``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

__all__ = ["FillSettings", "LegHit", "bracket_hit", "limit_fill", "market_fill", "stop_fill"]

LimitFill = Literal["through", "touch"]
LegHit = Literal["stop", "target"]


class FillSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """``slippageTicks`` on market orders (stops fill at their price or the gap's open);
    ``limitFill``: how a limit fills (see the module docstring)."""

    slippage_ticks: int = 0
    limit_fill: LimitFill = "through"

    def __post_init__(self) -> None:
        if self.slippage_ticks < 0:
            raise ValueError(f"slippageTicks must be >= 0, got {self.slippage_ticks}")


def market_fill(buy: bool, open_: float, tick_size: float, slippage_ticks: int) -> float:
    """The fill price of a market order at a bar's open."""
    slip = slippage_ticks * tick_size
    return open_ + slip if buy else open_ - slip


def stop_fill(long: bool, stop: float, open_: float, high: float, low: float, gap: bool) -> float | None:
    """The fill of a protective stop of a ``long`` (sell stop) or short (buy stop) position in one
    bar, or None. ``gap``: the bar's open may fill it (False on the entry's own bar)."""
    if long:
        if gap and open_ <= stop:
            return open_
        return stop if low <= stop else None
    if gap and open_ >= stop:
        return open_
    return stop if high >= stop else None


def limit_fill(
    long: bool,
    target: float,
    open_: float,
    high: float,
    low: float,
    gap: bool,
    tick_size: float,
    mode: LimitFill,
) -> float | None:
    """The fill of the target (a sell limit above a long, a buy limit below a short) in one bar."""
    through = 0.0 if mode == "touch" else tick_size
    eps = tick_size * 1e-6
    if long:
        if gap and open_ >= target + through - eps:
            return open_
        return target if high >= target + through - eps else None
    if gap and open_ <= target - through + eps:
        return open_
    return target if low <= target - through + eps else None


def bracket_hit(
    long: bool,
    stop: float | None,
    target: float | None,
    bar: tuple[float, float, float, float],
    *,
    gap: bool,
    tick_size: float,
    mode: LimitFill,
    prints: Sequence[float] | None = None,
) -> tuple[LegHit, float] | None:
    """Which leg of a bracket fills in ``bar`` (open, high, low, close) and at what price.

    Both reached: the stop, unless ``prints`` (the bar's trade prices in order) reach the target
    first."""
    open_, high, low, _ = bar
    stop_px = stop_fill(long, stop, open_, high, low, gap) if stop is not None else None
    target_px = (
        limit_fill(long, target, open_, high, low, gap, tick_size, mode) if target is not None else None
    )
    if stop_px is None:
        return None if target_px is None else ("target", target_px)
    if target_px is None:
        return "stop", stop_px
    if prints and stop is not None and target is not None:
        first = _first_reached(long, stop, target, prints, tick_size, mode)
        if first == "target":
            return "target", target_px
    return "stop", stop_px


def _first_reached(
    long: bool, stop: float, target: float, prints: Sequence[float], tick_size: float, mode: LimitFill
) -> LegHit | None:
    through = 0.0 if mode == "touch" else tick_size
    eps = tick_size * 1e-6
    for price in prints:
        if long:
            if price <= stop + eps:
                return "stop"
            if price >= target + through - eps:
                return "target"
        else:
            if price >= stop - eps:
                return "stop"
            if price <= target - through + eps:
                return "target"
    return None
