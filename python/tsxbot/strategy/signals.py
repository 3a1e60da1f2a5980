"""What a strategy answers: typed signals, each with the reason that decided it.

- ``Enter(side, stop, target, reason)``: open (or add to) a position at the market; ``stop`` and
  ``target`` are prices. The bot sizes it from dollar risk (``tsxbot.strategy.sizing``).
- ``Exit(reason, quantity=None)``: close the position (or ``quantity`` contracts of it).
- ``MoveStop(price, reason)`` / ``MoveTarget(price, reason)``: change the working bracket; a stop
  only ever tightens (``tsxbot.strategy.exits``).
- ``Skip(kind, detail, reason)`` (``tsxbot.strategy.skip``): a setup fired but was not taken.

``Reason`` names the setup and carries the levels and indicator values that decided it, so every
signal (and every skip) can be reported as it was decided.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["SIDES", "Enter", "Exit", "MoveStop", "MoveTarget", "Reason", "Side", "Signal", "opposite"]

Side = Literal["long", "short"]
SIDES: tuple[Side, Side] = ("long", "short")


def opposite(side: Side) -> Side:
    return "short" if side == "long" else "long"


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """Why: the setup's name, the levels and the indicator values that decided it."""

    setup: str
    levels: dict[str, float] = msgspec.field(default_factory=dict)
    values: dict[str, float] = msgspec.field(default_factory=dict)
    note: str = ""


class Enter(msgspec.Struct, frozen=True, kw_only=True, tag="enter"):
    side: Side
    stop: float
    target: float | None
    reason: Reason


class Exit(msgspec.Struct, frozen=True, kw_only=True, tag="exit"):
    reason: Reason
    # None: the whole position.
    quantity: int | None = None


class MoveStop(msgspec.Struct, frozen=True, kw_only=True, tag="moveStop"):
    price: float
    reason: Reason


class MoveTarget(msgspec.Struct, frozen=True, kw_only=True, tag="moveTarget"):
    price: float
    reason: Reason


Signal = Enter | Exit | MoveStop | MoveTarget
