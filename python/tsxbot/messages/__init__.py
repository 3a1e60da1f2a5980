"""Messages on the bus: the spec's envelope, a typed payload per message type, the codec and the
channel registry."""

from tsxbot.messages import channels
from tsxbot.messages.account import AccountUpdate, PnlUpdate, PositionUpdate
from tsxbot.messages.bots import (
    AggregatorControl,
    BotControl,
    BotHeartbeat,
    BotRegistration,
    BotStatus,
    Metrics,
    Signal,
)
from tsxbot.messages.channels import Channel, Delivery
from tsxbot.messages.codec import DecodeErrorKind, MessageDecodeError, decode, decode_as, encode
from tsxbot.messages.enums import (
    Aggressor,
    BotCommand,
    BotState,
    CommandFailure,
    ControlAction,
    DomType,
    MessageType,
    OrderStatus,
    OrderType,
    RejectionStage,
    RiskReason,
    Side,
)
from tsxbot.messages.envelope import PAYLOAD_TYPES, AnyEnvelope, Envelope, new_message_id, utc_now
from tsxbot.messages.market_data import Bar, Depth, DepthEntry, MarketTrade, Quote
from tsxbot.messages.orders import (
    CancelOrder,
    ClosePosition,
    CommandResult,
    Fill,
    ModifyOrder,
    OrderSubmission,
    OrderUpdate,
    PlaceOrder,
    RiskRejection,
    UpdateStopLossTakeProfit,
)
from tsxbot.messages.payload import Payload

__all__ = [
    "PAYLOAD_TYPES",
    "AccountUpdate",
    "AggregatorControl",
    "Aggressor",
    "AnyEnvelope",
    "Bar",
    "BotCommand",
    "BotControl",
    "BotHeartbeat",
    "BotRegistration",
    "BotState",
    "BotStatus",
    "CancelOrder",
    "Channel",
    "ClosePosition",
    "CommandFailure",
    "CommandResult",
    "ControlAction",
    "DecodeErrorKind",
    "Delivery",
    "Depth",
    "DepthEntry",
    "DomType",
    "Envelope",
    "Fill",
    "MarketTrade",
    "MessageDecodeError",
    "MessageType",
    "Metrics",
    "ModifyOrder",
    "OrderStatus",
    "OrderSubmission",
    "OrderType",
    "OrderUpdate",
    "Payload",
    "PlaceOrder",
    "PnlUpdate",
    "PositionUpdate",
    "Quote",
    "RejectionStage",
    "RiskReason",
    "RiskRejection",
    "Side",
    "Signal",
    "UpdateStopLossTakeProfit",
    "channels",
    "decode",
    "decode_as",
    "encode",
    "new_message_id",
    "utc_now",
]
