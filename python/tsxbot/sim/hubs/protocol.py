"""SignalR JSON hub protocol: 0x1E-terminated records, the handshake, and the server's messages.

Only spec fields are ever emitted (pysignalr rejects unknown keys); pushes carry no invocationId.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tsxbot.sim.wire.binding import MAX_DEPTH, depth

RS = "\x1e"
RS_BYTES = b"\x1e"
HANDSHAKE_OK = b"{}\x1e"
PING = b'{"type":6}\x1e'

INVOCATION = 1
STREAM_ITEM = 2
COMPLETION = 3
STREAM_INVOCATION = 4
CANCEL_INVOCATION = 5
PING_TYPE = 6
CLOSE = 7

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
TOO_DEEP = f"Error reading JSON: the maximum configured depth of {MAX_DEPTH} has been exceeded."


class ProtocolError(Exception):
    """A record the server cannot accept; the connection is closed with this message."""


def split_records(payload: str) -> list[str]:
    """Complete records in one WebSocket message (several may share a frame)."""
    if not payload.endswith(RS):
        raise ProtocolError("Message is incomplete: records must end with the record separator (0x1E).")
    return payload.split(RS)[:-1]


def parse(record: str) -> dict[str, Any]:
    try:
        message = _decoder.decode(record)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"Error reading JSON: {exc}") from None
    except msgspec.ValidationError as exc:  # an integer of thousands of digits
        raise ProtocolError(f"Error reading JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(TOO_DEEP) from None
    if depth(message) > MAX_DEPTH:
        raise ProtocolError(TOO_DEEP)
    if not isinstance(message, dict):
        raise ProtocolError("Unexpected JSON token: expected an object.")
    return message


def check_handshake(record: str) -> str | None:
    """None if the handshake is acceptable, else the error to send back."""
    try:
        message = parse(record)
    except ProtocolError as exc:
        return str(exc)
    protocol = message.get("protocol")
    version = message.get("version")
    if not isinstance(protocol, str):
        return "Missing required property 'protocol'."
    if protocol != "json":
        return f"The protocol '{protocol}' is not supported."
    # ASP.NET's JsonHubProtocol accepts any version <= 1; signalrcore 1.0.2 sends its
    # negotiateVersion (0) as the protocol version, and works against the real hubs.
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 1:
        return f"The server does not support version {version} of the '{protocol}' protocol."
    return None


def handshake_error(message: str) -> bytes:
    return _encoder.encode({"error": message}) + RS_BYTES


def completion(invocation_id: str, error: str | None = None) -> bytes:
    body: dict[str, Any] = {"type": COMPLETION, "invocationId": invocation_id}
    if error is not None:
        body["error"] = error
    return _encoder.encode(body) + RS_BYTES


def close_message(error: str | None = None, allow_reconnect: bool | None = None) -> bytes:
    body: dict[str, Any] = {"type": CLOSE}
    if error is not None:
        body["error"] = error
    if allow_reconnect is not None:
        body["allowReconnect"] = allow_reconnect
    return _encoder.encode(body) + RS_BYTES


def invocation_prefix(target: str) -> bytes:
    """The start of a push to ``target``: append the encoded arguments and ``SUFFIX``."""
    return b'{"type":1,"target":' + _encoder.encode(target) + b',"arguments":['


SUFFIX = b"]}" + RS_BYTES


def push(target: str, *encoded_args: bytes) -> bytes:
    return invocation_prefix(target) + b",".join(encoded_args) + SUFFIX


def encode(value: Any) -> bytes:
    return _encoder.encode(value)
