"""Driving the exchange directly on a paused clock, and recording what it tells the hubs."""

from __future__ import annotations

from typing import Any

from support.sim import COMBINE, ES, offline_sim
from tsxbot.gateway.enums import OrderStatus
from tsxbot.gateway.models import PlaceOrderRequest
from tsxbot.sim import Simulator
from tsxbot.sim.accounts.state import Account, HalfTrade, Position
from tsxbot.sim.exchange.orders import SimOrder
from tsxbot.sim.marketdata.live import ContractMarket

SECOND = 1_000_000_000


class Events:
    """Records what the exchange tells the user hub."""

    def __init__(self) -> None:
        self.orders: list[tuple[int, OrderStatus, int]] = []
        self.trades: list[HalfTrade] = []
        self.positions: list[tuple[int, int]] = []
        self.accounts: list[float] = []

    def order(self, order: SimOrder) -> None:
        self.orders.append((order.id, order.status, order.fill_volume))

    def trade(self, trade: HalfTrade) -> None:
        self.trades.append(trade)

    def position(self, position: Position) -> None:
        self.positions.append((position.id, position.net))

    def account(self, account: Account) -> None:
        self.accounts.append(account.balance)


def make(*overrides: str) -> tuple[Simulator, Events]:
    sim = offline_sim(*overrides)
    events = Events()
    sim.exchange.user = events
    return sim, events


def place(sim: Simulator, **fields: Any) -> Any:
    body = {"account_id": COMBINE, "contract_id": ES, "type": 2, "side": 0, "size": 1, **fields}
    return sim.exchange.place(PlaceOrderRequest(**body))


def market(sim: Simulator, contract: str = ES) -> ContractMarket:
    return sim.exchange.market_at(contract, sim.clock.now_ns())


def advance(sim: Simulator, seconds: float) -> None:
    sim.advance_clock(sim.clock.now_ns() + int(seconds * SECOND))


def prints_between(
    sim: Simulator, start: int, end: int, contract: str = ES
) -> list[tuple[int, int, int, int]]:
    """(ns, price, size, side) of every simulated print in (start, end]."""
    series = sim.markets[contract].series
    out = []
    i = max(0, series.index_at(start))
    while i < len(series.t) and int(series.t[i]) <= end:
        base = int(series.t[i])
        path = series.ticks(i)
        for off, p, sz, sd in zip(path.offsets, path.prices, path.sizes, path.sides, strict=True):
            if start < base + off <= end:
                out.append((base + off, p, sz, sd))
        i += 1
    return out


def fills(events: Events, order_id: int) -> list[tuple[int, int]]:
    return [(t.size, t.price) for t in events.trades if t.order_id == order_id]
