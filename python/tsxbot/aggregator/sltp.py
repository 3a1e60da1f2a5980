"""Brackets (the spec's SLTPCalculator): a submission's stop-loss and take-profit, as prices or
as ticks, on the tick grid in the safe direction, and ProjectX's bracket distances in ticks.

The stop is rounded toward the entry (never more risk than asked) and the target away from it
(never less reward:risk than asked): for a buy both round up, for a sell both round down."""

from __future__ import annotations

from dataclasses import dataclass

from tsxbot.config.instruments import Instrument
from tsxbot.messages import OrderSubmission, Side
from tsxbot.sizing import SizingInputError, bracket_ticks_from_prices
from tsxbot.ticks import Rounding, TickArithmeticError, TickSize


class BracketError(ValueError):
    """A stop or target that cannot be placed (wrong side, not a price)."""

    def __init__(self, what: str, message: str) -> None:
        self.what = what  # "stop-loss" | "take-profit" | "price"
        super().__init__(message)


@dataclass(frozen=True)
class Prices:
    stop_loss: float | None
    take_profit: float | None


def safe_prices(submission: OrderSubmission, instrument: Instrument, reference: float | None) -> Prices:
    """The submission's stop and target as prices on the tick grid. Ticks (``stopLossTicks``,
    ``takeProfitTicks``) are measured from ``reference`` (the limit/stop price or the market)."""
    tick = TickSize(instrument.tick_size)
    sign = submission.side.sign
    rounding = Rounding.UP if submission.side is Side.BUY else Rounding.DOWN
    stop, target = submission.stop_loss, submission.take_profit
    if stop is None and submission.stop_loss_ticks is not None and reference is not None:
        stop = reference - sign * submission.stop_loss_ticks * instrument.tick_size
    if target is None and submission.take_profit_ticks is not None and reference is not None:
        target = reference + sign * submission.take_profit_ticks * instrument.tick_size
    try:
        return Prices(
            tick.round(stop, rounding) if stop is not None and stop > 0 else stop,
            tick.round(target, rounding) if target is not None and target > 0 else target,
        )
    except TickArithmeticError as exc:
        raise BracketError("price", f"the stop-loss or take-profit is not a usable price: {exc}") from None


def bracket_ticks(
    side: Side, entry: float, prices: Prices, instrument: Instrument
) -> tuple[int | None, int | None]:
    """Unsigned distances from ``entry`` in ticks (what ``PlaceOrder`` carries), by the Rust
    sizing code. Raises ``BracketError`` for a stop or target on the wrong side of the entry."""
    if prices.stop_loss is None:
        return None, None
    try:
        signed = bracket_ticks_from_prices(
            side.value, entry, prices.stop_loss, prices.take_profit, instrument.tick_size
        )
    except SizingInputError as exc:
        text = str(exc)
        what = "take-profit" if "take-profit" in text else "stop-loss"
        raise BracketError(what, f"the {what} is on the wrong side of the entry {entry:g}: {text}") from None
    stop_ticks, target_ticks = signed
    return abs(stop_ticks), abs(target_ticks) if target_ticks is not None else None
