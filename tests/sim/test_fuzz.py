"""Fuzzing the simulator over real HTTP: thousands of generated malformed bodies (wrong types,
huge numbers, NaN and Infinity, deep nesting, invalid UTF-8, empty bodies, arrays instead of
objects, real property names with hostile values) against every REST endpoint and every admin
route. Never a 5xx, never a hang (each request has a timeout), and a good order placed right
after still works.

The simulator runs on its own event loop in a thread so that Hypothesis drives it with a plain
blocking client (``support.plain_http``: one keep-alive connection for the whole run); the
examples are derandomized (the same every run)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.plain_http import PlainClient, Reply
from support.sim import COMBINE, ES, MES, SimHandle, running_sim
from tsxbot.gateway import models
from tsxbot.sim.server import ROUTES
from tsxbot.sim.wire import requests

CHICAGO = ZoneInfo("America/Chicago")
LOGOUT = "/api/Auth/logout"
# Every REST route that takes a body (logout last: it ends the session, so each round logs in again).
REST_PATHS = [*sorted(r.path for r in ROUTES if r.method == "POST" and r.path != LOGOUT), LOGOUT]
ADMIN_PATHS = [
    "/admin/clock",
    "/admin/accounts/1001",
    "/admin/faults/hub/drop",
    "/admin/faults/hub/close",
    "/admin/faults/hub/stall",
    "/admin/faults/hub/refuse",
    "/admin/faults/hub/handshake",
    "/admin/faults/hub/completions",
    "/admin/faults/events",
    "/admin/faults/http",
    "/admin/faults/latency",
    "/admin/faults/ratelimit",
    "/admin/faults/tokens/expire",
    "/admin/faults/tokens/lifetime",
]


ADMIN_NAMES = (
    "action", "seconds", "time", "balance", "canTrade", "bracketMode", "hub", "connectionId", "kill",
    "error", "allowReconnect", "status", "delaySeconds", "drop", "duplicate", "reorder", "targets",
    "path", "count", "retryAfter", "afterProcessing", "ms", "jitterMs", "bucket", "requests", "inSeconds",
)  # fmt: skip


def _property_names() -> list[str]:
    """Every property name of every request body (and the admin API's), the real ones."""
    names: set[str] = set()
    kinds: list[Any] = [models.PlaceOrderRequest, models.ModifyOrderRequest, models.Bracket]
    kinds += [v for v in vars(requests).values() if isinstance(v, type) and issubclass(v, msgspec.Struct)]
    for kind in kinds:
        names.update(f.encode_name for f in msgspec.structs.fields(kind))
    names.update(ADMIN_NAMES)
    return sorted(names)


NAMES = _property_names()

# --- JSON text fragments: the hostile values -------------------------------------------------------

HOSTILE_NUMBERS = [
    "1e400",
    "-1e400",
    "1e300",
    "1e29",
    "-8e28",
    "1e-400",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "1" + "0" * 5000,
    "1.5",
    "-0",
    "1E2",
    "0.1",
    "NaN",
    "-Infinity",
    "Infinity",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "0x10",
]
SPECIAL_TEXT = [
    b'"NaN"',
    b'"Infinity"',
    b'"1e400"',
    b'"2147483648"',
    b'"-5"',
    b'"\xff\xfe"',
    b'"\xc3"',
    b'"\\ud800"',
    b'"\\u0000"',
    b'"a\\',
    b'""',
    b'"2026-11-24T15:30:00Z"',
    b'"9999-12-31T23:59:59-05:00"',
    b'"0001-01-01T00:00:00+01:00"',
    b'"user"',
    b'"*"',
    b'"advance"',
    b'"set"',
    b'"pause"',
    f'"{ES}"'.encode(),
    f'"{MES}"'.encode(),
    b'"/api/Order/place"',
    b"true",
    b"false",
    b"null",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


def _json(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()  # NaN and Infinity literals included


def _nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


fragments = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS).map(str.encode),
    st.sampled_from(SPECIAL_TEXT),
    st.integers(min_value=-5, max_value=5).map(lambda n: str(n).encode()),
    st.sampled_from([COMBINE, 1002, 0, -1, 10001, 10002]).map(lambda n: str(n).encode()),
    json_values.map(_json),
    st.integers(min_value=1, max_value=1500).map(_nested),
    st.integers(min_value=1, max_value=200).map(lambda n: b'{"ticks":' * n + b"1" + b"}" * n),
    st.binary(max_size=12),
)


@st.composite
def objects(draw: st.DrawFn) -> bytes:
    """An object with real property names (in any case) holding hostile values."""
    keys = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8))
    parts = []
    for key in keys:
        name = draw(st.sampled_from([key, key.upper(), key[:1].upper() + key[1:]]))
        parts.append(b'"' + name.encode() + b'":' + draw(fragments))
    return b"{" + b",".join(parts) + b"}"


