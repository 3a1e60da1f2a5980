"""Execution quality: slippage against the signal's price, signal-to-fill time and fill rate.

Definitions:

* **Slippage** of a fill, in points: ``(fill price - reference price) x side`` (side +1 buy,
  -1 sell), where the reference is the price of the signal the order came from. Positive is worse
  than the reference (paid more, sold for less). In **ticks**: points / tick size. In **dollars**:
  points x point value x fill quantity.
* **Signal-to-fill time**: the fill's timestamp minus the signal's.
* **Fill rate** of a bot in an instrument: orders that filled completely / orders that reached a
  final state (filled, cancelled, rejected, expired). Orders still working do not count.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from tsxbot.messages.enums import Side
from tsxbot.pnl.contract import ContractSpec


class Slippage(msgspec.Struct, frozen=True, kw_only=True):
    fill_id: str
    bot_id: str
    symbol: str
    points: float
    ticks: float
    dollars: float
    signal_to_fill_ms: float


def slippage(
    *,
    fill_id: str,
    bot_id: str,
    spec: ContractSpec,
    side: Side,
    quantity: int,
    fill_price: float,
    fill_ns: int,
    reference_price: float,
    signal_ns: int,
) -> Slippage:
    points = (fill_price - reference_price) * side.sign
    return Slippage(
        fill_id=fill_id,
        bot_id=bot_id,
        symbol=spec.symbol,
        points=points,
        ticks=points / spec.tick_size,
        dollars=points * spec.point_value * quantity,
        signal_to_fill_ms=(fill_ns - signal_ns) / 1e6,
    )


class OrderOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One order's final state: ``filled`` True when its whole quantity filled."""

    bot_id: str
    symbol: str
    final: bool
    filled: bool


class FillRate(msgspec.Struct, frozen=True, kw_only=True):
    bot_id: str
    symbol: str
    orders: int
    filled: int

    @property
    def rate(self) -> float | None:
        return self.filled / self.orders if self.orders else None


def fill_rates(orders: Iterable[OrderOutcome]) -> list[FillRate]:
    counts: dict[tuple[str, str], list[int]] = {}
    for order in orders:
        if not order.final:
            continue
        c = counts.setdefault((order.bot_id, order.symbol), [0, 0])
        c[0] += 1
        c[1] += order.filled
    return [FillRate(bot_id=b, symbol=s, orders=c[0], filled=c[1]) for (b, s), c in sorted(counts.items())]
