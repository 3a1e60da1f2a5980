"""Thousands of generated malformed requests against the running connection manager's HTTP API
(real HTTP, a real simulator behind it): bad JSON, wrong types, huge integers, floats, NaN,
deep nesting, invalid UTF-8, huge bodies, missing fields, wrong content types, bad keys. Never a
5xx, never a hang, /health stays up, no command is left "started" in the journal, every command
the manager executed was one the API answered 200 or 422 (none hidden behind a refusal), a body
that is not a command to a strict reader (not UTF-8 JSON, no commandId) is never executed, and a
good order placed right after still fills. Sent through ``support.plain_http`` (one keep-alive
connection, reopened when the server closes it; never a resend), which also sends what h11 would
not (a DEL in a header value: aiohttp's parser answers 400 and closes)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.bus_helpers import eventually
from support.cm_harness import API_KEY, Harness, place
from support.plain_http import IllegalHeader, PlainClient
from support.sim import PRACTICE
from tsxbot.connection_manager.service import ConnectionManager
from tsxbot.messages import Fill

EXAMPLES = 2500
COMMAND_TYPES = ["PLACE_ORDER", "MODIFY_ORDER", "CANCEL_ORDER", "CLOSE_POSITION", "UPDATE_SLTP"]

pytestmark = [
    pytest.mark.slow,
    # The server under test runs in the main thread while Hypothesis draws in another; the server's
    # own jitter (backoff, reconnects) uses the global random, which Hypothesis sees change.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def api(harness: Harness) -> tuple[ConnectionManager, str]:
    manager = await harness.start_manager()  # the harness stops it
    await harness.start_observer()
    return manager, f"http://127.0.0.1:{manager.api.port}"


# --- what a hostile client sends ---------------------------------------------------------------

huge_ints = st.sampled_from(
    [2**31, 2**32, 2**63 - 1, 2**63, 2**64, 2**64 + 1, -(2**63) - 1, 10**400, -(10**30)]
)
hostile_numbers = st.one_of(
    st.integers(),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e400, -1e400, 1e-400, 0.5, 1.0]),
)
scalars = st.one_of(st.none(), st.booleans(), hostile_numbers, st.text(max_size=40))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "commandId",
    "orderId",
    "botId",
    "customTag",
    "symbol",
    "side",
    "quantity",
    "orderType",
    "accountId",
    "contractId",
    "limitPrice",
    "stopPrice",
    "trailPrice",
    "stopLossTicks",
    "takeProfitTicks",
    "exchangeOrderId",
    "stopLoss",
    "takeProfit",
]


@st.composite
def command_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A command-shaped payload: mostly plausible fields, some replaced by hostile values. Orders
    that do go through trade the practice account, never the one the final good order uses."""
    base = msgspec.to_builtins(place(f"fz{draw(st.integers(0, 10**6))}", stop=None, target=None))
    base["accountId"] = PRACTICE
    base["quantity"] = draw(st.sampled_from([1, 1001, 0, -1, 2**63, 10**400, 1.5, "1"]))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.booleans()):
            base.pop(name, None)
        else:
            base[name] = draw(json_values)
    if base.get("accountId") not in (PRACTICE, None) and isinstance(base.get("accountId"), int):
        base["accountId"] = PRACTICE  # a real account id: only the practice one
    return base


def encode(value: Any) -> bytes:
    """JSON as a careless client writes it: NaN and Infinity literals, huge integers."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(
        st.sampled_from(["command", "command", "command", "json", "raw", "deep", "utf8", "truncated"])
    )
    if kind == "command":
        return encode(
            {
                "type": draw(st.sampled_from([*COMMAND_TYPES, "QUOTE", "", "x"])),
                "payload": draw(command_payloads()),
            }
        )
    if kind == "json":
        return encode(draw(json_values))
    if kind == "raw":
        return draw(st.binary(max_size=300))
    if kind == "deep":
        depth = draw(st.integers(100, 5000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = (opener * depth + "1" + closer * depth).encode()
        return b'{"type": "PLACE_ORDER", "payload": ' + inner + b"}" if draw(st.booleans()) else inner
    valid = encode({"type": "PLACE_ORDER", "payload": draw(command_payloads())})
    if kind == "utf8":
        at = draw(st.integers(0, len(valid)))
        return (
            valid[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
            + valid[at:]
        )
    return valid[: draw(st.integers(0, max(len(valid) - 1, 0)))]


ROUTES = [
    ("POST", "/command"),
    ("POST", "/command?service=fuzz"),
    ("POST", "/api/position/update-sltp"),
    ("POST", "/current-account/fuzz"),
    ("GET", "/api/fills"),
    ("GET", "/api/orders"),
    ("GET", "/api/positions"),
    ("GET", "/account/balance"),
    ("GET", "/current-account/fuzz"),
]
since_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["2026-11-24T15:30:00Z", "2026-11-24T15:30:00", "0", "9" * 40, "NaN"]),
)
keys = st.sampled_from([API_KEY, API_KEY, API_KEY, None, "wrong", "", API_KEY + "x", "ключ"])
content_types = st.sampled_from(
    [
        "application/json",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        None,
        "garbage/\x7f",
    ]
)


@dataclass
class Request:
    method: str
    path: str
    body: bytes
    key: str | None
    content_type: str | None
    since: str | None


@st.composite
def hostile_requests(draw: st.DrawFn) -> Request:
    method, path = draw(st.sampled_from(ROUTES))
    return Request(method, path, draw(bodies()), draw(keys), draw(content_types), draw(since_values))


@dataclass
class Tally:
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    # commandId -> the statuses it was answered with (to check the journal afterwards)
    command_ids: dict[str, set[int]] = field(default_factory=dict)
    executed: int = 0  # answers only an executed command gets (200, 422), /command and update-sltp
    slowest: float = 0.0


def command_id_of(body: bytes) -> str | None:
    """The body's commandId as a strict reader sees it (UTF-8 only: ``json.loads`` of bytes would
    let UTF-8-encoded surrogates through)."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    payload = value.get("payload") if isinstance(value, dict) else None
    command_id = payload.get("commandId") if isinstance(payload, dict) else None
    return command_id if isinstance(command_id, str) else None


