"""The base of every message payload and the constrained field types payloads share."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar

import msgspec

from tsxbot.messages.enums import MessageType

AwareDatetime = Annotated[dt.datetime, msgspec.Meta(tz=True)]
Quantity = Annotated[int, msgspec.Meta(gt=0)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# Order commands: every number bounded, so nothing absurd (or too big for ProjectX's int32/int64
# fields, or for JSON encoding) reaches the exchange. Contracts per order: at most this many.
MAX_ORDER_QUANTITY = 1000
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
OrderQuantity = Annotated[int, msgspec.Meta(gt=0, le=MAX_ORDER_QUANTITY)]
# Bracket distances: ProjectX's ``ticks`` are 32-bit signed.
Ticks = Annotated[int, msgspec.Meta(gt=0, le=INT32_MAX)]
AccountId = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
ExchangeOrderId = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
# A finite price (no futures contract trades near a billion); whether it is plausible for the
# instrument (not below zero, mostly) is the connection manager's check.
Price = Annotated[float, msgspec.Meta(gt=-1e9, lt=1e9)]
# Metadata and control parameters: flat JSON scalars only.
Scalar = str | int | float | bool | None


class Payload(msgspec.Struct, rename="camel", frozen=True, kw_only=True, gc=False):
    """A message body. Each subclass names the envelope ``type`` it travels under."""

    MESSAGE_TYPE: ClassVar[MessageType]
