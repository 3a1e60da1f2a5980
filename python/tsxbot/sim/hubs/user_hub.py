"""``/hubs/user``: SubscribeAccounts / Orders / Positions / Trades (and Unsubscribe*), pushing
GatewayUserAccount / Order / Position / Trade with one data argument, bare or wrapped as
``{"action", "data"}`` per config. A closed position is pushed with ``size: 0``."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

import msgspec

from tsxbot.config.simulator import HubSettings, WireSettings
from tsxbot.sim.accounts.state import Account, HalfTrade, Position
from tsxbot.sim.exchange.orders import SimOrder
from tsxbot.sim.faults.state import FaultState
from tsxbot.sim.hubs import protocol
from tsxbot.sim.hubs.connection import HubConnection, Topic
from tsxbot.sim.hubs.endpoint import HubEndpoint
from tsxbot.sim.tokens import TokenStore
from tsxbot.sim.wire.binding import INT32_MAX, INT32_MIN
from tsxbot.sim.wire.models import Wrapped
from tsxbot.sim.wire.present import Presenter

ACCOUNTS = Topic("SubscribeAccounts")
ORDERS, POSITIONS, TRADES = "SubscribeOrders", "SubscribePositions", "SubscribeTrades"


class UserAction(IntEnum):
    """``action`` of a wrapped payload (the ProjectX admin hub's codes; unconfirmed here)."""

    CREATE = 0
    UPDATE = 1
    DELETE = 2


def _account_id(args: list[Any]) -> int:
    """The argument bound as the hub method's ``int accountId`` (an Int32; numbers as strings)."""
    value = args[0]
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,10}\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not INT32_MIN <= value <= INT32_MAX:
        raise TypeError("accountId must be an Int32")
    return value


class UserHub(HubEndpoint):
    def __init__(
        self, settings: HubSettings, wire: WireSettings, tokens: TokenStore, faults: FaultState
    ) -> None:
        super().__init__("user", settings, tokens, faults)
        self.present = Presenter(wire, "hub")
        self.wrapped = settings.user_payload == "wrapped"
        self._announced: set[int] = set()  # orders already pushed once (later pushes are updates)
        self.method("SubscribeAccounts", 0, lambda c, a: self.subscribe(c, ACCOUNTS))
        self.method("UnsubscribeAccounts", 0, lambda c, a: self.unsubscribe(c, ACCOUNTS))
        for method in (ORDERS, POSITIONS, TRADES):
            self.method(method, 1, self._subscriber(method, True))
            self.method(f"Un{method[0].lower()}{method[1:]}", 1, self._subscriber(method, False))

    def _subscriber(self, method: str, on: bool) -> Any:
        def handle(conn: HubConnection, args: list[Any]) -> None:
            key = Topic(method, _account_id(args))
            if on:
                self.subscribe(conn, key)
            else:
                self.unsubscribe(conn, key)

        return handle

    def _emit(self, topic: Topic, target: str, model: msgspec.Struct, action: UserAction) -> None:
        conns = self.subscribers(topic)
        if not conns:
            return
        payload = Wrapped(action=int(action), data=model) if self.wrapped else model
        self.publish(conns, target, protocol.push(target, protocol.encode(payload)))

    # --- UserEvents ----------------------------------------------------------------------------
    def order(self, order: SimOrder) -> None:
        action = UserAction.UPDATE if order.id in self._announced else UserAction.CREATE
        self._announced.add(order.id)
        self._emit(Topic(ORDERS, order.account_id), "GatewayUserOrder", self.present.order(order), action)

    def trade(self, trade: HalfTrade) -> None:
        self._emit(
            Topic(TRADES, trade.account_id), "GatewayUserTrade", self.present.trade(trade), UserAction.CREATE
        )

    def position(self, position: Position) -> None:
        action = UserAction.DELETE if position.net == 0 else UserAction.UPDATE
        self._emit(
            Topic(POSITIONS, position.account_id),
            "GatewayUserPosition",
            self.present.position(position),
            action,
        )

    def account(self, account: Account) -> None:
        self._emit(ACCOUNTS, "GatewayUserAccount", self.present.account(account), UserAction.UPDATE)
