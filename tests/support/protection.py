"""Watches the simulated exchange for positions without a working stop, from its own state.

``ProtectionWatch.install(simulator)`` puts an observer between the exchange and its user hub
(every event is forwarded unchanged). After every exchange operation that changed an order or a
position, it checks every open position of every account: the working (OPEN) stop and trailing
stop orders on its closing side must together cover its whole size.

The check runs once the operation that emitted the events is over (``call_soon``: before any
other request, hub message or clock step is handled). Inside one operation the exchange moves
through states no one can see or act on: a fill reports the position, then activates the
entry's bracket legs in the same call. A stop that only comes with a later operation (a bot
sending it after hearing of its fill) is a gap, and is caught.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tsxbot.gateway.enums import OrderSide, OrderStatus, OrderType
from tsxbot.sessions import from_ns
from tsxbot.sim import Simulator
from tsxbot.sim.accounts.state import Account, HalfTrade, Position
from tsxbot.sim.events import UserEvents
from tsxbot.sim.exchange.orders import SimOrder
from tsxbot.sim.exchange.venue import Exchange

STOPS = (OrderType.STOP, OrderType.TRAILING_STOP)


@dataclass
class ProtectionWatch:
    exchange: Exchange
    inner: UserEvents
    # Order and position events seen, checks made, and checks that found a position held.
    events: int = 0
    checks: int = 0
    checks_holding: int = 0
    unprotected: list[str] = field(default_factory=list)
    _since: list[str] = field(default_factory=list)
    _due: bool = False

    @classmethod
    def install(cls, simulator: Simulator) -> ProtectionWatch:
        watch = cls(simulator.exchange, simulator.exchange.user)
        simulator.exchange.user = watch
        return watch

    def uninstall(self) -> None:
        self.exchange.user = self.inner

    # --- UserEvents ---------------------------------------------------------------------------
    def order(self, order: SimOrder) -> None:
        self.inner.order(order)
        self._changed(
            f"order {order.id} {order.type.name} {order.status.name} {order.fill_volume}/{order.size}"
        )

    def position(self, position: Position) -> None:
        self.inner.position(position)
        self._changed(f"position {position.contract.id} {position.net}")

    def trade(self, trade: HalfTrade) -> None:
        self.inner.trade(trade)

    def account(self, account: Account) -> None:
        self.inner.account(account)

    # --- the check ----------------------------------------------------------------------------
    def _changed(self, what: str) -> None:
        self.events += 1
        self._since.append(what)
        if self._due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the event loop: nothing else can run in between
            self.check()
            return
        self._due = True
        loop.call_soon(self.check)

    def check(self) -> None:
        self._due = False
        self.checks += 1
        since, self._since = self._since, []
        holding = False
        for account in self.exchange.accounts.values():
            for contract_id, position in account.positions.items():
                if position.net == 0:
                    continue
                holding = True
                closing = OrderSide.ASK if position.net > 0 else OrderSide.BID
                covered = sum(
                    o.remaining
                    for o in self.exchange.working.get(contract_id, {}).values()
                    if o.account_id == account.id
                    and o.type in STOPS
                    and o.status is OrderStatus.OPEN
                    and o.side is closing
                )
                if covered < abs(position.net):
                    when = from_ns(self.exchange.clock.now_ns()).isoformat()
                    self.unprotected.append(
                        f"{when} account {account.id} {contract_id} net {position.net}, stops cover "
                        f"{covered}; after: {'; '.join(since)}"
                    )
        if holding:
            self.checks_holding += 1
