"""The message envelope, exactly the spec's JSON: ``{type, timestamp, source, payload, metadata}``.

``metadata`` is free-form (the spec puts ``strategy`` and ``signal`` there); ``Envelope.wrap``
adds a ``messageId``, which consumers of must-not-lose channels use to handle a message once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from typing import Any, Generic, TypeVar

import msgspec

from tsxbot.messages.account import AccountUpdate, PnlUpdate, PositionUpdate, TradingStateChange
from tsxbot.messages.bots import (
    AggregatorControl,
    BotControl,
    BotHeartbeat,
    BotRegistration,
    BotStatus,
    Metrics,
    Signal,
)
from tsxbot.messages.enums import MessageType
from tsxbot.messages.market_data import Bar, Depth, HistoryBars, HistoryRequest, MarketTrade, Quote
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
from tsxbot.messages.payload import Payload, Scalar

P = TypeVar("P", bound=Payload)

# The one registry of message types and their payloads.
PAYLOAD_TYPES: dict[MessageType, type[Payload]] = {
    cls.MESSAGE_TYPE: cls
    for cls in (
        OrderSubmission,
        PlaceOrder,
        ModifyOrder,
        CancelOrder,
        ClosePosition,
        UpdateStopLossTakeProfit,
        CommandResult,
        OrderUpdate,
        Fill,
        RiskRejection,
        PositionUpdate,
        AccountUpdate,
        PnlUpdate,
        TradingStateChange,
        Quote,
        MarketTrade,
        Depth,
        Bar,
        Signal,
        BotStatus,
        BotControl,
        Metrics,
        BotRegistration,
        BotHeartbeat,
        AggregatorControl,
        HistoryRequest,
        HistoryBars,
    )
}
assert set(PAYLOAD_TYPES) == set(MessageType), "every MessageType needs exactly one payload"

MESSAGE_ID_KEY = "messageId"

# Message ids: a random per-process prefix and a counter (unique across processes, ~100 ns each).
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def new_message_id() -> str:
    return f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Envelope(msgspec.Struct, Generic[P], frozen=True, gc=False):
    type: MessageType
    timestamp: dt.datetime
    source: str
    payload: P
    metadata: dict[str, Scalar] = {}

    @classmethod
    def wrap(
        cls,
        payload: P,
        source: str,
        *,
        metadata: dict[str, Scalar] | None = None,
        timestamp: dt.datetime | None = None,
        message_id: str | None = None,
    ) -> Envelope[P]:
        """The one way to build a message: ``type`` follows from the payload's class."""
        meta: dict[str, Scalar] = dict(metadata) if metadata else {}
        meta.setdefault(MESSAGE_ID_KEY, message_id or new_message_id())
        return Envelope(
            type=payload.MESSAGE_TYPE,
            timestamp=timestamp or utc_now(),
            source=source,
            payload=payload,
            metadata=meta,
        )

    @property
    def message_id(self) -> str | None:
        value = self.metadata.get(MESSAGE_ID_KEY)
        return value if isinstance(value, str) else None


def payload_type(message_type: MessageType | str) -> type[Payload] | None:
    try:
        return PAYLOAD_TYPES[MessageType(message_type)]
    except ValueError:
        return None


AnyEnvelope = Envelope[Any]
