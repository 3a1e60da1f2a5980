"""ProjectX payloads, field for field as the Swagger spec and the realtime docs name them.

Number fields hold ``Decimal`` on REST (exact digits, see ``decimals.py``) and ``float`` on the
hubs; the encoder writes both as JSON numbers.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

Num = Decimal | float


class _Model(msgspec.Struct, rename="camel", omit_defaults=False):
    pass


class TradingAccountModel(_Model):
    id: int
    name: str
    balance: Num
    can_trade: bool
    is_visible: bool
    simulated: bool


class ContractModel(_Model):
    id: str
    name: str
    description: str
    tick_size: Num
    tick_value: Num
    active_contract: bool
    symbol_id: str


class AggregateBarModel(msgspec.Struct, omit_defaults=False):
    t: str
    o: Num
    h: Num
    l: Num  # noqa: E741 - the wire name
    c: Num
    v: int


class OrderModel(_Model):
    id: int
    account_id: int
    contract_id: str
    symbol_id: str
    creation_timestamp: str
    update_timestamp: str | None
    status: int
    type: int
    side: int
    size: int
    limit_price: Num | None
    stop_price: Num | None
    fill_volume: int
    filled_price: Num | None
    custom_tag: str | None


class OrderModelExtended(OrderModel):
    """With the newer Swagger's fields (trailing distance, bracket links)."""

    trail_distance: int | None
    trail_price: Num | None
    parent_order_id: int | None
    linked_order_id: int | None


class PositionModel(_Model):
    id: int
    account_id: int
    contract_id: str
    creation_timestamp: str
    type: int
    size: int
    average_price: Num


class HalfTradeModel(_Model, kw_only=True):
    id: int
    account_id: int
    contract_id: str
    creation_timestamp: str
    price: Num
    profit_and_loss: Num | None
    fees: Num
    # The newer Swagger's field (after ``fees``, as listed); left out unless wire.tradeCommissions.
    commissions: Num | msgspec.UnsetType = msgspec.UNSET
    side: int
    size: int
    voided: bool
    order_id: int


class MarketTradeModel(_Model):
    symbol_id: str
    price: float
    timestamp: str
    type: int
    volume: int


class DepthModel(_Model):
    timestamp: str
    type: int
    price: float
    volume: int
    current_volume: int


class Wrapped(msgspec.Struct):
    """A user-hub payload wrapped as ``{"action": 1, "data": {...}}``."""

    action: int
    data: msgspec.Struct
