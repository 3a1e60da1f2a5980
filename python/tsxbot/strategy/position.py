"""The bot's own position and fills, as a strategy sees them.

``Position``: signed ``quantity`` (long > 0, short < 0) at ``average_price``. ``Fill``: one
execution of the bot's orders; ``realized_points`` is set when it reduced a position (points per
contract, positive for a gain), so a strategy can tell a win from a loss.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from tsxbot.strategy.signals import Side

__all__ = ["Fill", "Position", "apply_fill"]


class Position(msgspec.Struct, frozen=True):
    quantity: int = 0
    average_price: float = 0.0

    @property
    def flat(self) -> bool:
        return self.quantity == 0

    @property
    def side(self) -> Side | None:
        if self.quantity > 0:
            return "long"
        return "short" if self.quantity < 0 else None


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    ts: int
    action: Literal["buy", "sell"]
    quantity: int
    price: float
    # Set when the fill reduced or closed a position: points per contract, > 0 a gain.
    realized_points: float | None = None


def apply_fill(
    position: Position, ts: int, action: Literal["buy", "sell"], quantity: int, price: float
) -> tuple[Position, Fill]:
    """The position after a fill, and the fill with its realized points (when it reduced one)."""
    if quantity <= 0:
        raise ValueError(f"a fill's quantity must be positive, got {quantity}")
    signed = quantity if action == "buy" else -quantity
    held = position.quantity
    if held == 0 or (held > 0) == (signed > 0):
        total = held + signed
        average = (position.average_price * abs(held) + price * quantity) / abs(total)
        return Position(total, average), Fill(ts=ts, action=action, quantity=quantity, price=price)
    per_contract = (price - position.average_price) if held > 0 else (position.average_price - price)
    total = held + signed
    if total == 0:
        after = Position()
    elif (total > 0) == (held > 0):
        after = Position(total, position.average_price)
    else:  # reversed through zero: the rest opens at the fill price
        after = Position(total, price)
    return after, Fill(ts=ts, action=action, quantity=quantity, price=price, realized_points=per_contract)
