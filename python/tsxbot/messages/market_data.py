"""Market data: quotes, trades, depth and bars (pub/sub: may be dropped or superseded)."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from tsxbot.messages.enums import Aggressor, DomType, MessageType
from tsxbot.messages.payload import AwareDatetime, NonNegativeInt, Payload, Quantity


class Quote(Payload, frozen=True):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.QUOTE
    symbol: str
    contract_id: str
    timestamp: AwareDatetime
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    bid_size: NonNegativeInt | None = None
    ask_size: NonNegativeInt | None = None
    volume: NonNegativeInt | None = None


class MarketTrade(Payload, frozen=True):
    """A print on the tape, with the aggressor side."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.TRADE
    symbol: str
    contract_id: str
    price: float
    size: Quantity
    aggressor: Aggressor
    timestamp: AwareDatetime


class DepthEntry(msgspec.Struct, rename="camel", frozen=True, kw_only=True, gc=False):
    """One ProjectX depth row; ``volume`` 0 removes a price level."""

    kind: DomType
    price: float
    volume: NonNegativeInt
    current_volume: int | None = None


class Depth(Payload, frozen=True):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.DEPTH
    symbol: str
    contract_id: str
    timestamp: AwareDatetime
    entries: list[DepthEntry]


class Bar(Payload, frozen=True):
    """An OHLCV bar with order-flow volume; ``start`` inclusive, ``end`` exclusive."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.BAR
    symbol: str
    timeframe: str
    start: AwareDatetime
    end: AwareDatetime
    open: float
    high: float
    low: float
    close: float
    volume: NonNegativeInt
    buy_volume: NonNegativeInt = 0
    sell_volume: NonNegativeInt = 0
    trade_count: NonNegativeInt = 0
    contract_id: str | None = None
    # False while the bar is still forming.
    complete: bool = True

    @property
    def delta(self) -> int:
        return self.buy_volume - self.sell_volume


class HistoryRequest(Payload, frozen=True):
    """Anyone -> connection manager (``connection-manager:history``): ``symbol``'s bars of
    ``timeframe`` in [start, end) from ProjectX's History; answered on ``history_replies(replyTo)``
    with ``HistoryBars`` carrying the same ``requestId``."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.HISTORY_REQUEST
    request_id: str
    reply_to: str
    symbol: str
    start: AwareDatetime
    end: AwareDatetime
    timeframe: str = "1m"


class HistoryBars(Payload, frozen=True):
    """The answer to a ``HistoryRequest``: whole bars, oldest first, or ``error``."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.HISTORY_BARS
    request_id: str
    symbol: str
    bars: list[Bar] = msgspec.field(default_factory=list)
    error: str | None = None
