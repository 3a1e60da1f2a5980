"""The admin API's fault injection, as the gateway's tests will use it: forced HTTP statuses,
latency, refused reconnects, dropped, killed, closed and stalled hub connections, delayed or
missing completions, bad handshakes, duplicated/dropped events, token expiry and lifetimes,
and the clock controls."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time

import aiohttp
import pytest

from support.signalr import RawHub
from support.sim import COMBINE, ES, running_sim, sim_config
from tsxbot.config import ConfigError


async def test_forced_statuses_hit_the_named_endpoint_the_given_number_of_times() -> None:
    async with running_sim() as s:
        await s.admin("faults/http", {"path": "/api/Order/place", "status": 503, "count": 2, "retryAfter": 3})
        body = {"accountId": COMBINE, "contractId": ES, "type": 2, "side": 0, "size": 1}
        statuses = []
        for _ in range(3):
            response = await s.http.post("/api/Order/place", json=body, headers=s.headers)
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["Retry-After"] == "3"
        assert statuses == [503, 503, 200]
        ok = await s.http.post("/api/Account/search", json={"onlyActiveAccounts": True}, headers=s.headers)
        assert ok.status_code == 200  # other endpoints unaffected
        await s.admin("faults/http", {"path": "*", "status": 429, "seconds": 0.5})
        assert (await s.http.post("/api/Account/search", json={}, headers=s.headers)).status_code == 429
        await asyncio.sleep(0.6)
        assert (
            await s.http.post("/api/Account/search", json={"onlyActiveAccounts": True}, headers=s.headers)
        ).status_code == 200


async def test_latency_delays_answers() -> None:
    async with running_sim() as s:
        await s.admin("faults/latency", {"ms": 250, "path": "/api/Account/search"})
        began = time.perf_counter()
        await s.api("Account/search", {"onlyActiveAccounts": True})
        assert time.perf_counter() - began >= 0.25
        began = time.perf_counter()
        await s.api("Contract/available", {"live": False})
        assert time.perf_counter() - began < 0.25
        response = await s.http.request("DELETE", "/admin/faults")
        assert response.json() == {"ok": True}


async def test_refused_reconnects_then_recovery() -> None:
    async with running_sim() as s:
        await s.admin("faults/hub/refuse", {"hub": "market", "seconds": 0.6, "status": 503})
        response = await s.http.post("/hubs/market/negotiate?negotiateVersion=1", headers=s.headers)
        assert response.status_code == 503
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await RawHub.open(s.hub_url("market"))
        assert refused.value.status == 503
        user = await s.http.post("/hubs/user/negotiate", headers=s.headers)
        assert user.status_code == 200  # only the market hub refuses
        await asyncio.sleep(0.7)
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
        finally:
            await hub.close()


async def test_drop_kill_close_and_stall() -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("market"))
        assert await hub.next() == {}
        await s.admin("faults/hub/close", {"hub": "market", "error": "maintenance", "allowReconnect": True})
        assert await hub.next_where(lambda r: r.get("type") == 7) == {
            "type": 7,
            "error": "maintenance",
            "allowReconnect": True,
        }
        await hub.close()

        hub = await RawHub.open(s.hub_url("market"))
        assert await hub.next() == {}
        await s.admin("faults/hub/drop", {"hub": "*"})
        with pytest.raises(ConnectionResetError):
            await hub.next_where(lambda r: r.get("type") == 7, within=3)  # no Close message, just gone
        await hub.close()

        hub = await RawHub.open(s.hub_url("market"))
        assert await hub.next() == {}
        await s.admin("faults/hub/drop", {"hub": "market", "kill": True})
        with pytest.raises((ConnectionResetError, aiohttp.ClientError, TimeoutError)):
            await hub.next(within=3)
        await hub.close()

        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeContractQuotes", ES, invocation_id="s")
            await hub.completion("s")
            await hub.next_where(lambda r: r.get("target") == "GatewayQuote")
            conn = (await s.state())["connections"]["market"][0]["connectionId"]
            await s.admin("faults/hub/stall", {"hub": "market", "connectionId": conn, "seconds": 1.0})
            hub.pending.clear()
            began = time.monotonic()
            first = await hub.next_where(lambda r: r.get("target") == "GatewayQuote", within=5)
            assert time.monotonic() - began >= 0.8 and first["arguments"][0] == ES
            assert len(hub.pending) >= 1  # what queued during the stall arrives together
        finally:
            await hub.close()


async def test_completions_can_be_delayed_or_withheld_and_handshakes_refused() -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await s.admin("faults/hub/completions", {"hub": "user", "delaySeconds": 0.5})
            began = time.monotonic()
            await hub.invoke("SubscribeAccounts", invocation_id="late")
            await hub.completion("late")
            assert time.monotonic() - began >= 0.45
            await s.admin("faults/hub/completions", {"hub": "user", "drop": True})
            await hub.invoke("SubscribeAccounts", invocation_id="never")
            with pytest.raises(TimeoutError):
                await hub.completion("never", within=1.0)
        finally:
            await hub.close()
        await s.admin("faults/hub/handshake", {"hub": "market", "error": "Handshake was canceled."})
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {"error": "Handshake was canceled."}
        finally:
            await hub.close()


async def test_events_can_be_duplicated_or_dropped() -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeOrders", COMBINE, invocation_id="o")
            await hub.invoke("SubscribeTrades", COMBINE, invocation_id="t")
            await hub.completion("o")
            await hub.completion("t")
            await s.admin("faults/events", {"hub": "user", "duplicate": 1.0, "targets": ["GatewayUserOrder"]})
            await s.place()
            first = await hub.next_where(lambda r: r.get("target") == "GatewayUserOrder")
            second = await hub.next_where(lambda r: r.get("target") == "GatewayUserOrder")
            assert first == second
            await s.admin("faults/events", {"hub": "user", "drop": 1.0, "targets": ["GatewayUserTrade"]})
            hub.pending.clear()
            await s.place(side=1)
            await hub.next_where(lambda r: r.get("target") == "GatewayUserOrder")
            await asyncio.sleep(0.3)
            assert not [r for r in hub.pending if r.get("target") == "GatewayUserTrade"]
            state = await s.state()
            assert state["faults"]["events"]["drop"] == 1.0
        finally:
            await hub.close()


async def test_token_lifetime_can_be_shortened() -> None:
    async with running_sim() as s:
        await s.admin("faults/tokens/lifetime", {"seconds": 0.5})
        await s.login()
        await s.api("Account/search", {"onlyActiveAccounts": True})
        await asyncio.sleep(0.6)
        response = await s.http.post(
            "/api/Account/search", json={"onlyActiveAccounts": True}, headers=s.headers
        )
        assert response.status_code == 401


async def test_the_clock_pauses_advances_and_resumes() -> None:
    async with running_sim("simulator.paused=true") as s:
        state = await s.state()
        assert state["clock"] == {"now": "2026-11-24T15:30:00.000Z", "speed": 1.0, "paused": True}
        moved = await s.admin("clock", {"action": "advance", "seconds": 90})
        assert moved["now"] == "2026-11-24T15:31:30.000Z"
        moved = await s.admin("clock", {"action": "set", "time": "2026-11-24T16:00:00Z"})
        assert moved["now"] == "2026-11-24T16:00:00.000Z"
        await s.admin("clock", {"action": "resume"})
        await asyncio.sleep(0.2)
        assert (await s.state())["clock"]["now"] > "2026-11-24T16:00:00.1"
        bad = await s.http.post("/admin/clock", json={"action": "rewind"})
        assert bad.status_code == 400 and bad.json()["ok"] is False
    async with running_sim("simulator.admin=false") as s:
        assert (await s.http.get("/admin/state")).status_code == 404


CONFIGURED_FAULTS = [
    'simulator.faults.http=[{"path": "/api/Order/place", "status": 503, "count": 2, "retryAfter": 3}]',
    'simulator.faults.latency={"ms": 300, "path": "/api/Contract/available"}',
    'simulator.faults.hubRefuse=[{"hub": "market", "seconds": 1.0, "status": 502}]',
    'simulator.faults.events={"hub": "user", "duplicate": 1.0, "targets": ["GatewayUserOrder"]}',
    'simulator.faults.hubCompletions=[{"hub": "user", "delaySeconds": 0.4}]',
    'simulator.faults.tokenLifetime={"seconds": 60}',
]


async def test_faults_declared_in_the_config_are_in_force_from_the_start() -> None:
    """The same bodies as the admin API, in ``simulator.faults``."""
    async with running_sim(*CONFIGURED_FAULTS) as s:
        started = time.monotonic()
        response = await s.http.post("/hubs/market/negotiate?negotiateVersion=1", headers=s.headers)
        assert response.status_code == 502
        assert (await s.http.post("/hubs/user/negotiate", headers=s.headers)).status_code == 200
        body = {"accountId": COMBINE, "contractId": ES, "type": 2, "side": 0, "size": 1}
        statuses = []
        for _ in range(3):
            response = await s.http.post("/api/Order/place", json=body, headers=s.headers)
            statuses.append(response.status_code)
        assert statuses == [503, 503, 200] and response.json()["success"]
        began = time.monotonic()
        await s.api("Contract/available", {"live": False})
        assert time.monotonic() - began >= 0.3
        state = await s.state()
        assert state["faults"]["latency"] == {"ms": 300.0, "jitterMs": 0.0, "path": "/api/Contract/available"}
        claims = s.token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        assert payload["exp"] - payload["iat"] == 60

        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            began = time.monotonic()
            await hub.invoke("SubscribeOrders", COMBINE, invocation_id="o")
            await hub.completion("o")
            assert time.monotonic() - began >= 0.35
            await s.place()
            first = await hub.next_where(lambda r: r.get("target") == "GatewayUserOrder")
            assert await hub.next_where(lambda r: r.get("target") == "GatewayUserOrder") == first
        finally:
            await hub.close()
        await asyncio.sleep(max(0.0, started + 1.05 - time.monotonic()))
        hub = await RawHub.open(s.hub_url("market"))  # the refusal was for the first second
        try:
            assert await hub.next() == {}
        finally:
            await hub.close()
        await s.clear_faults()
        assert (await s.state())["faults"]["events"] is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            'simulator.faults.http=[{"path": "/api/Order/place", "status": 503, "cout": 2}]',
            r"simulator\.faults\.http\[0\]: unknown key 'cout' \(expected one of: path, status, count",
        ),
        (
            'simulator.faults.http=[{"path": "/api/Order/place", "status": 200}]',
            r"simulator\.faults\.http\[0\]: status must be an HTTP error status \(400-599\), got 200",
        ),
        ('simulator.faults.http=[{"path": "Order/place", "status": 503}]', r"http\[0\]: path must be"),
        ('simulator.faults.events={"drop": 1.5}', r"simulator\.faults\.events: drop must be <= 1, got 1\.5"),
        ('simulator.faults.hubRefuse=[{"hub": "mkt", "seconds": 3}]', r"hubRefuse\[0\]: unknown hub 'mkt'"),
        ('simulator.faults.hubRefuse=[{"hub": "market"}]', r"hubRefuse\[0\]: seconds is required"),
        ('simulator.faults.latency={"ms": "slow"}', r"faults\.latency: ms must be a number, got 'slow'"),
        ('simulator.faults.hubCompletions=[{"hub": "user", "drop": 1}]', r"drop must be true or false"),
        ('simulator.faults.tokenLifetime={"seconds": 0}', r"faults\.tokenLifetime: seconds must be > 0"),
        ("simulator.faults.http=[503]", r"simulator\.faults\.http: expected `object`"),
    ],
)
def test_bad_faults_in_the_config_are_reported_at_load(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        sim_config(override)
    assert any(re.search(message, str(p)) for p in info.value.problems), info.value.problems


async def test_the_admin_api_checks_a_fault_as_the_config_does() -> None:
    async with running_sim() as s:
        for path, body in (
            ("faults/http", {"path": "/api/Order/place", "status": 503, "cout": 2}),
            ("faults/events", {"drop": 1.5}),
            ("faults/hub/refuse", {"hub": "mkt", "seconds": 3}),
        ):
            response = await s.http.post(f"/admin/{path}", json=body)
            assert response.status_code == 400 and response.json()["ok"] is False, (path, response.text)
        assert (await s.state())["faults"]["http"] == []
