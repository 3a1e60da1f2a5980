"""What the exchange tells the outside world (the hubs), as two small interfaces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tsxbot.sim.accounts.state import Account, HalfTrade, Position
    from tsxbot.sim.exchange.orders import SimOrder
    from tsxbot.sim.marketdata.live import ContractMarket


class UserEvents(Protocol):
    def order(self, order: SimOrder) -> None: ...
    def trade(self, trade: HalfTrade) -> None: ...
    def position(self, position: Position) -> None: ...
    def account(self, account: Account) -> None: ...


class MarketEvents(Protocol):
    def watching(self, contract_id: str) -> bool:
        """True when someone subscribed to this contract's market data."""
        ...

    def on_print(self, market: ContractMarket, ns: int, price: int, size: int, side: int) -> None: ...


class NoUserEvents:
    def order(self, order: SimOrder) -> None:
        pass

    def trade(self, trade: HalfTrade) -> None:
        pass

    def position(self, position: Position) -> None:
        pass

    def account(self, account: Account) -> None:
        pass


class NoMarketEvents:
    def watching(self, contract_id: str) -> bool:
        return False

    def on_print(self, market: ContractMarket, ns: int, price: int, size: int, side: int) -> None:
        pass
