"""The Rust envelope codec against msgspec (the hot-path codec) on every sample message."""

from __future__ import annotations

import contextlib
import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.message_samples import SAMPLES, T0
from tsxbot._core import EnvelopeDecodeError, decode_envelope, encode_envelope
from tsxbot.messages import Envelope, Payload, codec


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: p.MESSAGE_TYPE.value)
def test_decodes_what_msgspec_encodes_and_back(payload: Payload) -> None:
    data = codec.encode(Envelope.wrap(payload, "bot_1", metadata={"strategy": "PDH_PDL"}, timestamp=T0))
    decoded = decode_envelope(data)
    assert decoded == msgspec.json.decode(data)
    again = encode_envelope(
        decoded["type"], decoded["timestamp"], decoded["source"], decoded["payload"], decoded["metadata"]
    )
    assert json.loads(again) == json.loads(data)
    assert codec.decode(again) == codec.decode(data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"{", "not JSON"),
        (b"[]", "must be an object"),
        (b'{"type":"X","timestamp":"2024-01-01T10:00:00","source":"s","payload":{}}', "UTC offset"),
        (b'{"type":"X","timestamp":"2024-01-01T10:00:00Z","source":"s"}', "payload` is missing"),
        (
            b'{"type":"X","timestamp":"2024-01-01T10:00:00Z","source":1,"payload":{}}',
            "source` must be a string",
        ),
        (
            b'{"type":"X","timestamp":"2024-01-01T10:00:00Z","source":"s","payload":{},"metadata":{"a":[1]}}',
            "scalars",
        ),
    ],
)
def test_bad_input_raises_a_typed_error(data: bytes, match: str) -> None:
    with pytest.raises(EnvelopeDecodeError, match=match):
        decode_envelope(data)
    assert issubclass(EnvelopeDecodeError, ValueError)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6), st.binary(max_size=64))
def test_round_trips_any_payload_and_never_crashes(payload: dict[str, object], junk: bytes) -> None:
    data = encode_envelope("ANY", "2024-01-01T10:00:00.5+00:00", "src", payload, {"k": 1})
    assert decode_envelope(data)["payload"] == payload
    assert msgspec.json.decode(data)["payload"] == payload
    # Arbitrary bytes: a typed error or a valid envelope, never anything else.
    with contextlib.suppress(EnvelopeDecodeError):
        assert set(decode_envelope(junk)) == {"type", "timestamp", "source", "payload", "metadata"}
