"""The connection manager's HTTP API, as a client sees it: the key is required everywhere but
/health, the spec's endpoints answer, the WebSocket streams events, OpenAPI describes it all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
import msgspec
import pytest

from support.bus_helpers import eventually
from support.cm_harness import API_KEY, Harness, place
from tsxbot.connection_manager.api import openapi_document
from tsxbot.connection_manager.service import ConnectionManager
from tsxbot.messages import Fill, decode

PROTECTED = [
    "/status",
    "/current-account/aggregator",
    "/account/balance",
    "/api/positions",
    "/api/orders",
    "/api/fills?since=2026-11-24T15:30:00Z",
    "/openapi.json",
]


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[tuple[ConnectionManager, httpx.AsyncClient]]:
    manager = await harness.start_manager()
    await harness.start_observer()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{manager.api.port}", timeout=10) as http:
        yield manager, http


KEY = {"X-API-Key": API_KEY}


async def test_health_needs_no_key(api: tuple[ConnectionManager, httpx.AsyncClient]) -> None:
    _, http = api
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "connection-manager", "ready": True}


@pytest.mark.parametrize("path", PROTECTED)
async def test_everything_else_needs_the_key(
    api: tuple[ConnectionManager, httpx.AsyncClient], path: str
) -> None:
    _, http = api
    assert (await http.get(path)).status_code == 401
    assert (await http.get(path, headers={"X-API-Key": "wrong"})).status_code == 401
    assert (await http.get(path, headers={"X-API-Key": API_KEY[:-1]})).status_code == 401
    ok = await http.get(path, headers=KEY)
    assert ok.status_code == 200, ok.text
    assert (await http.post("/command", json={})).status_code == 401


async def test_status_accounts_and_balance(api: tuple[ConnectionManager, httpx.AsyncClient]) -> None:
    manager, http = api
    status = (await http.get("/status", headers=KEY)).json()
    assert status["healthy"] is True
    assert status["hubs"]["user"]["state"] == "CONNECTED"
    assert status["hubs"]["market"]["state"] == "CONNECTED"
    assert status["defaultAccountId"] == manager.accounts.default_id
    bus = status["bus"]
    assert bus["backend"] == "memory"
    assert {"publishBufferDepth", "publishDropped", "publishFullErrors", "reconnects"} <= set(bus)
    assert "connection-manager" in [s["name"] for s in bus["subscriptions"]]
    account = (await http.get("/current-account/aggregator", headers=KEY)).json()
    assert account["accountId"] == manager.accounts.default_id
    assert account["service"] == "aggregator"
    other = next(a.id for a in manager.accounts.accounts if a.id != account["accountId"])
    switched = await http.post("/current-account/bot_3", json={"accountId": other}, headers=KEY)
    assert switched.status_code == 200
    assert (await http.get("/current-account/bot_3", headers=KEY)).json()["accountId"] == other
    assert (await http.get("/current-account/aggregator", headers=KEY)).json()["accountId"] != other
    # A command from bot_3 without an account now goes to bot_3's account.
    command = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(place("svc", stop=None, target=None))}
    placed = await http.post("/command?service=bot_3", json=command, headers=KEY)
    assert placed.json()["ok"] is True
    for _ in range(100):
        if await manager.rest.search_open_positions(other):
            break
        await asyncio.sleep(0.05)
    assert [p.size for p in await manager.rest.search_open_positions(other)] == [1]
    assert await manager.rest.search_open_positions(account["accountId"]) == []
    # The SL/TP endpoint follows the service's account as /command does.
    sltp = await http.post(
        "/api/position/update-sltp?service=bot_3", json={"symbol": "MES", "stopLoss": 1000.0}, headers=KEY
    )
    assert sltp.status_code == 200, sltp.text
    missing = await http.post("/current-account/bot_3", json={"accountId": 99}, headers=KEY)
    assert missing.status_code == 404
    assert "unknown account 99" in missing.json()["error"]
    balance = (await http.get("/account/balance", headers=KEY)).json()
    assert balance["balance"] > 0
    assert balance["canTrade"] is True


async def test_command_positions_and_sltp(api: tuple[ConnectionManager, httpx.AsyncClient]) -> None:
    _, http = api
    command = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(place("api1", quantity=2))}
    response = await http.post("/command", json=command, headers=KEY)
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True

    async def position() -> list[dict[str, object]]:
        return list((await http.get("/api/positions", headers=KEY)).json()["positions"])

    for _ in range(100):
        if await position():
            break
        await asyncio.sleep(0.05)
    (held,) = await position()
    assert (held["symbol"], held["netQuantity"]) == ("MES", 2)
    entry = float(held["averagePrice"])  # type: ignore[arg-type]
    moved = await http.post(
        "/api/position/update-sltp",
        json={"symbol": "MES", "stopLoss": entry - 10, "takeProfit": entry + 20},
        headers=KEY,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["ok"] is True
    close = {"type": "CLOSE_POSITION", "payload": {"commandId": "api-close", "symbol": "MES"}}
    assert (await http.post("/command", json=close, headers=KEY)).json()["ok"] is True
    for _ in range(100):
        if not await position():
            break
        await asyncio.sleep(0.05)
    assert await position() == []


async def test_bad_requests_are_named(api: tuple[ConnectionManager, httpx.AsyncClient]) -> None:
    _, http = api
    not_json = await http.post("/command", content=b"{nope", headers=KEY)
    assert not_json.status_code == 400
    assert "invalid request body" in not_json.json()["error"]
    not_command = await http.post("/command", json={"type": "QUOTE", "payload": {}}, headers=KEY)
    assert not_command.status_code == 400
    assert "QUOTE is not a command" in not_command.json()["error"]
    bad_payload = await http.post(
        "/command", json={"type": "PLACE_ORDER", "payload": {"commandId": "x"}}, headers=KEY
    )
    assert bad_payload.status_code == 400
    assert "invalid PLACE_ORDER payload" in bad_payload.json()["error"]
    refused = await http.post(
        "/command",
        json={"type": "CLOSE_POSITION", "payload": {"commandId": "c", "symbol": "MES"}},
        headers=KEY,
    )
    assert refused.status_code == 422
    assert "no open position" in refused.json()["message"]
    nothing = await http.post("/api/position/update-sltp", json={"symbol": "MES"}, headers=KEY)
    assert nothing.status_code == 400


async def test_websocket_streams_published_events(api: tuple[ConnectionManager, httpx.AsyncClient]) -> None:
    manager, http = api
    url = f"http://127.0.0.1:{manager.api.port}/ws"
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"X-API-Key": "wrong"}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                async with session.ws_connect(url, headers=headers):
                    pass
            assert info.value.status == 401
        async with session.ws_connect(url, headers=KEY) as ws:
            command = {
                "type": "PLACE_ORDER",
                "payload": msgspec.to_builtins(place("ws1", stop=None, target=None)),
            }
            assert (await http.post("/command", json=command, headers=KEY)).json()["ok"] is True
            kinds: set[str] = set()
            async with asyncio.timeout(10):
                while "FILL" not in kinds:
                    message = await ws.receive()
                    envelope = decode(message.data)
                    kinds.add(envelope.type.value)
                    if isinstance(envelope.payload, Fill):
                        assert envelope.payload.custom_tag == "bot_2-ws1"
            assert {"COMMAND_RESULT", "ORDER_UPDATE", "FILL"} <= kinds
        async with session.ws_connect(f"{url}?apiKey={API_KEY}") as by_query:
            assert not by_query.closed


async def test_openapi_describes_every_endpoint(api: tuple[ConnectionManager, httpx.AsyncClient]) -> None:
    _, http = api
    document = (await http.get("/openapi.json", headers=KEY)).json()
    assert document == msgspec.json.decode(msgspec.json.encode(openapi_document()))
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/health",
        "/status",
        "/current-account/{service}",
        "/account/balance",
        "/command",
        "/api/positions",
        "/api/orders",
        "/api/fills",
        "/api/position/update-sltp",
        "/ws",
    }
    schemas = document["components"]["schemas"]
    assert {"PlaceOrder", "CommandResult", "PositionUpdate", "OrderUpdate", "Fill"} <= set(schemas)
    assert {"lastConfirmed", "stale", "botId"} <= set(schemas["PositionUpdate"]["properties"])
    assert document["paths"]["/api/fills"]["get"]["parameters"][0]["name"] == "since"
    health = document["paths"]["/health"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert {"ready", "reason"} <= set(health["properties"])
    place_schema = document["components"]["schemas"]["PlaceOrder"]
    assert "customTag" in place_schema["required"]


async def test_fills_reach_the_bus_too(
    harness: Harness, api: tuple[ConnectionManager, httpx.AsyncClient]
) -> None:
    _, http = api
    command = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(place("bus1", stop=None, target=None))}
    assert (await http.post("/command", json=command, headers=KEY)).json()["ok"] is True
    await eventually(lambda: len(harness.payloads(Fill)) == 1, what="fill on the bus")


async def test_a_key_that_is_not_utf8_is_refused_not_a_server_error(
    api: tuple[ConnectionManager, httpx.AsyncClient],
) -> None:
    _, http = api
    response = await http.get("/status", headers={"X-API-Key": b"\xff\xfe-not-utf8"})
    assert response.status_code == 401


async def test_no_new_commands_once_the_manager_stops_or_fails(
    api: tuple[ConnectionManager, httpx.AsyncClient],
) -> None:
    manager, http = api
    manager.fail(RuntimeError("background work died (test)"))
    body = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(place("refused"))}
    response = await http.post("/command", json=body, headers=KEY)
    assert response.status_code == 503
    assert "no new commands" in response.json()["error"]
    sltp = await http.post("/api/position/update-sltp", json={"symbol": "MES", "stopLoss": 1.0}, headers=KEY)
    assert sltp.status_code == 503
    assert manager.executor.executed == 0
