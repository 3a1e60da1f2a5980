"""ProjectX REST request and response bodies (camelCase on the wire, exactly the documented
fields). Enum-valued fields stay ``int`` on the wire so a value TopStepX adds later cannot break
decoding; the typed views are properties. Timestamps without an offset are taken as UTC."""

from __future__ import annotations

import datetime as dt
import functools
import typing
from enum import IntEnum
from typing import Any, TypeVar

import msgspec

from tsxbot.gateway.enums import OrderSide, OrderStatus, OrderType, PositionType


def as_utc(value: dt.datetime) -> dt.datetime:
    """ProjectX mixes ``Z``, ``+00:00`` and (in places) no offset at all; no offset means UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _may_hold_a_datetime(annotation: Any) -> bool:
    if annotation is dt.datetime or annotation is Any or annotation is object:
        return True
    return any(_may_hold_a_datetime(arg) for arg in typing.get_args(annotation))


@functools.cache
def _datetime_fields(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of ``cls`` that may hold a timestamp (read once per class, not per body)."""
    hints = typing.get_type_hints(cls)
    return tuple(name for name in cls.__struct_fields__ if _may_hold_a_datetime(hints.get(name, Any)))


class Wire(msgspec.Struct, rename="camel", kw_only=True):
    """A ProjectX body. Unknown fields are ignored (newer API versions add some)."""

    def __post_init__(self) -> None:
        for name in _datetime_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                setattr(self, name, as_utc(value))


# --- entities -------------------------------------------------------------------------------------


class Account(Wire):
    """TradingAccountModel / GatewayUserAccount."""

    id: int
    name: str
    balance: float
    can_trade: bool
    is_visible: bool = True
    simulated: bool = True


class Contract(Wire):
    id: str
    name: str
    description: str
    tick_size: float
    tick_value: float
    active_contract: bool
    symbol_id: str


class HistoryBar(Wire):
    t: dt.datetime
    o: float
    h: float
    l: float  # noqa: E741 - the wire name
    c: float
    v: int


class Order(Wire):
    """OrderModel / GatewayUserOrder."""

    id: int
    account_id: int
    contract_id: str
    creation_timestamp: dt.datetime
    status: int
    type: int
    side: int
    size: int
    symbol_id: str | None = None
    update_timestamp: dt.datetime | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    fill_volume: int = 0
    filled_price: float | None = None
    custom_tag: str | None = None
    trail_price: float | None = None
    parent_order_id: int | None = None
    linked_order_id: int | None = None

    @property
    def order_status(self) -> OrderStatus | None:
        return _enum(OrderStatus, self.status)

    @property
    def order_type(self) -> OrderType | None:
        return _enum(OrderType, self.type)

    @property
    def order_side(self) -> OrderSide | None:
        return _enum(OrderSide, self.side)


class Position(Wire):
    """PositionModel / GatewayUserPosition. ``size`` is never negative; ``type`` gives the side,
    and a closed position arrives with ``size`` 0."""

    id: int
    account_id: int
    contract_id: str
    type: int
    size: int
    average_price: float
    creation_timestamp: dt.datetime | None = None
    contract_display_name: str | None = None

    @property
    def position_type(self) -> PositionType | None:
        return _enum(PositionType, self.type)

    @property
    def net_quantity(self) -> int:
        if self.size == 0:
            return 0
        return self.size if self.type == PositionType.LONG else -self.size


class Trade(Wire):
    """HalfTradeModel / GatewayUserTrade. ``profit_and_loss`` is None for an opening fill."""

    id: int
    account_id: int
    contract_id: str
    creation_timestamp: dt.datetime
    price: float
    side: int
    size: int
    order_id: int
    fees: float = 0.0
    profit_and_loss: float | None = None
    voided: bool = False
    commissions: float | None = None

    @property
    def trade_side(self) -> OrderSide | None:
        return _enum(OrderSide, self.side)


E = TypeVar("E", bound=IntEnum)


def _enum(enum: type[E], value: int) -> E | None:
    try:
        return enum(value)
    except ValueError:
        return None


# --- requests -------------------------------------------------------------------------------------


class Bracket(msgspec.Struct, rename="camel"):
    """Signed tick offset from the fill (long: stop < 0, target > 0) and the leg's order type."""

    ticks: int
    type: int


class PlaceOrderRequest(msgspec.Struct, rename="camel", kw_only=True):
    account_id: int
    contract_id: str
    type: int
    side: int
    size: int
    limit_price: float | None = None
    stop_price: float | None = None
    trail_price: float | None = None
    custom_tag: str | None = None
    stop_loss_bracket: Bracket | None = None
    take_profit_bracket: Bracket | None = None


class ModifyOrderRequest(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    """Fields left out keep their value (what the simulator does; unconfirmed on TopStepX)."""

    account_id: int
    order_id: int
    size: int | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    trail_price: float | None = None


# --- responses ------------------------------------------------------------------------------------


class Response(msgspec.Struct, rename="camel", kw_only=True):
    success: bool
    error_code: int = 0
    error_message: str | None = None


class LoginResponse(Response, kw_only=True):
    token: str | None = None


class ValidateResponse(Response, kw_only=True):
    new_token: str | None = None


class AccountsResponse(Response, kw_only=True):
    accounts: list[Account] | None = None


class ContractsResponse(Response, kw_only=True):
    contracts: list[Contract] | None = None


class ContractResponse(Response, kw_only=True):
    contract: Contract | None = None


class BarsResponse(Response, kw_only=True):
    bars: list[HistoryBar] | None = None


class OrdersResponse(Response, kw_only=True):
    orders: list[Order] | None = None


class OrderResponse(Response, kw_only=True):
    order: Order | None = None


class PlaceOrderResponse(Response, kw_only=True):
    order_id: int | None = None


class PositionsResponse(Response, kw_only=True):
    positions: list[Position] | None = None


class TradesResponse(Response, kw_only=True):
    trades: list[Trade] | None = None
