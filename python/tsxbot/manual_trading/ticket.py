"""The order ticket: what a person types (side, type, size, a stop and a target in ticks, points
or dollars) turned into the aggregator's ``OrderSubmission`` for bot ``manual``, and the preview
shown before sending (the distances in ticks, the dollar risk and reward, R:R).

Rounding is safe: a stop typed in points or dollars rounds *down* to whole ticks (the risk never
exceeds what was typed); a target rounds to the nearest tick. Dollars are the whole order's (all
contracts): ``ticks = dollars / (tick value x size)``."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated

import msgspec

from tsxbot.aggregator.registry import MANUAL_BOT
from tsxbot.config.instruments import Instrument
from tsxbot.messages import OrderSubmission
from tsxbot.messages.enums import OrderType, Side
from tsxbot.messages.payload import MAX_ORDER_QUANTITY

Distance = Annotated[float, msgspec.Meta(gt=0, lt=1e7)]


class Unit(StrEnum):
    TICKS = "ticks"
    POINTS = "points"
    DOLLARS = "dollars"


class TicketType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"


class Ticket(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    side: Side
    quantity: Annotated[int, msgspec.Meta(gt=0, le=MAX_ORDER_QUANTITY)]
    order_type: TicketType = TicketType.MARKET
    # The limit price (LIMIT) or the trigger price (STOP); none for MARKET.
    price: Annotated[float, msgspec.Meta(gt=0, lt=1e9)] | None = None
    stop: Distance | None = None
    target: Distance | None = None
    unit: Unit = Unit.TICKS


class TicketError(ValueError):
    """The ticket cannot be sent as typed (the message names the field)."""


class Plan(msgspec.Struct, rename="camel"):
    stop_ticks: int | None
    target_ticks: int | None
    risk_dollars: float | None
    reward_dollars: float | None
    reward_risk: float | None
    entry: float | None
    stop_price: float | None
    target_price: float | None


def _ticks(value: float, unit: Unit, instrument: Instrument, quantity: int, *, stop: bool) -> int:
    if unit is Unit.TICKS:
        exact = value
    elif unit is Unit.POINTS:
        exact = value / instrument.tick_size
    else:
        exact = value / (instrument.tick_value * quantity)
    # A tiny tolerance so 5.0 points of a 0.25 tick are 20 ticks, not 19.999...
    return math.floor(exact + 1e-9) if stop else math.floor(exact + 0.5)  # half a tick rounds up


def _at(entry: float, ticks: int, instrument: Instrument) -> float:
    return round(entry + ticks * instrument.tick_size, 9)


def plan(ticket: Ticket, instrument: Instrument, reference: float | None) -> Plan:
    """The ticket's bracket in ticks and what it risks; ``reference`` is the last price (a market
    order's expected entry). Raises ``TicketError`` naming what is wrong."""
    if ticket.order_type is TicketType.MARKET and ticket.price is not None:
        raise TicketError("price: a market order has no price")
    if ticket.order_type is not TicketType.MARKET and ticket.price is None:
        raise TicketError(f"price: a {ticket.order_type.value.lower()} order needs its price")
    if ticket.price is not None and not instrument.ticks.is_on_tick(ticket.price):
        raise TicketError(
            f"price: {ticket.price:g} is not on {instrument.symbol}'s tick ({instrument.tick_size:g})"
        )
    stop_ticks = (
        None
        if ticket.stop is None
        else _ticks(ticket.stop, ticket.unit, instrument, ticket.quantity, stop=True)
    )
    target_ticks = (
        None
        if ticket.target is None
        else _ticks(ticket.target, ticket.unit, instrument, ticket.quantity, stop=False)
    )
    if stop_ticks is not None and stop_ticks < 1:
        raise TicketError(f"stop: less than one tick ({ticket.stop:g} {ticket.unit.value})")
    if target_ticks is not None and target_ticks < 1:
        raise TicketError(f"target: less than one tick ({ticket.target:g} {ticket.unit.value})")
    per_tick = instrument.tick_value * ticket.quantity
    entry = ticket.price if ticket.price is not None else reference
    sign = ticket.side.sign
    return Plan(
        stop_ticks=stop_ticks,
        target_ticks=target_ticks,
        risk_dollars=None if stop_ticks is None else round(stop_ticks * per_tick, 2),
        reward_dollars=None if target_ticks is None else round(target_ticks * per_tick, 2),
        reward_risk=None
        if stop_ticks is None or target_ticks is None
        else round(target_ticks / stop_ticks, 2),
        entry=entry,
        stop_price=None
        if entry is None or stop_ticks is None
        else _at(entry, -sign * stop_ticks, instrument),
        target_price=(
            None if entry is None or target_ticks is None else _at(entry, sign * target_ticks, instrument)
        ),
    )


def submission(ticket: Ticket, bracket: Plan, order_id: str) -> OrderSubmission:
    kind = OrderType(ticket.order_type.value)
    return OrderSubmission(
        order_id=order_id,
        symbol=ticket.symbol,
        side=ticket.side,
        quantity=ticket.quantity,
        order_type=kind,
        limit_price=ticket.price if kind is OrderType.LIMIT else None,
        stop_price=ticket.price if kind is OrderType.STOP else None,
        stop_loss_ticks=bracket.stop_ticks,
        take_profit_ticks=bracket.target_ticks,
    )


def closing(
    symbol: str, held: int, quantity: int | None, order_id: str, bot_id: str = MANUAL_BOT
) -> OrderSubmission:
    """A reduce-only market order taking ``quantity`` (all when None) off ``bot_id``'s position
    ``held``."""
    if held == 0:
        raise TicketError(f"{bot_id} holds no position in {symbol}")
    size = abs(held) if quantity is None else quantity
    if size > abs(held):
        raise TicketError(f"quantity: {size} is more than the {abs(held)} held in {symbol}")
    side = Side.SELL if held > 0 else Side.BUY
    return OrderSubmission(
        order_id=order_id,
        symbol=symbol,
        side=side,
        quantity=size,
        order_type=OrderType.MARKET,
        reduce_only=True,
    )
