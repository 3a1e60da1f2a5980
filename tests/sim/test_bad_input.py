"""Hostile and absurd input against the simulator, answered as ProjectX (ASP.NET) answers it:
values the .NET model cannot hold are HTTP 400 naming the property, prices an instrument cannot
trade at are business refusals (HTTP 200, errorCode), the admin API says what is wrong, and
``/admin/state`` shows subscriptions as plain JSON."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from support.signalr import RawHub
from support.sim import COMBINE, ES, MES, SimHandle, running_sim

INT32_MAX = 2**31 - 1
PLACE = {"accountId": COMBINE, "contractId": MES, "type": 2, "side": 0, "size": 1}


async def _post(s: SimHandle, path: str, content: bytes) -> Any:
    headers = {**s.headers, "Content-Type": "application/json"}
    return await s.http.post(f"/api/{path}", content=content, headers=headers)


def _problem(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 400 and body["title"] == "One or more validation errors occurred."
    errors: dict[str, list[str]] = body["errors"]
    return errors


async def _order_count(s: SimHandle) -> int:
    found = await s.api("Order/search", {"accountId": COMBINE, "startTimestamp": "2026-01-01T00:00:00Z"})
    return len(found["orders"])


async def _cl_contract(s: SimHandle) -> str:
    found = await s.api("Contract/search", {"searchText": "CL", "live": False})
    (cl,) = [c for c in found["contracts"] if c["symbolId"] == "F.US.CLE" and c["activeContract"]]
    return str(cl["id"])


# --- 1. prices an instrument cannot trade at -----------------------------------------------------


async def test_orders_priced_at_or_below_zero_are_refused_where_the_instrument_cannot_go_there() -> None:
    async with running_sim("simulator.paused=true") as s:
        for price in (-5.0, 0.0):
            placed = await s.place(contractId=MES, type=1, limitPrice=price)
            assert (placed["success"], placed["errorCode"]) == (False, 2)  # PlaceOrderErrorCode.OrderRejected
            assert placed["errorMessage"] == (
                f"Invalid limit price ({price:g}). {MES} cannot trade at or below zero."
            )
        sell_stop = await s.place(contractId=MES, type=4, side=1, stopPrice=-5.0)
        assert sell_stop["errorCode"] == 2
        assert sell_stop["errorMessage"] == f"Invalid stop price (-5). {MES} cannot trade at or below zero."
        trail = await s.place(contractId=MES, type=5, side=1, trailPrice=-5.0)
        assert trail["errorCode"] == 2
        assert trail["errorMessage"] == f"Invalid trail price (-5). {MES} cannot trade at or below zero."
        # Modify refuses the same prices (ModifyOrderErrorCode.Rejected = 3) and keeps the order.
        resting = await s.place(contractId=MES, type=1, limitPrice=100.0)
        assert resting["success"] is True
        modified = await s.api(
            "Order/modify", {"accountId": COMBINE, "orderId": resting["orderId"], "limitPrice": -0.25}
        )
        assert (modified["errorCode"], modified["errorMessage"]) == (
            3,
            f"Invalid limit price (-0.25). {MES} cannot trade at or below zero.",
        )
        (order,) = (await s.api("Order/searchOpen", {"accountId": COMBINE}))["orders"]
        assert order["limitPrice"] == 100.0


async def test_crude_oil_may_be_priced_below_zero() -> None:
    async with running_sim("simulator.paused=true") as s:
        cl = await _cl_contract(s)
        placed = await s.place(contractId=cl, type=1, limitPrice=-5.0)
        assert (placed["success"], placed["errorCode"]) == (True, 0), placed
        (order,) = (await s.api("Order/searchOpen", {"accountId": COMBINE}))["orders"]
        assert order["limitPrice"] == -5.0 and order["contractId"] == cl
    assert s.config.instruments.get("CL").allows_negative_prices
    assert s.config.instruments.get("MCL").allows_negative_prices
    assert not s.config.instruments.get("MES").allows_negative_prices


async def test_a_bracket_whose_price_would_be_at_or_below_zero_is_refused() -> None:
    async with running_sim("simulator.paused=true") as s:
        before = await _order_count(s)
        long = await s.place(contractId=MES, stopLossBracket={"ticks": -(2**31), "type": 4})
        assert (long["success"], long["errorCode"]) == (False, 2)
        assert long["errorMessage"].startswith(
            "Invalid stop loss ticks (-2147483648): the stop loss would be at -"
        )
        assert long["errorMessage"].endswith(f"and {MES} cannot trade at or below zero.")
        short = await s.place(contractId=MES, side=1, takeProfitBracket={"ticks": -(2**31), "type": 1})
        assert short["errorCode"] == 2 and "Invalid take profit ticks (-2147483648)" in short["errorMessage"]
        # Refused orders are recorded as Rejected (status 5), as ProjectX does; none works.
        orders = (await s.api("Order/search", {"accountId": COMBINE, "startTimestamp": "2026-01-01"}))[
            "orders"
        ]
        assert [o["status"] for o in orders[before:]] == [5, 5]
        assert (await s.api("Position/searchOpen", {"accountId": COMBINE}))["positions"] == []


async def test_a_bracket_leg_that_lands_below_zero_after_the_fill_is_rejected_not_left_unpriced() -> None:
    """A marketable buy limit far above the market passes the check at its limit price, then
    fills lower: its stop would sit below zero, so the leg is Rejected (and says so)."""
    async with running_sim("simulator.paused=true") as s:
        ask = s.sim.exchange.market_at(MES, s.sim.clock.now_ns()).ask
        assert ask is not None
        limit_ticks = ask * 2  # twice the market: fills at once, at the ask
        placed = await s.place(
            contractId=MES,
            type=1,
            limitPrice=limit_ticks * 0.25,
            stopLossBracket={"ticks": -(limit_ticks - 1), "type": 4},  # a tick above zero at the limit
            takeProfitBracket={"ticks": 8, "type": 1},
        )
        assert placed["success"] is True, placed
        orders = (await s.api("Order/search", {"accountId": COMBINE, "startTimestamp": "2026-01-01"}))[
            "orders"
        ]
        by_id = {o["id"]: o for o in orders}
        parent = by_id[placed["orderId"]]
        assert parent["status"] == 2  # filled
        stop = by_id[placed["orderId"] + 1]
        assert stop["type"] == 4 and stop["status"] == 5 and stop["stopPrice"] is None  # rejected
        target = by_id[placed["orderId"] + 2]
        assert target["type"] == 1 and target["status"] == 1  # the other leg works


# --- 2. values the .NET model cannot hold: HTTP 400 -------------------------------------------------

START = "2026-01-01T00:00:00Z"
# (endpoint, a body that is otherwise fine, the int property, its .NET type)
INT_FIELDS: list[tuple[str, dict[str, Any], str, str]] = [
    ("Order/place", PLACE, "size", "System.Int32"),
    ("Order/place", PLACE, "accountId", "System.Int32"),
    ("Order/place", PLACE, "type", "System.Int32"),
    ("Order/place", PLACE, "side", "System.Int32"),
    ("Order/modify", {"accountId": COMBINE, "orderId": 1}, "size", "System.Nullable`1[System.Int32]"),
    ("Order/modify", {"accountId": COMBINE, "orderId": 1}, "orderId", "System.Int64"),
    ("Order/cancel", {"accountId": COMBINE, "orderId": 1}, "accountId", "System.Int32"),
    ("Order/cancel", {"accountId": COMBINE, "orderId": 1}, "orderId", "System.Int64"),
    ("Order/search", {"accountId": COMBINE, "startTimestamp": START}, "accountId", "System.Int32"),
    ("Order/searchOpen", {"accountId": COMBINE}, "accountId", "System.Int32"),
    ("Order/searchById", {"accountId": COMBINE, "orderId": 1}, "orderId", "System.Int64"),
    ("Order/v2/query", {"filter": {"accountId": COMBINE}}, "pageOffset", "System.Nullable`1[System.Int32]"),
    ("Position/searchOpen", {"accountId": COMBINE}, "accountId", "System.Int32"),
    ("Position/closeContract", {"accountId": COMBINE, "contractId": ES}, "accountId", "System.Int32"),
    (
        "Position/partialCloseContract",
        {"accountId": COMBINE, "contractId": ES, "size": 1},
        "size",
        "System.Int32",
    ),
    ("Trade/search", {"accountId": COMBINE, "startTimestamp": START}, "accountId", "System.Int32"),
    (
        "History/retrieveBars",
        {"contractId": ES, "unit": 2, "unitNumber": 1, "limit": 5},
        "limit",
        "System.Int32",
    ),
    (
        "History/retrieveBars",
        {"contractId": ES, "unit": 2, "unitNumber": 1, "limit": 5},
        "unitNumber",
        "System.Int32",
    ),
    (
        "History/retrieveBars",
        {"contractId": ES, "unit": 2, "unitNumber": 1, "limit": 5},
        "unit",
        "System.Int32",
    ),
]
INT32_BAD = [
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "1e400",
    "1e300",
    "1.5",
    "1.0",
    "true",
    '"x"',
    "null",
]


@pytest.mark.parametrize(
    ("path", "body", "field", "net"), INT_FIELDS, ids=[f"{p}.{f}" for p, _, f, _ in INT_FIELDS]
)
async def test_every_int_property_binds_as_its_dotnet_type(
    path: str, body: dict[str, Any], field: str, net: str
) -> None:
    int64 = net == "System.Int64"
    bad = ["9223372036854775808", "-9223372036854775809", "1e400", "1.5", '"1.5"'] if int64 else INT32_BAD
    if net.startswith("System.Nullable"):
        bad = [v for v in bad if v != "null"]  # null is a value of a nullable property
    async with running_sim("simulator.paused=true") as s:
        before = await _order_count(s)
        for value in bad:
            text = _body_with(body, field, value)
            errors = _problem(await _post(s, path, text))
            at = text.index(value.encode(), text.index(f'"{field}":'.encode())) + len(value)
            assert errors == {
                f"$.{field}": [
                    f"The JSON value could not be converted to {net}. Path: $.{field} | LineNumber: 0 | "
                    f"BytePositionInLine: {at}."
                ]
            }, (value, text)
        # The largest value of the type binds (and the endpoint answers with its business code).
        largest = str(2**63 - 1 if int64 else INT32_MAX)
        response = await _post(s, path, _body_with(body, field, largest))
        assert response.status_code == 200, (response.status_code, response.text)
        response = await _post(s, path, _body_with(body, field, f'"{largest}"'))  # numbers as strings too
        assert response.status_code == 200, (response.status_code, response.text)
        assert await _order_count(s) <= before + 2  # nothing refused at binding became an order


def _body_with(body: dict[str, Any], field: str, value: str) -> bytes:
    head = json.dumps({k: v for k, v in body.items() if k != field}, separators=(",", ":"))
    return f'{head[:-1]}{"," if len(head) > 2 else ""}"{field}":{value}}}'.encode()


async def test_nested_and_list_ints_are_bound_too() -> None:
    async with running_sim() as s:
        bracket = {**PLACE, "stopLossBracket": {"ticks": 4294967296, "type": 4}}
        errors = _problem(await _post(s, "Order/place", json.dumps(bracket).encode()))
        assert list(errors) == ["$.stopLossBracket.ticks"]
        assert errors["$.stopLossBracket.ticks"][0].startswith(
            "The JSON value could not be converted to System.Int32. Path: $.stopLossBracket.ticks"
        )
        query = {"filter": {"accountId": COMBINE, "statuses": [1, 2**40]}}
        errors = _problem(await _post(s, "Order/v2/query", json.dumps(query).encode()))
        assert list(errors) == ["$.filter.statuses[1]"]
        # PascalCase nested property names still bind (ASP.NET is case-insensitive).
        pascal = {**PLACE, "StopLossBracket": {"Ticks": -8, "Type": 4}}
        assert (await _post(s, "Order/place", json.dumps(pascal).encode())).json()["success"] is True


async def test_decimals_nan_infinity_and_out_of_range_prices_are_http_400() -> None:
    async with running_sim() as s:
        before = await _order_count(s)
        limit = b'{"accountId":1001,"contractId":"%s","type":1,"side":0,"size":1,"limitPrice":%s}'
        for value in (
            b'"NaN"',
            b'"Infinity"',
            b'"-Infinity"',
            b"1e29",
            b"-8e28",
            b"1e400",
            b'"abc"',
            b"true",
        ):
            errors = _problem(await _post(s, "Order/place", limit % (MES.encode(), value)))
            assert list(errors) == ["$.limitPrice"], value
            assert "could not be converted to System.Nullable`1[System.Decimal]" in errors["$.limitPrice"][0]
        for literal in (b"NaN", b"Infinity", b"-Infinity"):  # not JSON at all
            errors = _problem(await _post(s, "Order/place", limit % (MES.encode(), literal)))
            assert list(errors) == ["$"] and "is invalid here" in errors["$"][0], literal
        assert await _order_count(s) == before
        # Within decimal's range and as a string: bound, then judged by the exchange.
        placed = (await _post(s, "Order/place", limit % (MES.encode(), b'"100.25"'))).json()
        assert placed["success"] is True


async def test_huge_sizes_never_reach_the_exchange_nor_a_hub_event() -> None:
    """``size`` 1e400 answered 500 (OverflowError in the exposure check); 2**63 became an order
    whose hub event carried a float size."""
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeOrders", COMBINE, invocation_id="s")
            assert await hub.completion("s") == {"type": 3, "invocationId": "s"}
            before = await _order_count(s)
            for size in (b"1e400", b"1e300", b"9223372036854775808", b"18446744073709551616", b"2147483648"):
                body = b'{"accountId":1001,"contractId":"%s","type":2,"side":0,"size":%s}' % (
                    MES.encode(),
                    size,
                )
                assert list(_problem(await _post(s, "Order/place", body))) == ["$.size"]
            assert await _order_count(s) == before
            good = await s.place(contractId=MES)
            assert good["success"] is True
            event = await hub.next_where(lambda r: r.get("target") == "GatewayUserOrder")
            assert event["arguments"][0]["id"] == good["orderId"]  # the first order event is the good one
            assert isinstance(event["arguments"][0]["size"], int)
        finally:
            await hub.close()


# --- 3. an empty body is said plainly, distinct from malformed JSON ---------------------------------


@pytest.mark.parametrize("path", ["Order/place", "Order/searchOpen", "Auth/loginKey", "History/retrieveBars"])
async def test_an_empty_body_says_a_body_is_required_and_malformed_json_says_where(path: str) -> None:
    async with running_sim() as s:
        for empty in (b"", b"  \r\n"):
            assert _problem(await _post(s, path, empty)) == {"": ["A non-empty request body is required."]}
        truncated = _problem(await _post(s, path, b'{"accountId": 1001'))
        assert truncated == {
            "$": [
                "The JSON payload ended before it was complete (an object, array or string is not closed). "
                "Path: $ | LineNumber: 0 | BytePositionInLine: 18."
            ]
        }
        bad = _problem(await _post(s, path, b'{\n  "accountId": x}'))
        assert bad == {
            "$": [
                "'x' is invalid here: the JSON is malformed. "
                "Path: $ | LineNumber: 1 | BytePositionInLine: 15."
            ]
        }
        assert _problem(await _post(s, path, b"[1, 2]"))["$"][0].startswith(
            "The JSON value could not be converted to "
        )
        deep = _problem(await _post(s, path, b"[" * 65 + b"]" * 65))
        assert deep == {"$": ["The maximum configured depth of 64 has been exceeded. Path: $."]}
        assert _problem(await _post(s, path, b'{"contractId": "\xff"}'))["$"][0].startswith(
            "The JSON payload is not valid JSON (Invalid UTF-8"
        )


async def test_invalid_utf8_in_an_unknown_or_misspelt_property_is_a_400_and_places_nothing() -> None:
    """ASP.NET reads the whole body as UTF-8 before binding, so a stray byte in a property the model
    does not have (unknown, or an optional one misspelt) is malformed JSON: a 400, no order."""
    async with running_sim() as s:
        before = await _order_count(s)
        order = b'{"accountId":%d,"contractId":"%s","type":2,"side":0,"size":1' % (COMBINE, MES.encode())
        for corrupted in (order + b',"note\xff":1}', order + b',"customT\xffag":"x"}'):
            errors = _problem(await _post(s, "Order/place", corrupted))
            assert errors["$"][0].startswith("The JSON payload is not valid JSON (Invalid UTF-8"), errors
        assert await _order_count(s) == before
        good = await _post(s, "Order/place", order + b',"note":1}')
        assert good.status_code == 200 and good.json()["success"] is True, good.text
        assert await _order_count(s) == before + 1


# --- 4. /admin/state shows subscriptions as plain JSON ---------------------------------------------


async def test_admin_state_shows_each_subscription_as_a_method_and_its_arguments() -> None:
    async with running_sim() as s:
        user = await RawHub.open(s.hub_url("user"))
        market = await RawHub.open(s.hub_url("market"))
        try:
            for hub in (user, market):
                assert await hub.next() == {}
            for i, (method, args) in enumerate((("SubscribeOrders", [COMBINE]), ("SubscribeAccounts", []))):
                await user.invoke(method, *args, invocation_id=str(i))
                assert await user.completion(str(i)) == {"type": 3, "invocationId": str(i)}
            await market.invoke("SubscribeContractTrades", ES, invocation_id="m")
            assert await market.completion("m") == {"type": 3, "invocationId": "m"}
            # accountId binds as Int32, as the hub method's parameter does on ProjectX.
            await user.invoke("SubscribeTrades", 2**31, invocation_id="big")
            assert "Error binding arguments" in (await user.completion("big"))["error"]
            connections = (await s.state())["connections"]
            assert connections["user"][0]["subscriptions"] == [
                {"method": "SubscribeAccounts", "args": []},
                {"method": "SubscribeOrders", "args": [COMBINE]},
            ]
            assert connections["market"][0]["subscriptions"] == [
                {"method": "SubscribeContractTrades", "args": [ES]}
            ]
        finally:
            await user.close()
            await market.close()


# --- 5. the admin API: malformed bodies are 400 with a message ---------------------------------------

ADMIN_BAD: list[tuple[str, bytes, str]] = [
    ("clock", b'{"action": "advance", "seconds": 1e308}', "seconds must be <= 604800"),
    ("clock", b'{"action": "advance", "seconds": 1' + b"0" * 400 + b"}", "seconds is out of range"),
    ("clock", b'{"action": "advance", "seconds": -5}', "seconds must be >= 0"),
    ("clock", b'{"action": "set", "time": "9999-12-31T23:59:59-05:00"}', "time: "),
    (
        "clock",
        b'{"action": "set", "time": "2036-01-01T00:00:00Z"}',
        "move the clock in steps of at most 7 days",
    ),
    ("clock", b'{"action": "set", "time": 5}', "time must be an ISO-8601 string"),
    ("clock", b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ("clock", b'{"action": ', "invalid JSON"),
    ("clock", b"[1]", "expected a JSON object"),
    ("accounts/1001", b'{"balance": "x"}', "balance must be a number"),
    ("accounts/1001", b'{"canTrade": "yes"}', "canTrade must be true or false"),
    ("accounts/99999999999999999999", b"{}", "no account 99999999999999999999"),
    ("faults/hub/drop", b'{"connectionId": []}', "connectionId must be a string"),
    ("faults/hub/close", b'{"error": 5}', "error must be a string or null"),
    ("faults/ratelimit", b'{"requests": 0, "seconds": 1}', "requests must be >= 1"),
    ("faults/ratelimit", b'{"requests": 2.5, "seconds": 1}', "requests must be a whole number"),
    ("faults/ratelimit", b'{"requests": 5, "seconds": 0}', "seconds must be > 0"),
    ("faults/tokens/lifetime", b'{"seconds": 1e300}', "seconds must be <= "),
    ("faults/latency", b'{"ms": 1e300}', "ms must be <= 3.6e+06"),
    ("faults/tokens/expire", b'{"inSeconds": 1' + b"0" * 400 + b"}", "inSeconds is out of range"),
]


@pytest.mark.parametrize(
    ("path", "body", "message"), ADMIN_BAD, ids=[f"{p}:{b[:40]!r}" for p, b, _ in ADMIN_BAD]
)
async def test_malformed_admin_bodies_are_400_saying_what_is_wrong(
    path: str, body: bytes, message: str
) -> None:
    async with running_sim("simulator.paused=true") as s:
        now = (await s.state())["clock"]["now"]
        response = await s.http.post(f"/admin/{path}", content=body, timeout=10)
        assert response.status_code == 400, (response.status_code, response.text)
        answer = response.json()
        assert answer["ok"] is False and message in answer["error"], answer
        state = await s.state()
        assert state["clock"]["now"] == now  # nothing moved
        assert (await s.place())["success"] is True  # and the simulator still trades


async def test_a_hub_record_nested_too_deeply_closes_that_connection_with_an_error_only() -> None:
    """RecursionError used to escape the hub's reader (an unhandled server error)."""
    async with running_sim() as s:
        for nested in ("[" * 5000 + "]" * 5000, "[" * 65 + "]" * 65):
            hub = await RawHub.open(s.hub_url("user"))
            try:
                assert await hub.next() == {}
                await hub.send_text(
                    '{"type":1,"invocationId":"x","target":"SubscribeOrders","arguments":' + nested + "}\x1e"
                )
                close = await hub.next_where(lambda r: r.get("type") == 7, within=5)
                assert "the maximum configured depth of 64 has been exceeded" in close["error"]
            finally:
                await hub.close()
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeOrders", COMBINE, invocation_id="ok")
            assert await hub.completion("ok") == {"type": 3, "invocationId": "ok"}
        finally:
            await hub.close()


