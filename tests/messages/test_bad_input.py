"""Bad input raises one typed MessageDecodeError that says what was wrong; nothing else escapes."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.message_samples import SAMPLES, T0
from tsxbot.messages import (
    DecodeErrorKind,
    Envelope,
    Fill,
    MessageDecodeError,
    OrderSubmission,
    decode,
    decode_as,
    encode,
)


def good() -> dict[str, Any]:
    return json.loads(encode(Envelope.wrap(SAMPLES[0], "bot_1", timestamp=T0)))  # type: ignore[no-any-return]


def kind_of(data: str | bytes) -> MessageDecodeError:
    with pytest.raises(MessageDecodeError) as info:
        decode(data)
    return info.value


@pytest.mark.parametrize(
    "data", [b"", b"not json", b"{", b"\xff\xfe", b'{"type": "QUOTE",}', b'{"type": "QUOTE"']
)
def test_not_json(data: bytes) -> None:
    assert kind_of(data).kind is DecodeErrorKind.NOT_JSON


@pytest.mark.parametrize(
    ("mutate", "detail"),
    [
        (lambda m: m.pop("type"), "missing required field `type`"),
        (lambda m: m.pop("payload"), "missing required field `payload`"),
        (lambda m: m.update(timestamp="yesterday"), "`$.timestamp`"),
        (lambda m: m.update(timestamp="2024-01-01T10:00:00"), "timezone"),
        (lambda m: m.update(source=42), "`$.source`"),
        (lambda m: m.update(metadata={"nested": {"a": 1}}), "`$.metadata"),
    ],
)
def test_invalid_envelope(mutate: Any, detail: str) -> None:
    message = good()
    mutate(message)
    error = kind_of(json.dumps(message))
    assert error.kind is DecodeErrorKind.INVALID_ENVELOPE
    assert detail in str(error)


def test_top_level_not_an_object() -> None:
    assert kind_of(b"[1, 2, 3]").kind is DecodeErrorKind.INVALID_ENVELOPE


def test_unknown_type() -> None:
    message = good()
    message["type"] = "ORDER_TELEPORT"
    error = kind_of(json.dumps(message))
    assert error.kind is DecodeErrorKind.UNKNOWN_TYPE
    assert error.message_type == "ORDER_TELEPORT"
    assert "ORDER_TELEPORT" in str(error)


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("quantity", 0, "`$.payload.quantity`"),
        ("quantity", "two", "`$.payload.quantity`"),
        ("quantity", 1.5, "`$.payload.quantity`"),
        ("side", "LONG", "`$.payload.side`"),
        ("orderType", "ICEBERG", "`$.payload.orderType`"),
        ("symbol", None, "`$.payload.symbol`"),
        ("stopLoss", "1850", "`$.payload.stopLoss`"),
    ],
)
def test_invalid_payload_names_the_field(field: str, value: Any, detail: str) -> None:
    message = good()
    message["payload"][field] = value
    error = kind_of(json.dumps(message))
    assert error.kind is DecodeErrorKind.INVALID_PAYLOAD
    assert error.message_type == "ORDER_SUBMISSION"
    assert detail in str(error)


def test_missing_payload_field() -> None:
    message = good()
    del message["payload"]["orderId"]
    error = kind_of(json.dumps(message))
    assert error.kind is DecodeErrorKind.INVALID_PAYLOAD
    assert "orderId" in str(error)


def test_payload_of_another_type() -> None:
    message = good()
    message["type"] = "FILL"  # an order submission's body is not a fill
    assert kind_of(json.dumps(message)).kind is DecodeErrorKind.INVALID_PAYLOAD


def test_decode_as_wrong_type() -> None:
    with pytest.raises(MessageDecodeError) as info:
        decode_as(json.dumps(good()), Fill)
    assert info.value.kind is DecodeErrorKind.WRONG_TYPE
    assert decode_as(json.dumps(good()), OrderSubmission).payload == SAMPLES[0]


def test_error_is_a_value_error() -> None:
    assert issubclass(MessageDecodeError, ValueError)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_another_exception(data: bytes) -> None:
    with contextlib.suppress(MessageDecodeError):
        decode(data)


@given(st.text(max_size=300))
def test_arbitrary_text_never_escapes_as_another_exception(text: str) -> None:
    """``decode`` takes str too: even one that is not valid Unicode (a lone surrogate)."""
    with contextlib.suppress(MessageDecodeError):
        decode(text)


def test_a_lone_surrogate_is_not_json() -> None:
    with pytest.raises(MessageDecodeError) as info:
        decode('{"type": "QUOTE", "source": "\ud800"}')
    assert info.value.kind is DecodeErrorKind.NOT_JSON


@pytest.mark.parametrize("where", ["envelope key", "payload key", "unknown payload value"])
def test_invalid_utf8_in_an_unknown_key_is_not_json(where: str) -> None:
    """msgspec skips an unknown key (and its value) of a typed Struct without checking its UTF-8:
    the whole message is checked first, so such a message is malformed, not delivered."""
    data = encode(Envelope.wrap(SAMPLES[0], "bot_1", timestamp=T0))
    assert decode(data).payload == SAMPLES[0]
    corrupted = {
        "envelope key": data[:-1] + b',"note\xff":1}',
        "payload key": data.replace(b'"payload":{', b'"payload":{"x\xed\xa0\x80":"y",'),
        "unknown payload value": data.replace(b'"payload":{', b'"payload":{"n":"\xc3",'),
    }[where]
    error = kind_of(corrupted)
    assert error.kind is DecodeErrorKind.NOT_JSON and "not UTF-8" in error.detail, error
    at = error.detail.rsplit("at byte ", 1)[1].rstrip(")")
    assert corrupted[int(at)] >= 0x80


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_escapes_as_another_exception(value: Any) -> None:
    message = good()
    message["payload"] = value
    try:
        decode(json.dumps(message))
    except MessageDecodeError as exc:
        assert exc.kind is DecodeErrorKind.INVALID_PAYLOAD
