"""Plausibility checks of a place before it is sent: what the message types' bounds cannot know
(the instrument's tick and whether it can trade below zero, the market's last price). A refusal
names the field and the limit; TopStepX never sees an absurd order."""

from __future__ import annotations

from tsxbot.config.instruments import Instrument
from tsxbot.messages import OrderType, PlaceOrder, Side

# Instruments that can trade below zero when the instruments table does not say (crude oil did,
# in April 2020). The table's ``allowsNegativePrices`` flag, where it exists, decides.
NEGATIVE_PRICE_SYMBOLS = frozenset({"CL", "MCL"})


class ImplausibleOrderError(ValueError):
    """The order's prices or bracket distances are not plausible for the instrument."""


def allows_negative_prices(instrument: Instrument) -> bool:
    flag = getattr(instrument, "allows_negative_prices", None)
    if isinstance(flag, bool):
        return flag
    return instrument.symbol in NEGATIVE_PRICE_SYMBOLS


def reference_price(command: PlaceOrder, last_price: float | None) -> float | None:
    """Where the order should fill: its own limit or stop price, else the market's last price."""
    if command.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and command.limit_price is not None:
        return command.limit_price
    if command.order_type is OrderType.STOP and command.stop_price is not None:
        return command.stop_price
    return last_price


def check_place(command: PlaceOrder, instrument: Instrument | None, last_price: float | None) -> None:
    """Raises ``ImplausibleOrderError`` naming the field: a price at or below zero for an
    instrument that cannot trade there, or a bracket whose stop or target would land there."""
    if instrument is None or allows_negative_prices(instrument):
        return
    check_prices(
        instrument,
        limitPrice=command.limit_price,
        stopPrice=command.stop_price,
        trailPrice=command.trail_price,
    )
    entry = reference_price(command, last_price)
    if entry is None or entry <= 0:
        return
    # The leg below the entry: a long's stop, a short's target.
    field, ticks = (
        ("stopLossTicks", command.stop_loss_ticks)
        if command.side is Side.BUY
        else ("takeProfitTicks", command.take_profit_ticks)
    )
    if ticks is None:
        return
    limit = int((entry - instrument.tick_size / 2) / instrument.tick_size)
    if ticks > limit:
        raise ImplausibleOrderError(
            f"{field} {ticks} puts the {'stop' if command.side is Side.BUY else 'target'} at "
            f"{entry - ticks * instrument.tick_size:g}, below 0 for {instrument.symbol} at {entry:g}: "
            f"at most {limit} ticks"
        )


def check_prices(instrument: Instrument | None, **prices: float | None) -> None:
    """Raises ``ImplausibleOrderError`` naming the first price (by its field name) at or below
    zero for an instrument that cannot trade there."""
    if instrument is None or allows_negative_prices(instrument):
        return
    for field, value in prices.items():
        if value is not None and value <= 0:
            raise ImplausibleOrderError(
                f"{field} {value:g} is not a price {instrument.symbol} can trade at (it must be above 0)"
            )
