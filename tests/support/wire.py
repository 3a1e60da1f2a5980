"""Field-for-field checks of ProjectX payloads: the exact key set and each value's JSON type."""

from __future__ import annotations

import re
from typing import Any

NUMBER = (int, float)
ISO_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
ISO_ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

ACCOUNT = {
    "id": int,
    "name": str,
    "balance": NUMBER,
    "canTrade": bool,
    "isVisible": bool,
    "simulated": bool,
}
CONTRACT = {
    "id": str,
    "name": str,
    "description": str,
    "tickSize": NUMBER,
    "tickValue": NUMBER,
    "activeContract": bool,
    "symbolId": str,
}
BAR = {"t": str, "o": NUMBER, "h": NUMBER, "l": NUMBER, "c": NUMBER, "v": int}
ORDER = {
    "id": int,
    "accountId": int,
    "contractId": str,
    "symbolId": str,
    "creationTimestamp": str,
    "updateTimestamp": (str, type(None)),
    "status": int,
    "type": int,
    "side": int,
    "size": int,
    "limitPrice": (*NUMBER, type(None)),
    "stopPrice": (*NUMBER, type(None)),
    "fillVolume": int,
    "filledPrice": (*NUMBER, type(None)),
    "customTag": (str, type(None)),
}
ORDER_EXTENDED = {
    **ORDER,
    "trailDistance": (int, type(None)),
    "trailPrice": (*NUMBER, type(None)),
    "parentOrderId": (int, type(None)),
    "linkedOrderId": (int, type(None)),
}
POSITION = {
    "id": int,
    "accountId": int,
    "contractId": str,
    "creationTimestamp": str,
    "type": int,
    "size": int,
    "averagePrice": NUMBER,
}
TRADE = {
    "id": int,
    "accountId": int,
    "contractId": str,
    "creationTimestamp": str,
    "price": NUMBER,
    "profitAndLoss": (*NUMBER, type(None)),
    "fees": NUMBER,
    "side": int,
    "size": int,
    "voided": bool,
    "orderId": int,
}
QUOTE = {
    "symbol": str,
    "symbolName": str,
    "lastPrice": NUMBER,
    "bestBid": NUMBER,
    "bestAsk": NUMBER,
    "change": NUMBER,
    "changePercent": NUMBER,
    "open": NUMBER,
    "high": NUMBER,
    "low": NUMBER,
    "volume": int,
    "lastUpdated": str,
    "timestamp": str,
}
MARKET_TRADE = {"symbolId": str, "price": NUMBER, "timestamp": str, "type": int, "volume": int}
DEPTH = {"timestamp": str, "type": int, "price": NUMBER, "volume": int, "currentVolume": int}
ENVELOPE = {"success": bool, "errorCode": int, "errorMessage": (str, type(None))}


def check_fields(value: Any, schema: dict[str, Any]) -> None:
    """``value`` has exactly the keys of ``schema``, each of the given JSON type(s)."""
    assert isinstance(value, dict), value
    assert set(value) == set(schema), (sorted(set(value) ^ set(schema)), value)
    for key, kind in schema.items():
        item = value[key]
        # JSON has no separate bool: an int field must not come back as true/false.
        if kind is int or kind is NUMBER or (isinstance(kind, tuple) and bool not in kind):
            assert not isinstance(item, bool), (key, item)
        assert isinstance(item, kind), (key, item, kind)


def check_envelope(body: dict[str, Any], payload: str | None, code: int = 0) -> None:
    keys = {**ENVELOPE, **({payload: object} if payload else {})}
    if "totalCount" in body:  # Order/v2/query's second payload field
        keys["totalCount"] = object
    assert set(body) == set(keys), sorted(set(body) ^ set(keys))
    assert body["success"] is (code == 0)
    assert body["errorCode"] == code
