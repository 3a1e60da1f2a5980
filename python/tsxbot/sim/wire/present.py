"""Turns the exchange's state into wire models for one surface (REST or a hub)."""

from __future__ import annotations

import msgspec

from tsxbot.config.simulator import WireSettings
from tsxbot.sim.accounts.state import Account, HalfTrade, Position
from tsxbot.sim.contracts import Contract
from tsxbot.sim.exchange.orders import SimOrder
from tsxbot.sim.wire.decimals import DecimalStyle
from tsxbot.sim.wire.models import (
    ContractModel,
    HalfTradeModel,
    Num,
    OrderModel,
    OrderModelExtended,
    PositionModel,
    TradingAccountModel,
)
from tsxbot.sim.wire.timestamps import Surface, TimestampStyle


class Presenter:
    def __init__(self, wire: WireSettings, surface: Surface) -> None:
        self.surface = surface
        self.rest = surface == "rest"
        self.times = TimestampStyle(wire.timestamps)
        self.decimals = DecimalStyle(wire.decimals)
        self.order_extras = wire.order_extras == "both" or (wire.order_extras == "rest" and self.rest)
        self.closed_keeps_side = wire.closed_position_type == "lastSide"
        self.commissions = wire.trade_commissions

    def ts(self, ns: int) -> str:
        return self.times.format(ns, self.surface)

    def price(self, contract: Contract, ticks: float) -> Num:
        value = (
            round(ticks * contract.tick_size, 9)
            if not float(ticks).is_integer()
            else contract.ticks.to_price(int(ticks))
        )
        return self.decimals.price(value) if self.rest else value

    def money(self, value: float) -> Num:
        return self.decimals.price(round(value, 2)) if self.rest else round(value, 2)

    def plain(self, value: float) -> Num:
        return self.decimals.plain(value) if self.rest else value

    def fees(self, value: float) -> Num:
        return self.decimals.fees(value) if self.rest else round(value, 4)

    def account(self, account: Account) -> TradingAccountModel:
        return TradingAccountModel(
            id=account.id,
            name=account.name,
            balance=self.plain(account.balance),
            can_trade=account.can_trade,
            is_visible=account.config.is_visible,
            simulated=account.config.simulated,
        )

    def contract(self, contract: Contract) -> ContractModel:
        return ContractModel(
            id=contract.id,
            name=contract.name,
            description=contract.description,
            tick_size=self.plain(contract.tick_size),
            tick_value=self.plain(contract.tick_value),
            active_contract=contract.active,
            symbol_id=contract.symbol_id,
        )

    def order(self, order: SimOrder) -> OrderModel:
        c = order.contract
        avg = order.avg_fill_ticks
        base = (
            order.id,
            order.account_id,
            c.id,
            c.symbol_id,
            self.ts(order.created_ns),
            self.ts(order.updated_ns),
            int(order.status),
            int(order.type),
            int(order.side),
            order.size,
            None if order.limit is None else self.price(c, order.limit),
            None if order.stop is None else self.price(c, order.stop),
            order.fill_volume,
            None if avg is None else self.price(c, avg),
            order.custom_tag,
        )
        if not self.order_extras:
            return OrderModel(*base)
        trail = order.trail_ticks
        return OrderModelExtended(
            *base,
            trail,
            # Read back as a distance in price (ticks x tickSize), not the level that was sent.
            None if trail is None else self.price(c, trail),
            order.parent_id,
            order.linked_id,
        )

    def position(self, position: Position) -> PositionModel:
        """A closed position (size 0) keeps the side it had, unless the config says 0."""
        kind = position.type
        if position.net == 0 and self.closed_keeps_side:
            kind = position.last_side
        return PositionModel(
            id=position.id,
            account_id=position.account_id,
            contract_id=position.contract.id,
            creation_timestamp=self.ts(position.created_ns),
            type=int(kind),
            size=abs(position.net),
            average_price=self.price(position.contract, position.avg),
        )

    def trade(self, trade: HalfTrade) -> HalfTradeModel:
        """Commissions in their own field (``wire.tradeCommissions``), else inside ``fees``."""
        commissions: Num | msgspec.UnsetType = msgspec.UNSET
        if self.commissions:
            fees, commissions = self.fees(trade.fees), self.fees(trade.commissions)
        else:
            fees = self.fees(round(trade.fees + trade.commissions, 4))
        return HalfTradeModel(
            id=trade.id,
            account_id=trade.account_id,
            contract_id=trade.contract.id,
            creation_timestamp=self.ts(trade.ns),
            price=self.price(trade.contract, trade.price),
            profit_and_loss=None if trade.pnl is None else self.money(trade.pnl),
            fees=fees,
            commissions=commissions,
            side=int(trade.side),
            size=trade.size,
            voided=trade.voided,
            order_id=trade.order_id,
        )