async def test_history_answers_every_extreme_query_at_once() -> None:
    """unitNumber 2147483647 with minute or hour bars answered 500 (int64 overflow in the bucket
    arithmetic); second and tick bars over a long window blocked the server for ~40 s."""
    async with running_sim("simulator.rateLimits.enabled=false") as s:
        started = time.monotonic()
        for unit in range(1, 8):
            for start, end in (
                ("0001-01-01T00:00:00", "9999-12-31T23:59:59"),
                ("0001-01-01T00:00:00-05:00", "9999-12-31T23:59:59-05:00"),
                ("2000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
            ):
                body = {"contractId": ES, "unit": unit, "unitNumber": INT32_MAX, "limit": INT32_MAX}
                body |= {"startTime": start, "endTime": end, "includePartialBar": True}
                response = await s.http.post(
                    "/api/History/retrieveBars", json=body, headers=s.headers, timeout=60
                )
                if "-05:00" in start:  # a valid date whose UTC instant is outside DateTime: HTTP 400
                    assert list(_problem(response)) == ["$.endTime"]
                    continue
                assert response.status_code == 200, (unit, start, response.text)
                assert response.json()["success"] is True
        assert time.monotonic() - started < 20  # was over a minute for the tick bars alone
        # Second bars are still built from the prints (the newest trading day of the window).
        body = {"contractId": ES, "unit": 1, "unitNumber": 1, "limit": 50, "includePartialBar": False}
        body |= {"startTime": "2026-11-20T00:00:00Z", "endTime": "2026-11-25T00:00:00Z"}
        bars = (await s.api("History/retrieveBars", body))["bars"]
        assert len(bars) == 50 and bars[0]["t"] > bars[-1]["t"]


async def test_modify_cannot_grow_an_order_past_the_position_limit() -> None:
    """Order/modify with size 2147483647 was accepted: placement's position limit was skipped."""
    async with running_sim("simulator.paused=true") as s:
        resting = await s.place(contractId=ES, type=1, limitPrice=100.0, size=2)
        assert resting["success"] is True
        for size in (INT32_MAX, 6):  # the Combine allows 5 minis
            modified = await s.api(
                "Order/modify", {"accountId": COMBINE, "orderId": resting["orderId"], "size": size}
            )
            assert (modified["errorCode"], modified["errorMessage"]) == (
                3,
                "Order would exceed the maximum position size of 5 contracts.",
            )
        grown = await s.api("Order/modify", {"accountId": COMBINE, "orderId": resting["orderId"], "size": 5})
        assert grown["success"] is True
        (order,) = (await s.api("Order/searchOpen", {"accountId": COMBINE}))["orders"]
        assert order["size"] == 5
