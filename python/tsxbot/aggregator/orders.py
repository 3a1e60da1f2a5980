"""Working orders at the exchange as the connection manager reports them (order updates), with
the bot each belongs to; and which of a bot's orders protect its position (bracket legs and
SL/TP orders: the orders that are not one of its own submissions)."""

from __future__ import annotations

from tsxbot.messages import OrderStatus, OrderUpdate


class WorkingOrders:
    def __init__(self) -> None:
        self._orders: dict[int, OrderUpdate] = {}

    def apply(self, update: OrderUpdate) -> None:
        if update.status.is_final:
            self._orders.pop(update.exchange_order_id, None)
        else:
            self._orders[update.exchange_order_id] = update

    def __len__(self) -> int:
        return len(self._orders)

    def all(self) -> list[OrderUpdate]:
        return sorted(self._orders.values(), key=lambda u: u.exchange_order_id)

    def protective(self, bot_id: str, symbol: str) -> list[OrderUpdate]:
        """The bot's working stops and targets in ``symbol`` (a leg waiting for its parent to fill,
        SUSPENDED, is not protecting anything yet and is left alone)."""
        return [
            u
            for u in self._orders.values()
            if u.bot_id == bot_id
            and u.symbol == symbol
            and u.order_id is None
            and u.status in (OrderStatus.OPEN, OrderStatus.PENDING)
        ]

    def restore(self, updates: list[OrderUpdate]) -> None:
        for update in updates:
            self.apply(update)
