"""JSON encoding and decoding of envelopes; bad input raises one typed ``MessageDecodeError``."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import msgspec

from tsxbot.messages.enums import MessageType
from tsxbot.messages.envelope import PAYLOAD_TYPES, Envelope
from tsxbot.messages.payload import Payload, Scalar

P = TypeVar("P", bound=Payload)


class DecodeErrorKind(StrEnum):
    NOT_JSON = "NOT_JSON"
    INVALID_ENVELOPE = "INVALID_ENVELOPE"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    INVALID_PAYLOAD = "INVALID_PAYLOAD"
    WRONG_TYPE = "WRONG_TYPE"


class MessageDecodeError(ValueError):
    """A message could not be decoded. ``kind`` says how, ``detail`` says where and what."""

    def __init__(self, kind: DecodeErrorKind, detail: str, message_type: str | None = None) -> None:
        self.kind = kind
        self.detail = detail
        self.message_type = message_type
        where = f" ({message_type})" if message_type else ""
        super().__init__(f"{kind.value}{where}: {detail}")


class _WireEnvelope(msgspec.Struct, gc=False):
    type: str
    timestamp: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    source: str
    payload: msgspec.Raw
    metadata: dict[str, Scalar] = {}


_ENCODER = msgspec.json.Encoder()
_WIRE_DECODER = msgspec.json.Decoder(_WireEnvelope)
_PAYLOAD_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    t.value: msgspec.json.Decoder(cls) for t, cls in PAYLOAD_TYPES.items()
}
_PATH = re.compile(r"`\$")


def utf8_problem(data: bytes | bytearray | memoryview) -> str | None:
    """What makes ``data`` not UTF-8 (and at which byte), or None.

    Check the whole of JSON before decoding it into a typed Struct: msgspec skips a key the type does
    not have (and its value) without checking its UTF-8, so a message or body that is not JSON would
    otherwise be accepted."""
    if isinstance(data, bytes) and data.isascii():  # the common case: cheaper than decoding
        return None
    try:
        str(data, "utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 ({exc.reason} at byte {exc.start})"
    return None


def encode(envelope: Envelope[Any]) -> bytes:
    return _ENCODER.encode(envelope)


def decode(data: bytes | bytearray | memoryview | str) -> Envelope[Any]:
    """Decodes one envelope and its typed payload; raises ``MessageDecodeError``."""
    problem = None if isinstance(data, str) else utf8_problem(data)
    if problem is not None:
        raise MessageDecodeError(DecodeErrorKind.NOT_JSON, problem)
    try:
        wire = _WIRE_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise MessageDecodeError(DecodeErrorKind.INVALID_ENVELOPE, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise MessageDecodeError(DecodeErrorKind.NOT_JSON, str(exc)) from None
    except UnicodeEncodeError as exc:  # a str that is not valid Unicode (a lone surrogate)
        raise MessageDecodeError(DecodeErrorKind.NOT_JSON, f"not valid Unicode: {exc.reason}") from None
    decoder = _PAYLOAD_DECODERS.get(wire.type)
    if decoder is None:
        raise MessageDecodeError(
            DecodeErrorKind.UNKNOWN_TYPE, f"unknown message type {wire.type!r}", wire.type
        )
    try:
        payload = decoder.decode(wire.payload)
    except msgspec.DecodeError as exc:  # includes ValidationError
        detail = _PATH.sub("`$.payload", str(exc))
        raise MessageDecodeError(DecodeErrorKind.INVALID_PAYLOAD, detail, wire.type) from None
    return Envelope(
        type=MessageType(wire.type),
        timestamp=wire.timestamp,
        source=wire.source,
        payload=payload,
        metadata=wire.metadata,
    )


def decode_as(data: bytes | bytearray | memoryview | str, payload_cls: type[P]) -> Envelope[P]:
    """Like ``decode``, and the message must carry ``payload_cls``."""
    envelope = decode(data)
    if not isinstance(envelope.payload, payload_cls):
        raise MessageDecodeError(
            DecodeErrorKind.WRONG_TYPE,
            f"expected a {payload_cls.MESSAGE_TYPE.value} message",
            envelope.type.value,
        )
    return envelope
