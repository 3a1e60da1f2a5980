"""What the API shows a person: positions with their bot, when the exchange last confirmed them
and whether they may be stale; working orders (stops and targets too) with their bot; fills
since a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from support.bus_helpers import eventually
from support.cm_harness import API_KEY, Harness, place
from support.sim import START
from tsxbot.connection_manager.service import ConnectionManager
from tsxbot.messages import Fill

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[tuple[ConnectionManager, httpx.AsyncClient]]:
    # No periodic reconciliation during the test: a retry is what must repair things.
    manager = await harness.start_manager(reconcile_interval=600)
    await harness.start_observer()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{manager.api.port}", timeout=10) as http:
        yield manager, http


async def get(http: httpx.AsyncClient, path: str) -> Any:
    response = await http.get(path, headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_manual_position_shows_its_bot_and_when_it_was_confirmed(
    api: tuple[ConnectionManager, httpx.AsyncClient], harness: Harness
) -> None:
    _, http = api
    payload = msgspec.to_builtins(place("m1", bot="manual", stop=None, target=None, quantity=2))
    assert payload["customTag"] == "manual-m1"
    response = await http.post("/command", json={"type": "PLACE_ORDER", "payload": payload}, headers=KEY)
    assert response.json()["ok"] is True, response.text

    async def held() -> list[dict[str, Any]]:
        return list((await get(http, "/api/positions"))["positions"])

    for _ in range(100):
        if (positions := await held()) and positions[0]["botId"]:
            break
        await harness.arrived.wait()
        harness.arrived.clear()
    (position,) = await held()
    assert (position["netQuantity"], position["botId"], position["stale"]) == (2, "manual", False)
    confirmed = dt.datetime.fromisoformat(position["lastConfirmed"])
    assert abs(confirmed - harness.sim.now()) < dt.timedelta(minutes=1)  # the exchange's time
    assert (await get(http, "/api/positions"))["stale"] is False


async def test_working_stops_and_targets_are_listed_with_their_bot_and_fills_since_a_time(
    api: tuple[ConnectionManager, httpx.AsyncClient], harness: Harness
) -> None:
    _, http = api
    bracketed = msgspec.to_builtins(place("b1", stop=12, target=24))
    placed = await http.post("/command", json={"type": "PLACE_ORDER", "payload": bracketed}, headers=KEY)
    entry_id = placed.json()["exchangeOrderId"]
    await eventually(
        lambda: any(f.exchange_order_id == entry_id for f in harness.payloads(Fill)), what="fill"
    )

    async def working() -> list[dict[str, Any]]:
        return list((await get(http, "/api/orders"))["orders"])

    for _ in range(100):
        if len(await working()) >= 2:
            break
        await harness.arrived.wait()
        harness.arrived.clear()
    legs = await working()
    assert sorted(o["orderType"] for o in legs) == ["LIMIT", "STOP"]
    assert {(o["botId"], o["side"], o["status"]) for o in legs} == {("bot_2", "SELL", "OPEN")}
    stop = next(o for o in legs if o["orderType"] == "STOP")
    assert stop["stopPrice"] is not None and stop["symbol"] == "MES"

    fills = (await get(http, f"/api/fills?since={START}"))["fills"]
    assert [(f["exchangeOrderId"], f["botId"], f["quantity"]) for f in fills] == [(entry_id, "bot_2", 1)]
    assert (await get(http, "/api/fills?since=2026-11-24T15:30:00%2B00:00"))["fills"] == fills
    # Whole from the first reconciliation's search (24 h of exchange time before it), and the
    # exchange's time now (the simulator's, pinned).
    answer = await get(http, f"/api/fills?since={START}")
    complete = dt.datetime.fromisoformat(answer["completeSince"])
    assert complete <= dt.datetime.fromisoformat(START.replace("Z", "+00:00")) - dt.timedelta(hours=23)
    now = dt.datetime.fromisoformat(answer["exchangeTime"])
    assert abs((now - harness.sim.now()).total_seconds()) < 5
    later = (harness.sim.now() + dt.timedelta(hours=1)).isoformat()
    assert (await http.get("/api/fills", params={"since": later}, headers=KEY)).json()["fills"] == []
    for bad in ("yesterday", "2026-11-24T15:30:00", "2026-13-40T99:00:00Z", "", "x" * 2000):
        response = await http.get("/api/fills", params={"since": bad}, headers=KEY)
        assert response.status_code == 400, (bad, response.text)
        assert "since" in response.json()["error"]
    assert (await http.get("/api/fills", headers=KEY)).status_code == 400


async def test_positions_are_marked_stale_while_reconciliation_fails_and_it_is_retried_soon(
    api: tuple[ConnectionManager, httpx.AsyncClient], harness: Harness
) -> None:
    """The position closes while the user hub's events are lost; the reconnect's reconciliation
    fails (the exchange answers 503). The position is shown stale, then the retry (not the
    period, ten minutes away) removes it."""
    manager, http = api
    sim = harness.sim
    await sim.login()
    assert (await manager.execute_command(place("s1", stop=None, target=None))).ok
    await eventually(lambda: manager.positions() and manager.positions()[0].last_confirmed, what="position")
    before = manager.positions()[0].last_confirmed
    await sim.admin("faults/events", {"hub": "user", "drop": 1.0})
    await sim.api("Position/closeContract", {"accountId": sim.account_id, "contractId": "CON.F.US.MES.Z26"})
    failures = 2 * (manager.settings.max_retries + 1)  # two reconciliations fail
    await sim.admin("faults/http", {"path": "/api/Position/searchOpen", "status": 503, "count": failures})
    reconciled = manager.counters.reconciliations
    await sim.admin("faults/hub/drop", {"hub": "user"})
    await eventually(lambda: manager.reconcile_failing, within=10, what="a failed reconciliation")
    await sim.admin("faults/events", {"hub": "user", "drop": 0.0})
    body = await get(http, "/api/positions")
    (stale,) = body["positions"]
    assert body["stale"] is True and stale["stale"] is True
    assert dt.datetime.fromisoformat(stale["lastConfirmed"]) == before
    started = dt.datetime.now(dt.UTC)
    await eventually(
        lambda: not manager.positions() and not manager.reconcile_failing,
        within=15,
        what="the retried reconciliation",
    )
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(seconds=15)
    assert manager.counters.reconciliations == reconciled + 1
    assert (await get(http, "/api/positions")) == {"positions": [], "stale": False}