def fuzz(base_url: str, tally: Tally) -> None:
    with PlainClient(base_url, timeout=10) as http:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(hostile_requests())
        def one(request: Request) -> None:
            headers: dict[str, bytes] = {}  # raw bytes: a key that is not ASCII goes as UTF-8
            if request.key is not None:
                headers["X-API-Key"] = request.key.encode()
            if request.content_type is not None:
                headers["Content-Type"] = request.content_type.encode()
            params = (
                {"since": request.since}
                if request.path == "/api/fills" and request.since is not None
                else None
            )
            started = time.monotonic()
            try:
                response = http.request(
                    request.method,
                    request.path,
                    content=request.body if request.method == "POST" else None,
                    headers=headers,
                    params=params,
                )
            except IllegalHeader:
                return  # HTTP cannot carry it (NUL, CR, LF in a header): nothing to test
            tally.slowest = max(tally.slowest, time.monotonic() - started)
            tally.sent += 1
            tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (request, response.status_code, response.text[:300])
            command_id = command_id_of(request.body) if request.path.startswith("/command") else None
            if command_id is not None:
                tally.command_ids.setdefault(command_id, set()).add(response.status_code)
            elif request.path.startswith("/command"):  # not JSON, or no commandId: never executed
                assert response.status_code not in (200, 422), (request, response.status_code)
            if request.method == "POST" and response.status_code in (200, 422):
                tally.executed += int(not request.path.startswith("/current-account/"))

        one()
        # A few bodies far over the size limit, and one that is only big.
        for size in (2_000_000, 5_000_000):
            big = b'{"type": "PLACE_ORDER", "payload": {"commandId": "' + b"x" * size + b'"}}'
            response = http.post("/command", content=big, headers={"X-API-Key": API_KEY})
            assert response.status_code == 413, response.status_code
        assert http.get("/health").status_code == 200


async def test_thousands_of_malformed_requests_never_get_a_5xx(
    harness: Harness, api: tuple[ConnectionManager, str]
) -> None:
    manager, base_url = api
    tally = Tally()
    started = time.monotonic()
    await asyncio.wait_for(asyncio.to_thread(fuzz, base_url, tally), timeout=120)
    elapsed = time.monotonic() - started
    assert tally.sent >= EXAMPLES * 0.9, tally.sent
    assert tally.statuses.get(400, 0) > EXAMPLES / 4, tally.statuses  # mostly refused as malformed
    assert tally.slowest < 10, tally.slowest  # never a hang
    print(f"fuzz: {tally.sent} requests in {elapsed:.1f} s, statuses {sorted(tally.statuses.items())}")
    # Every command that reached the executor (run, or answered from its cache) was one the API
    # answered as executed: none ran behind a refusal (e.g. a body that is not UTF-8).
    executor = manager.executor
    assert executor.executed + executor.repeats == tally.executed, (executor.executed, executor.repeats)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        assert (await http.get("/health")).status_code == 200
        # Every command the API refused as malformed left nothing in the journal; every one it
        # executed has its result there (none stays "started").
        journal = manager.executor.journal
        for command_id, statuses in tally.command_ids.items():
            claim = await journal.claim(command_id)
            if statuses <= {400, 401, 413, 415}:
                assert claim.new, (command_id, statuses)
            else:
                assert not claim.new and claim.result is not None, (command_id, statuses)
        # A good order right after fills.
        good = {
            "type": "PLACE_ORDER",
            "payload": msgspec.to_builtins(place("after-fuzz", stop=None, target=None)),
        }
        response = await http.post("/command", json=good, headers={"X-API-Key": API_KEY})
        assert response.status_code == 200, response.text
        order_id = response.json()["exchangeOrderId"]
    await eventually(
        lambda: any(f.exchange_order_id == order_id for f in harness.payloads(Fill)),
        within=10,
        what="the fill",
    )
