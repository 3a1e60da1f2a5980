"""Submissions on ``aggregator:orders`` that could not be decoded: when the sending bot and the
order id can still be read from the raw bytes, the bot gets a typed refusal
(``MALFORMED_SUBMISSION``, naming the field that was wrong); otherwise the message is only
dead-lettered by the bus, and the aggregator logs and counts it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec

from tsxbot.messages import MessageDecodeError, MessageType

# msgspec's error text ends with the path of the value it refused: "... - at `$.payload.quantity`".
_FIELD = re.compile(r"at `\$\.payload\.?([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]*)`")
_MAX_ID = 128


class RefusalNotJournaledError(RuntimeError):
    """The refusal of a malformed submission was published but the trade journal did not take
    it: the message stays pending on the bus (delivered again, the refusal's id making the
    repeat a duplicate)."""


@dataclass(frozen=True)
class Malformed:
    bot_id: str
    order_id: str
    field: str  # the payload field that was wrong ("payload" when it is the whole payload)
    detail: str


def field_of(error: MessageDecodeError) -> str:
    missing = _MISSING.search(error.detail)
    if missing is not None:
        return missing.group(1)
    match = _FIELD.search(error.detail)
    if match is None:
        return "payload" if error.message_type else "envelope"
    return match.group(1) or "payload"


def read_malformed(data: bytes, error: MessageDecodeError) -> Malformed | None:
    """Who sent a malformed submission and which order it was, when the bytes still say."""
    try:
        value: Any = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    source, payload = value.get("source"), value.get("payload")
    if value.get("type") not in (MessageType.ORDER_SUBMISSION.value, None) or not isinstance(payload, dict):
        return None
    order_id = payload.get("orderId")
    if not isinstance(source, str) or not isinstance(order_id, str) or not _an_id(source, order_id):
        return None
    return Malformed(source, order_id, field_of(error), error.detail)


def _an_id(*values: str) -> bool:
    return all(0 < len(v) <= _MAX_ID for v in values)
