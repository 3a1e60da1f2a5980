"""Positions and P&L attributed to bots (the account's position in a symbol is the sum over its
bots, plus ``UNATTRIBUTED`` for fills no bot owns). Average prices and realized P&L follow the
usual netting: a fill toward zero realizes against the average price, one that crosses zero
opens the rest at its price."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tsxbot.messages import Side

UNATTRIBUTED = ""


@dataclass
class BotPosition:
    quantity: int = 0  # signed
    average_price: float = 0.0
    realized_pnl: float = 0.0  # dollars, before fees
    fees: float = 0.0
    trades: int = 0

    def apply(self, signed: int, price: float, point_value: float) -> float:
        """Applies a fill; returns the dollars it realized."""
        realized = 0.0
        q = self.quantity
        if q == 0 or (q > 0) == (signed > 0):
            total = q + signed
            self.average_price = (self.average_price * abs(q) + price * abs(signed)) / abs(total)
            self.quantity = total
        else:
            closing = min(abs(q), abs(signed))
            direction = 1 if q > 0 else -1
            realized = (price - self.average_price) * closing * direction * point_value
            rest = q + signed
            if rest == 0:
                self.average_price = 0.0
            elif (rest > 0) != (q > 0):  # crossed zero: the remainder opens at the fill price
                self.average_price = price
            self.quantity = rest
        self.realized_pnl += realized
        return realized


class Positions:
    def __init__(self) -> None:
        self._book: dict[tuple[str, str], BotPosition] = {}

    def get(self, bot_id: str, symbol: str) -> BotPosition:
        return self._book.get((bot_id, symbol)) or BotPosition()

    def quantity(self, bot_id: str, symbol: str) -> int:
        found = self._book.get((bot_id, symbol))
        return found.quantity if found else 0

    def apply(
        self,
        bot_id: str,
        symbol: str,
        side: Side,
        quantity: int,
        price: float,
        fees: float,
        point_value: float,
    ) -> tuple[int, int, float]:
        """Returns (quantity before, quantity after, realized dollars)."""
        position = self._book.setdefault((bot_id, symbol), BotPosition())
        before = position.quantity
        realized = position.apply(side.sign * quantity, price, point_value)
        position.fees += fees
        position.trades += 1
        return before, position.quantity, realized

    def net(self, symbol: str) -> int:
        return sum(p.quantity for (_, s), p in self._book.items() if s == symbol)

    def symbols(self) -> set[str]:
        return {s for (_, s), p in self._book.items() if p.quantity != 0}

    def items(self) -> Iterator[tuple[str, str, BotPosition]]:
        for (bot, symbol), position in sorted(self._book.items()):
            yield bot, symbol, position

    def new_day(self) -> None:
        """Daily figures start again; open quantities and prices stay."""
        for position in self._book.values():
            position.realized_pnl = 0.0
            position.fees = 0.0
            position.trades = 0

    def restore(self, bot_id: str, symbol: str, position: BotPosition) -> None:
        self._book[(bot_id, symbol)] = position
