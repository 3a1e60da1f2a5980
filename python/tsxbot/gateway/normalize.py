"""ProjectX entities -> tsxbot messages (the one place the two vocabularies meet)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from tsxbot.config.instruments import Instruments
from tsxbot.gateway import enums
from tsxbot.gateway.models import Account, Order, Position, Trade, as_utc
from tsxbot.messages import (
    AccountUpdate,
    Aggressor,
    Depth,
    DepthEntry,
    DomType,
    Fill,
    MarketTrade,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Quote,
    Side,
)

ORDER_STATUS = {
    enums.OrderStatus.OPEN: OrderStatus.OPEN,
    enums.OrderStatus.FILLED: OrderStatus.FILLED,
    enums.OrderStatus.CANCELLED: OrderStatus.CANCELLED,
    enums.OrderStatus.EXPIRED: OrderStatus.EXPIRED,
    enums.OrderStatus.REJECTED: OrderStatus.REJECTED,
    enums.OrderStatus.PENDING: OrderStatus.PENDING,
    enums.OrderStatus.PENDING_CANCELLATION: OrderStatus.PENDING_CANCELLATION,
    enums.OrderStatus.SUSPENDED: OrderStatus.SUSPENDED,
}
ORDER_TYPE = {
    enums.OrderType.LIMIT: OrderType.LIMIT,
    enums.OrderType.MARKET: OrderType.MARKET,
    enums.OrderType.STOP_LIMIT: OrderType.STOP_LIMIT,
    enums.OrderType.STOP: OrderType.STOP,
    enums.OrderType.TRAILING_STOP: OrderType.TRAILING_STOP,
    enums.OrderType.JOIN_BID: OrderType.JOIN_BID,
    enums.OrderType.JOIN_ASK: OrderType.JOIN_ASK,
}
TO_PROJECTX_TYPE = {v: k for k, v in ORDER_TYPE.items()}
SIDE = {enums.OrderSide.BID: Side.BUY, enums.OrderSide.ASK: Side.SELL}
TO_PROJECTX_SIDE = {v: k for k, v in SIDE.items()}


class UnknownValueError(ValueError):
    """An enum value TopStepX sent that this version does not know (reported, never guessed)."""


def _lookup(table: dict[Any, Any], value: int, what: str) -> Any:
    try:
        return table[value]
    except KeyError:
        raise UnknownValueError(f"unknown ProjectX {what} {value}") from None


class Normalizer:
    def __init__(self, instruments: Instruments) -> None:
        self.instruments = instruments
        self._quotes: dict[str, dict[str, Any]] = {}

    def symbol_of(self, contract_id: str) -> str | None:
        inst = self.instruments.by_contract_id(contract_id)
        return inst.symbol if inst else None

    def last_price(self, contract_id: str) -> float | None:
        """The last trade price the market hub reported for a contract (None: none yet)."""
        return _float(self._quotes.get(contract_id, {}).get("lastPrice"))

    # --- user hub / REST entities -----------------------------------------------------------------

    def account(self, a: Account) -> AccountUpdate:
        return AccountUpdate(
            account_id=a.id,
            name=a.name,
            balance=a.balance,
            can_trade=a.can_trade,
            is_visible=a.is_visible,
            simulated=a.simulated,
        )

    def order(self, o: Order) -> OrderUpdate:
        return OrderUpdate(
            exchange_order_id=o.id,
            account_id=o.account_id,
            contract_id=o.contract_id,
            status=_lookup(ORDER_STATUS, o.status, "order status"),
            order_type=_lookup(ORDER_TYPE, o.type, "order type"),
            side=_lookup(SIDE, o.side, "order side"),
            quantity=o.size,
            filled_quantity=o.fill_volume,
            limit_price=o.limit_price,
            stop_price=o.stop_price,
            average_fill_price=o.filled_price,
            custom_tag=o.custom_tag,
            symbol=self.symbol_of(o.contract_id),
            updated_at=o.update_timestamp or o.creation_timestamp,
        )

    def fill(self, t: Trade) -> Fill:
        return Fill(
            fill_id=t.id,
            exchange_order_id=t.order_id,
            account_id=t.account_id,
            contract_id=t.contract_id,
            side=_lookup(SIDE, t.side, "trade side"),
            quantity=t.size,
            price=t.price,
            timestamp=t.creation_timestamp,
            fees=t.fees,
            realized_pnl=t.profit_and_loss,
            symbol=self.symbol_of(t.contract_id),
            voided=t.voided,
        )

    def position(self, p: Position, now: dt.datetime) -> PositionUpdate:
        return PositionUpdate(
            account_id=p.account_id,
            contract_id=p.contract_id,
            net_quantity=p.net_quantity,
            average_price=p.average_price,
            timestamp=p.creation_timestamp if p.size and p.creation_timestamp else now,
            symbol=self.symbol_of(p.contract_id),
        )

    # --- market hub rows --------------------------------------------------------------------------

    def quote(self, contract_id: str, row: dict[str, Any], now: dt.datetime) -> Quote:
        """Quotes may be partial updates: merged into the last known quote of the contract."""
        merged = self._quotes.setdefault(contract_id, {})
        merged.update({k: v for k, v in row.items() if v is not None})
        return Quote(
            symbol=self.symbol_of(contract_id) or contract_id,
            contract_id=contract_id,
            timestamp=_timestamp(merged.get("timestamp") or merged.get("lastUpdated"), now),
            bid=_float(merged.get("bestBid")),
            ask=_float(merged.get("bestAsk")),
            last=_float(merged.get("lastPrice")),
            volume=_int(merged.get("volume")),
        )

    def trades(self, contract_id: str, rows: list[dict[str, Any]], now: dt.datetime) -> list[MarketTrade]:
        symbol = self.symbol_of(contract_id) or contract_id
        out = []
        for row in rows:
            size = _int(row.get("volume"))
            price = _float(row.get("price"))
            if not size or price is None:
                continue
            kind = row.get("type")
            aggressor = Aggressor.BUY if kind == 0 else Aggressor.SELL if kind == 1 else Aggressor.UNKNOWN
            out.append(
                MarketTrade(
                    symbol=symbol,
                    contract_id=contract_id,
                    price=price,
                    size=size,
                    aggressor=aggressor,
                    timestamp=_timestamp(row.get("timestamp"), now),
                )
            )
        return out

    def depth(self, contract_id: str, rows: list[dict[str, Any]], now: dt.datetime) -> Depth:
        entries = []
        latest: str | None = None
        for row in rows:
            try:
                kind = DomType[enums.DomType(int(row.get("type", 0))).name]
            except (ValueError, KeyError):
                kind = DomType.UNKNOWN
            entries.append(
                DepthEntry(
                    kind=kind,
                    price=_float(row.get("price")) or 0.0,
                    volume=max(_int(row.get("volume")) or 0, 0),
                    current_volume=_int(row.get("currentVolume")),
                )
            )
            latest = row.get("timestamp") or latest
        return Depth(
            symbol=self.symbol_of(contract_id) or contract_id,
            contract_id=contract_id,
            timestamp=_timestamp(latest, now),
            entries=entries,
        )


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _timestamp(value: Any, default: dt.datetime) -> dt.datetime:
    if isinstance(value, str):
        try:
            return as_utc(msgspec.convert(value, dt.datetime))
        except msgspec.ValidationError:
            return default
    return default