# Well-typed values at the edges: these get past binding and into the exchange, the bars and
# the searches (real ids, Int32 extremes, prices the instruments cannot trade at).
EDGE_INTS = [COMBINE, 1002, 0, -1, 1, 2, 3, 4, 5, 6, 7, 8, 10001, 10002, 10003, 2**31 - 1, -(2**31)]
EDGE_PRICES = [-5.0, 0.0, 0.01, 0.25, 100.0, 6000.25, 7.9e28, -7.9e28, 1e-28, 12345.67]
EDGE_TEXT = [ES, MES, "CON.F.US.CLE.F27", "CON.F.US.EP.H20", "CON.F.US.EP", "", "ES", "tag", "demo"]
EDGE_TIMES = ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-11-24T15:30:00Z", "2026-11-20", "x"]
edge_values = st.one_of(
    st.sampled_from(EDGE_INTS),
    st.sampled_from(EDGE_PRICES),
    st.sampled_from(EDGE_TEXT + EDGE_TIMES),
    st.booleans(),
    st.builds(lambda t, k: {"ticks": t, "type": k}, st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS)),
    st.lists(st.sampled_from(EDGE_INTS), max_size=3),
    st.builds(lambda a, s: {"accountId": a, "statuses": s}, st.sampled_from(EDGE_INTS), st.none()),
)


@st.composite
def typed_objects(draw: st.DrawFn) -> bytes:
    keys = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=10, unique=True))
    return _json({key: draw(edge_values) for key in keys})


