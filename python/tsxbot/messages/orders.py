"""The order path: submissions from bots, commands to the connection manager, and the exchange's
answers (command results, order updates, fills), plus risk rejections."""

from __future__ import annotations

from typing import ClassVar

from tsxbot.messages.enums import (
    CommandFailure,
    MessageType,
    OrderStatus,
    OrderType,
    RejectionStage,
    RiskReason,
    Side,
)
from tsxbot.messages.payload import (
    AccountId,
    AwareDatetime,
    ExchangeOrderId,
    Id,
    NonNegativeInt,
    OrderQuantity,
    Payload,
    Price,
    Quantity,
    Ticks,
)


class OrderSubmission(Payload, frozen=True):
    """Bot -> aggregator (``aggregator:orders``). The submitting bot is the envelope's ``source``.

    ``stopLoss`` / ``takeProfit`` are absolute prices (or ``stopLossTicks`` / ``takeProfitTicks``
    distances); the aggregator rounds them in the safe direction and turns them into bracket ticks.
    ``orderId`` is the bot's id for the order, unique per bot: a second submission with the same
    id is handled once.
    """

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.ORDER_SUBMISSION
    order_id: Id
    symbol: str
    side: Side
    quantity: Quantity
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    trail_ticks: Quantity | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    # Or the bracket as distances in ticks from the entry (the limit/stop price, else the market).
    stop_loss_ticks: Quantity | None = None
    take_profit_ticks: Quantity | None = None
    account_id: int | None = None
    # Only reduce an existing position (allowed while the account is REDUCING).
    reduce_only: bool = False
    # Higher goes first in the aggregator's queue.
    priority: int = 0


class PlaceOrder(Payload, frozen=True):
    """Aggregator -> connection manager: place one order (with its bracket) on TopStepX."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PLACE_ORDER
    command_id: Id
    order_id: Id
    bot_id: Id
    # ProjectX customTag: unique within the account; how fills are attributed and retries deduplicated.
    custom_tag: Id
    symbol: Id
    side: Side
    quantity: OrderQuantity
    order_type: OrderType = OrderType.MARKET
    account_id: AccountId | None = None
    contract_id: Id | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail_price: Price | None = None
    # Bracket distances from the fill, in ticks, always positive; the gateway applies
    # ProjectX's sign convention (long: stop below, target above).
    stop_loss_ticks: Ticks | None = None
    take_profit_ticks: Ticks | None = None


class ModifyOrder(Payload, frozen=True):
    """Change a working order; fields left out keep their value. One of the two ids is required."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.MODIFY_ORDER
    command_id: Id
    account_id: AccountId | None = None
    exchange_order_id: ExchangeOrderId | None = None
    order_id: Id | None = None
    quantity: OrderQuantity | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail_price: Price | None = None


class CancelOrder(Payload, frozen=True):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.CANCEL_ORDER
    command_id: Id
    account_id: AccountId | None = None
    exchange_order_id: ExchangeOrderId | None = None
    order_id: Id | None = None


class ClosePosition(Payload, frozen=True):
    """Flatten (``quantity`` None) or partly close a position at market, cancelling its SL/TP."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.CLOSE_POSITION
    command_id: Id
    symbol: Id
    account_id: AccountId | None = None
    contract_id: Id | None = None
    quantity: OrderQuantity | None = None
    bot_id: Id | None = None


class UpdateStopLossTakeProfit(Payload, frozen=True):
    """Move the protective orders of a position to new absolute prices (None keeps one as is)."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.UPDATE_SLTP
    command_id: Id
    symbol: Id
    account_id: AccountId | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    bot_id: Id | None = None


class CommandResult(Payload, frozen=True):
    """Connection manager -> aggregator: how an order command ended at the exchange."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.COMMAND_RESULT
    command_id: Id
    command: MessageType
    ok: bool
    exchange_order_id: int | None = None
    # The ProjectX endpoint's own errorCode (codes differ per endpoint) and its message.
    error_code: int | None = None
    message: str | None = None
    # Why it failed (None when ``ok``).
    failure: CommandFailure | None = None


class OrderUpdate(Payload, frozen=True):
    """An order's state at the exchange (from the user hub, a search, or a place answer)."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.ORDER_UPDATE
    exchange_order_id: int
    account_id: int
    contract_id: str
    status: OrderStatus
    order_type: OrderType
    side: Side
    quantity: NonNegativeInt
    filled_quantity: NonNegativeInt = 0
    limit_price: float | None = None
    stop_price: float | None = None
    average_fill_price: float | None = None
    custom_tag: str | None = None
    order_id: str | None = None
    bot_id: str | None = None
    symbol: str | None = None
    reason: str | None = None
    updated_at: AwareDatetime | None = None


class Fill(Payload, frozen=True):
    """One execution (a ProjectX half-turn trade)."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.FILL
    fill_id: int
    exchange_order_id: int
    account_id: int
    contract_id: str
    side: Side
    quantity: Quantity
    price: float
    timestamp: AwareDatetime
    fees: float = 0.0
    # Realized P&L of a closing fill; None for an opening fill (ProjectX profitAndLoss null).
    realized_pnl: float | None = None
    custom_tag: str | None = None
    order_id: str | None = None
    bot_id: str | None = None
    symbol: str | None = None
    voided: bool = False


class RiskRejection(Payload, frozen=True):
    """An order refused before it reached the exchange (or by the exchange), with a typed reason."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.RISK_REJECTION
    order_id: Id
    stage: RejectionStage
    reason: RiskReason
    message: str
    bot_id: str | None = None
    # The limit that was hit and the value that hit it, when there is one.
    limit: float | None = None
    value: float | None = None
