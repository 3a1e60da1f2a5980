"""The aggregator's HTTP API and monitoring against the real stack (in-process bus): reads,
the kill switch with who and why, the key, OpenAPI, Prometheus metrics; and a fuzz of malformed
requests: never a 5xx, and a good request right after still works."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from support.agg_harness import AggHarness
from support.cm_harness import API_KEY
from tsxbot.messages import PositionUpdate


@pytest.fixture
def backend() -> str:
    return "memory"


@pytest.fixture
async def api(agg: AggHarness) -> AsyncIterator[httpx.AsyncClient]:
    aggregator = await agg.start()
    assert aggregator.api is not None
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{aggregator.api.port}", headers={"X-API-Key": API_KEY}, timeout=10
    ) as client:
        yield client


async def test_reads_describe_the_state_the_positions_and_the_orders(
    agg: AggHarness, api: httpx.AsyncClient
) -> None:
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="a1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    health = await httpx.AsyncClient().get(f"{api.base_url}/health")  # no key needed
    assert health.status_code == 200 and health.json()["status"] == "ok"
    status = (await api.get("/status")).json()
    assert status["tradingState"] == "ACTIVE" and status["why"] == {}
    assert status["limits"]["dailyLoss"]["limit"] == 1000.0
    assert status["queueDepth"] == 0
    positions = (await api.get("/positions")).json()
    assert [(p["botId"], p["symbol"], p["quantity"]) for p in positions["perBot"]] == [("bot_2", "MES", 1)]
    assert positions["net"][0]["quantity"] == 1
    orders = (await api.get("/orders", params={"botId": "bot_2"})).json()
    assert [o["orderId"] for o in orders["orders"]] == ["a1"]
    assert len(orders["working"]) == 2  # the bracket legs
    bots = {b["botId"]: b for b in (await api.get("/bots")).json()["bots"]}
    assert set(bots) == {"bot_1", "bot_2", "bot_3", "manual"}  # the manual page's orders
    spec = (await api.get("/openapi.json")).json()
    assert {"/status", "/halt", "/bots/{bot_id}/pause", "/risk/events"} <= set(spec["paths"])
    unauthorised = await httpx.AsyncClient().get(f"{api.base_url}/status")
    assert unauthorised.status_code == 401


async def test_the_kill_switch_from_the_api_records_who_and_why(
    agg: AggHarness, api: httpx.AsyncClient
) -> None:
    halted = await api.post("/halt", json={"requestedBy": "alice", "reason": "FOMC"})
    assert halted.status_code == 200 and halted.json()["tradingState"] == "HALTED"
    paused = await api.post("/bots/bot_3/pause", json={"requestedBy": "bob", "reason": "review"})
    assert paused.json()["result"] == "paused"
    assert (await api.post("/bots/nobody/pause")).status_code == 404
    resumed = await api.post("/resume", content=b"")  # no body: requested by "api"
    assert resumed.json()["tradingState"] == "ACTIVE"
    events = (await api.get("/risk/events")).json()["events"]
    mine = [
        (e["kind"], e["requestedBy"], e["message"])
        for e in events
        if e["kind"] in ("HALT", "PAUSE_BOT", "RESUME")
    ]
    assert mine == [
        ("RESUME", "api", "resume"),
        ("PAUSE_BOT", "bob", "bot_3: review"),
        ("HALT", "alice", "FOMC"),
    ]
    flat = await api.post("/flatten", json={"requestedBy": "carol", "reason": "end of day"})
    assert flat.json()["tradingState"] == "HALTED"


async def test_a_body_that_is_not_utf8_is_a_400_naming_the_byte_and_changes_nothing(
    agg: AggHarness, api: httpx.AsyncClient
) -> None:
    """Invalid UTF-8 in an unknown key of a kill-switch body: a 400 naming the byte (the shared body
    decoder), no state change and no event recorded (nothing for the journal)."""
    recorded = agg.agg.account.recorded
    json_type = {"Content-Type": "application/json"}
    for path in ("/halt", "/flatten", "/bots/bot_3/pause"):
        answer = await api.post(path, content=b'{"requestedBy":"mallory","\xff":1}', headers=json_type)
        assert answer.status_code == 400, (path, answer.text)
        assert "not UTF-8 (invalid start byte at byte 26)" in answer.json()["error"], answer.text
    status = (await api.get("/status")).json()
    assert status["tradingState"] == "ACTIVE" and status["why"] == {}
    assert agg.agg.account.recorded == recorded
    assert (await api.get("/risk/events")).json()["events"] == []


async def test_prometheus_metrics(agg: AggHarness, api: httpx.AsyncClient) -> None:
    await api.post("/halt", json={"requestedBy": "ops"})
    assert agg.agg.monitoring is not None
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{agg.agg.monitoring.port}/metrics")).text
    assert "# TYPE tsxbot_aggregator_trading_state gauge" in text
    assert "\ntsxbot_aggregator_trading_state 2\n" in text
    assert 'tsxbot_aggregator_events_total{kind="submissions"}' in text
    assert "tsxbot_aggregator_submission_seconds_count" in text


PATHS = [
    "/status",
    "/bots",
    "/positions",
    "/orders",
    "/risk/events",
    "/halt",
    "/resume",
    "/flatten",
    "/bots/bot_2/pause",
    "/bots/bot_2/resume",
    "/bots/%00/pause",
    "/bots/" + "x" * 3000 + "/pause",
    "/nope",
    "/orders?open=maybe&botId=%ff",
    "/risk/events?x=1",
    "/openapi.json",
    "//status",
    "/halt/",
]


def junk(rng: random.Random) -> bytes:
    choice = rng.randrange(9)
    if choice == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if choice == 1:
        return json.dumps(rng.choice([None, 1, "x", [], [1, 2], True, 1e308])).encode()
    if choice == 2:
        return json.dumps({"requestedBy": rng.choice([None, 5, "", "x" * 500, ["a"], {"a": 1}])}).encode()
    if choice == 3:
        return json.dumps({"reason": "r" * rng.choice([0, 10, 5000]), "unknown": 1}).encode()
    if choice == 4:
        return b'{"requestedBy": "\\ud800"}'
    if choice == 5:
        return b"{" * rng.randrange(1, 5000)
    if choice == 6:
        return b"x" * (70 * 1024)  # over the body limit
    if choice == 7:
        return json.dumps({"requestedBy": "fuzz", "reason": "\u0000\u202e" + "é" * 10}).encode()
    return b""


async def test_fuzz_malformed_requests_never_5xx_and_good_requests_still_work(
    agg: AggHarness, api: httpx.AsyncClient
) -> None:
    rng = random.Random(9)
    for i in range(300):
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
        path = rng.choice(PATHS)
        key: str | bytes = rng.choice([API_KEY, API_KEY, "wrong", "", b"\xe9\xe9\xff"])
        headers: dict[str, str | bytes] = {"X-API-Key": key}
        if rng.random() < 0.3:
            headers["Content-Type"] = rng.choice(["application/json", "text/plain", "multipart/form-data"])
        response = await api.request(method, path, content=junk(rng), headers=headers)  # type: ignore[arg-type]
        assert response.status_code < 500, (i, method, path, response.status_code, response.text[:200])
        good = await api.get("/status")
        assert good.status_code == 200 and "tradingState" in good.json()
    assert agg.agg.healthy


async def test_metrics_show_every_services_counters_from_the_bus(
    agg: AggHarness, api: httpx.AsyncClient
) -> None:
    # The connection manager publishes its counters on system:metrics (now and every 5 s); the
    # aggregator's /metrics serves the latest of each service, on either bus.
    assert agg.agg.monitoring is not None
    url = f"http://127.0.0.1:{agg.agg.monitoring.port}/metrics"
    wanted = 'tsxbot_service_value{component="connection-manager",name="counters.commands"}'
    text = ""
    async with httpx.AsyncClient() as client, asyncio.timeout(15):
        while wanted not in text:
            text = (await client.get(url)).text
            await asyncio.sleep(0.1)
    assert 'tsxbot_service_value{component="connection-manager",name="hubs.user.connects"}' in text
    assert 'tsxbot_service_metrics_age_seconds{component="connection-manager"}' in text
    assert "# TYPE tsxbot_service_value gauge" in text
