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
# Metadata and control parameters: flat JSON scalars only.
Scalar = str | int | float | bool | None


class Payload(msgspec.Struct, rename="camel", frozen=True, kw_only=True, gc=False):
    """A message body. Each subclass names the envelope ``type`` it travels under."""

    MESSAGE_TYPE: ClassVar[MessageType]
