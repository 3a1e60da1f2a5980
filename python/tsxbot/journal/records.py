"""One typed record per journal table, and the conversion from bus messages and P&L trades."""

from __future__ import annotations

import json
from typing import ClassVar

import msgspec
from sqlalchemy import Table

from tsxbot.journal import schema
from tsxbot.messages.orders import Fill, OrderUpdate, RiskRejection
from tsxbot.pnl.matching import RoundTrip
from tsxbot.pnl.periods import trading_day
from tsxbot.sessions import to_ns


class Record(msgspec.Struct, frozen=True, kw_only=True):
    TABLE: ClassVar[Table]
    key: str

    def values(self) -> dict[str, object]:
        return msgspec.structs.asdict(self)


class OrderRecord(Record, frozen=True, kw_only=True):
    TABLE = schema.orders
    ts_ns: int
    account_id: int | None = None
    bot_id: str | None = None
    symbol: str
    side: str
    quantity: int
    order_type: str
    limit_price: float | None = None
    stop_price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    signal_price: float | None = None
    signal_ns: int | None = None


class OrderUpdateRecord(Record, frozen=True, kw_only=True):
    TABLE = schema.order_updates
    ts_ns: int
    exchange_order_id: int
    order_id: str | None = None
    bot_id: str | None = None
    symbol: str | None = None
    status: str
    quantity: int
    filled_quantity: int
    average_fill_price: float | None = None
    reason: str | None = None


class FillRecord(Record, frozen=True, kw_only=True):
    TABLE = schema.fills
    ts_ns: int
    account_id: int | None = None
    bot_id: str
    strategy: str = ""
    symbol: str
    contract_id: str | None = None
    side: str
    quantity: int
    price: float
    fees: float
    exchange_order_id: int | None = None
    order_id: str | None = None
    stop_loss: float | None = None
    voided: bool = False


class TradeRecord(Record, frozen=True, kw_only=True):
    TABLE = schema.trades
    bot_id: str
    strategy: str
    account_id: int | None
    symbol: str
    direction: int
    quantity: int
    max_position: int
    entry_price: float
    exit_price: float
    entry_ns: int
    exit_ns: int
    trading_day: str
    gross_pnl: float
    fees: float
    net_pnl: float
    mae: float
    mfe: float
    initial_risk: float | None
    r_multiple: float | None


class RiskRejectionRecord(Record, frozen=True, kw_only=True):
    TABLE = schema.risk_rejections
    ts_ns: int
    order_id: str
    bot_id: str | None = None
    stage: str
    reason: str
    message: str
    limit_value: float | None = None
    value: float | None = None


class TradingStateRecord(Record, frozen=True, kw_only=True):
    TABLE = schema.trading_state_changes
    ts_ns: int
    account_id: int | None = None
    state_from: str | None = None
    state_to: str
    reason: str


class ControlActionRecord(Record, frozen=True, kw_only=True):
    """Who asked (``actor``), what (``action`` on ``target``), when (``ts_ns``) and why (``reason``)."""

    TABLE = schema.control_actions
    ts_ns: int
    actor: str
    action: str
    target: str | None = None
    reason: str
    params: str = "{}"
    ok: bool | None = None

    @staticmethod
    def encode_params(params: dict[str, object]) -> str:
        return json.dumps(params, sort_keys=True, default=str)


class AccountStateRecord(Record, frozen=True, kw_only=True):
    """The account as the risk engine saw it at ``ts_ns`` (``trading_day``: CME, ISO date)."""

    TABLE = schema.account_history
    ts_ns: int
    account_id: int | None = None
    trading_day: str
    balance: float
    equity: float
    day_start_equity: float
    drawdown_peak: float


def fill_record(fill: Fill, *, bot_id: str, strategy: str = "", stop_loss: float | None = None) -> FillRecord:
    """A bus fill as the journal stores it (``bot_id`` as the aggregator attributed it)."""
    return FillRecord(
        key=str(fill.fill_id),
        ts_ns=to_ns(fill.timestamp),
        account_id=fill.account_id,
        bot_id=bot_id,
        strategy=strategy,
        symbol=fill.symbol or fill.contract_id,
        contract_id=fill.contract_id,
        side=fill.side.value,
        quantity=fill.quantity,
        price=fill.price,
        fees=fill.fees,
        exchange_order_id=fill.exchange_order_id,
        order_id=fill.order_id,
        stop_loss=stop_loss,
        voided=fill.voided,
    )


def order_update_record(update: OrderUpdate, message_id: str, ts_ns: int) -> OrderUpdateRecord:
    return OrderUpdateRecord(
        key=message_id,
        ts_ns=to_ns(update.updated_at) if update.updated_at is not None else ts_ns,
        exchange_order_id=update.exchange_order_id,
        order_id=update.order_id,
        bot_id=update.bot_id,
        symbol=update.symbol,
        status=update.status.value,
        quantity=update.quantity,
        filled_quantity=update.filled_quantity,
        average_fill_price=update.average_fill_price,
        reason=update.reason,
    )


def risk_rejection_record(rejection: RiskRejection, message_id: str, ts_ns: int) -> RiskRejectionRecord:
    return RiskRejectionRecord(
        key=message_id,
        ts_ns=ts_ns,
        order_id=rejection.order_id,
        bot_id=rejection.bot_id,
        stage=rejection.stage.value,
        reason=rejection.reason.value,
        message=rejection.message,
        limit_value=rejection.limit,
        value=rejection.value,
    )


def trade_record(trade: RoundTrip) -> TradeRecord:
    return TradeRecord(
        key=trade.trade_id,
        bot_id=trade.bot_id,
        strategy=trade.strategy,
        account_id=trade.account_id,
        symbol=trade.symbol,
        direction=trade.direction,
        quantity=trade.quantity,
        max_position=trade.max_position,
        entry_price=trade.entry_price,
        exit_price=trade.exit_price,
        entry_ns=trade.entry_ns,
        exit_ns=trade.exit_ns,
        trading_day=trading_day(trade.exit_ns).isoformat(),
        gross_pnl=trade.gross_pnl,
        fees=trade.fees,
        net_pnl=trade.net_pnl,
        mae=trade.mae,
        mfe=trade.mfe,
        initial_risk=trade.initial_risk,
        r_multiple=trade.r_multiple,
    )
