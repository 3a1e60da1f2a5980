"""Every message type survives encode -> decode unchanged, and the wire is the spec's JSON."""

from __future__ import annotations

import json

import msgspec
import pytest

from support.message_samples import SAMPLES, T0
from tsxbot.messages import (
    PAYLOAD_TYPES,
    Envelope,
    MessageType,
    OrderSubmission,
    Side,
    decode,
    decode_as,
    encode,
)
from tsxbot.messages.payload import Payload


def test_samples_cover_every_message_type() -> None:
    assert {type(s).MESSAGE_TYPE for s in SAMPLES} == set(MessageType) == set(PAYLOAD_TYPES)


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: type(p).MESSAGE_TYPE.value)
def test_round_trip(payload: Payload) -> None:
    envelope = Envelope.wrap(payload, "bot_1", metadata={"strategy": "PDH_PDL"}, timestamp=T0)
    data = encode(envelope)
    back = decode(data)
    assert back == envelope
    assert back.payload == payload
    assert type(back.payload) is type(payload)
    assert back.message_id == envelope.message_id
    assert decode_as(data, type(payload)).payload == payload
    # The wire keys are the spec's envelope, camelCase inside.
    wire = json.loads(data)
    assert list(wire) == ["type", "timestamp", "source", "payload", "metadata"]
    assert wire["type"] == type(payload).MESSAGE_TYPE.value
    assert all("_" not in key for key in wire["payload"])


def test_decodes_the_spec_example_exactly() -> None:
    spec = {
        "type": "ORDER_SUBMISSION",
        "timestamp": "2024-01-01T10:00:00.000Z",
        "source": "bot_1",
        "payload": {
            "orderId": "uuid",
            "symbol": "MGC",
            "side": "BUY",
            "quantity": 1,
            "orderType": "MARKET",
            "stopLoss": 1850.0,
            "takeProfit": 1870.0,
        },
        "metadata": {"strategy": "PDH_PDL", "signal": "BREAKOUT"},
    }
    envelope = decode_as(json.dumps(spec), OrderSubmission)
    assert envelope.source == "bot_1"
    assert envelope.timestamp.isoformat() == "2024-01-01T10:00:00+00:00"
    assert envelope.payload.side is Side.BUY
    assert (envelope.payload.stop_loss, envelope.payload.take_profit) == (1850.0, 1870.0)
    assert envelope.metadata == {"strategy": "PDH_PDL", "signal": "BREAKOUT"}
    again = json.loads(encode(envelope))
    for key, value in spec["payload"].items():  # type: ignore[attr-defined]
        assert again["payload"][key] == value


def test_wrap_sets_type_and_a_unique_message_id() -> None:
    payload = SAMPLES[0]
    a, b = Envelope.wrap(payload, "bot_1"), Envelope.wrap(payload, "bot_1")
    assert a.type is MessageType.ORDER_SUBMISSION
    assert a.message_id and b.message_id and a.message_id != b.message_id
    assert a.timestamp.tzinfo is not None
    assert Envelope.wrap(payload, "bot_1", message_id="fixed").message_id == "fixed"


def test_payloads_are_immutable() -> None:
    with pytest.raises(AttributeError):
        SAMPLES[0].quantity = 5  # type: ignore[misc]


def test_builtins_form_matches_json_form() -> None:
    envelope = Envelope.wrap(SAMPLES[1], "aggregator", timestamp=T0)
    assert json.loads(encode(envelope)) == json.loads(json.dumps(msgspec.to_builtins(envelope)))