bodies = st.one_of(
    objects(),
    objects(),
    typed_objects(),
    typed_objects(),
    typed_objects(),
    st.sampled_from(
        [b"", b" ", b"\r\n\t", b"{}", b"[]", b"null", b"0", b'""', b"{", b"}", b"[", b"\xef\xbb\xbf{}"]
    ),
    json_values.map(_json),
    st.lists(json_values, max_size=5).map(_json),
    st.binary(max_size=64),
    st.integers(min_value=60, max_value=3000).map(lambda n: _nested(n, b"")),
    st.integers(min_value=60, max_value=3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    fragments,
)

# Bodies a fuzz run generates: each goes to every REST endpoint (20,000 requests and more), or to
# every admin route; tokens, half as many.
EXAMPLES = int(os.environ.get("SIM_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# --- the simulator on its own thread -----------------------------------------------------------------


@contextlib.contextmanager
def threaded_sim(*overrides: str) -> Iterator[tuple[SimHandle, PlainClient]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzzed-simulator", daemon=True)
    thread.start()
    running = running_sim("simulator.rateLimits.enabled=false", *overrides)
    try:
        handle = asyncio.run_coroutine_threadsafe(running.__aenter__(), loop).result(60)
        try:
            with PlainClient(handle.base_url, timeout=15.0) as client:
                yield handle, client
        finally:
            asyncio.run_coroutine_threadsafe(running.__aexit__(None, None, None), loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _login(client: PlainClient) -> dict[str, str]:
    answer = client.post("/api/Auth/loginKey", json={"userName": "demo", "apiKey": "demo"}).json()
    return {"Authorization": f"Bearer {answer['token']}", "Content-Type": "application/json"}


def _check(response: Reply, body: bytes) -> None:
    assert response.status_code < 500, (response.path, body[:300], response.text[:500])
    if response.status_code == 400 and response.path.startswith("/api/"):
        problem = response.json()
        assert problem["status"] == 400 and isinstance(problem["errors"], dict) and problem["errors"]
        assert all(isinstance(m, str) and m for ms in problem["errors"].values() for m in ms), problem


def _good_order_fills(client: PlainClient, headers: dict[str, str]) -> None:
    """Flattens what fuzzing may have opened, then a market order is accepted and fills."""
    account = {"canTrade": True, "bracketMode": "autoOco", "balance": 50_000}
    client.post("/admin/accounts/1001", json=account).raise_for_status()
    for contract in (ES, MES):
        client.post(
            "/api/Position/closeContract",
            json={"accountId": COMBINE, "contractId": contract},
            headers=headers,
        )
    for order in client.post("/api/Order/searchOpen", json={"accountId": COMBINE}, headers=headers).json()[
        "orders"
    ]:
        client.post("/api/Order/cancel", json={"accountId": COMBINE, "orderId": order["id"]}, headers=headers)
    placed = client.post(
        "/api/Order/place",
        json={"accountId": COMBINE, "contractId": MES, "type": 2, "side": 0, "size": 1},
        headers=headers,
    ).json()
    assert placed["success"] is True, placed
    found = client.post(
        "/api/Order/searchById", json={"accountId": COMBINE, "orderId": placed["orderId"]}, headers=headers
    ).json()
    assert found["order"]["status"] == 2, found  # filled


# --- the tests ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_rest_body_gets_a_5xx_and_a_good_order_still_works() -> None:
    """Each generated body goes to every REST endpoint (1,000 bodies x 20 routes)."""
    with threaded_sim() as (_, client):
        headers = _login(client)
        seen = {"bodies": 0, "400": 0, "200": 0}

        @FUZZ
        @given(bodies)
        def fuzz(body: bytes) -> None:
            seen["bodies"] += 1
            for path in REST_PATHS:
                response = client.post(path, content=body, headers=headers)
                _check(response, body)
                seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1
            headers.update(_login(client))

        fuzz()
        examples = EXAMPLES
        assert seen["bodies"] >= examples * 3 // 4, seen
        assert seen["400"] > seen["bodies"] * 5 and seen["200"] > seen["bodies"], seen
        assert client.get("/api/Status/ping").text == "pong"
        _good_order_fills(client, headers)


@pytest.mark.slow
def test_no_admin_body_gets_a_5xx_and_a_good_order_still_works() -> None:
    """Each generated body goes to every admin route (1,000 x 14); faults are cleared after each."""
    with threaded_sim("simulator.paused=true") as (_, client):
        seen = {"bodies": 0, "400": 0, "200": 0}
        examples = EXAMPLES

        @FUZZ
        @given(bodies)
        def fuzz(body: bytes) -> None:
            seen["bodies"] += 1
            try:
                for path in ADMIN_PATHS:  # faults act on /api and the hubs, not on these routes
                    response = client.post(path, content=body)
                    _check(response, body)
                    seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1
                    if response.status_code == 400:
                        answer = response.json()
                        assert answer["ok"] is False and isinstance(answer["error"], str) and answer["error"]
            finally:
                client.delete("/admin/faults").raise_for_status()

        fuzz()
        assert seen["bodies"] >= examples * 3 // 4, seen
        assert seen["400"] > seen["bodies"] * 5 and seen["200"] > seen["bodies"], seen
        state = client.get("/admin/state")
        assert state.status_code == 200 and state.json()["ok"] is True
        for bucket in ("all", "history"):
            limit = {"bucket": bucket, "requests": 10_000, "seconds": 1}
            client.post("/admin/faults/ratelimit", json=limit).raise_for_status()
        # Fuzzing may have moved the clock (small steps): if it left the market closed, on to the
        # next Tuesday 09:30 CT (a week of market data to play when it did not move at all).
        now = dt.datetime.fromisoformat(state.json()["clock"]["now"].replace("Z", "+00:00"))
        local = now.astimezone(CHICAGO)
        if local.weekday() >= 5 or not dt.time(8, 30) <= local.time() < dt.time(15):
            tuesday = now.replace(hour=15, minute=30, second=0, microsecond=0)
            tuesday += dt.timedelta(days=(1 - tuesday.weekday()) % 7)
            if tuesday <= now:
                tuesday += dt.timedelta(days=7)
            move = {"action": "set", "time": tuesday.isoformat()}
            moved = client.post("/admin/clock", json=move, timeout=60)
            assert moved.status_code == 200, moved.text
        _good_order_fills(client, _login(client))


def _header_safe(raw: bytes) -> bytes:
    """What HTTP allows in a header value (no controls, no spaces): h11 refuses the rest."""
    return bytes(b for b in raw if b >= 0x21 and b != 0x7F)


tokens = st.one_of(
    st.binary(max_size=80).map(_header_safe),
    st.text(max_size=40).map(lambda t: _header_safe(t.encode())),
    st.lists(st.binary(max_size=20).map(_header_safe), min_size=3, max_size=3).map(b".".join),
    st.sampled_from([b"a.b.\xc3\xbc", b"\xfc.\xfc.\xfc", b"e30.e30.", b"..", b"a.b.c.d", b"\xff" * 40]),
)


@pytest.mark.slow
def test_no_token_gets_a_5xx_and_a_good_order_still_works() -> None:
    """Generated bearer tokens (bytes, non-ASCII, JWT-shaped) in the header and the query."""
    with threaded_sim() as (_, client):

        @settings(FUZZ, max_examples=EXAMPLES // 2)
        @given(tokens)
        def fuzz(token: bytes) -> None:
            bearer = {
                "Authorization": b"Bearer " + token if token else b"Bearer",
                "Content-Type": b"application/json",
            }
            for path in (
                "/api/Account/search",
                "/api/Auth/validate",
                "/hubs/user/negotiate",
                "/hubs/market/negotiate",
            ):
                response = client.post(path, content=b"{}", headers=bearer)
                _check(response, token)
                assert response.status_code == 401, (path, token, response.status_code)
            query = {"access_token": token.decode("utf-8", "replace")}
            for response in (
                client.post("/hubs/user/negotiate", params=query),
                client.get("/hubs/market", params={**query, "id": token.decode("latin-1")}),
            ):
                _check(response, token)

        fuzz()
        _good_order_fills(client, _login(client))
