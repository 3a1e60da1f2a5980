"""The hub client against the real simulator's SignalR hubs: subscriptions survive every kind of
drop the simulator can inject, and the token is renewed when the hub refuses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from support.bus_helpers import eventually
from support.sim import SimHandle
from tsxbot.config.global_config import GatewaySettings
from tsxbot.gateway.hub import HubConnection
from tsxbot.gateway.rest import ProjectXRest

SETTINGS = GatewaySettings(
    reconnect_delays_seconds=[0.05, 0.2, 0.3],
    stale_feed_seconds=1.0,
    hub_keepalive_seconds=1.0,
    retry_base_seconds=0.05,
)
MARKET = ["GatewayQuote", "GatewayTrade", "GatewayDepth"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, list[Any]]] = []

    async def __call__(self, target: str, arguments: list[Any]) -> None:
        self.events.append((target, arguments))

    def count(self, target: str) -> int:
        return sum(1 for t, _ in self.events if t == target)


@pytest.fixture
async def rest(sim: SimHandle) -> AsyncIterator[ProjectXRest]:
    async with ProjectXRest(sim.base_url, sim.username, sim.api_key, SETTINGS, clock=sim.now) as client:
        await client.login()
        yield client


async def market_hub(sim: SimHandle, rest: ProjectXRest, recorder: Recorder, **kwargs: Any) -> HubConnection:
    contract = next(c.id for c in await rest.available_contracts() if c.symbol_id == "F.US.MES")
    hub = HubConnection(
        "market",
        f"{sim.base_url}/hubs/market",
        rest.session_token,
        rest.renew_token,
        MARKET,
        recorder,
        rest.settings,  # the hub and the REST client share one set of settings, as in the service
        **kwargs,
    )
    await hub.subscribe("SubscribeContractQuotes", contract)
    await hub.subscribe("SubscribeContractTrades", contract)
    await hub.start()
    return hub


async def subscribe_calls(sim: SimHandle) -> int:
    return int((await sim.state())["counters"]["marketSubscribeCalls"])


async def test_subscribes_and_receives(sim: SimHandle, rest: ProjectXRest) -> None:
    recorder = Recorder()
    hub = await market_hub(sim, rest, recorder)
    try:
        await eventually(lambda: recorder.count("GatewayQuote") >= 2, what="quotes")
        target, arguments = next(e for e in recorder.events if e[0] == "GatewayQuote")
        assert target == "GatewayQuote"
        assert arguments[0].startswith("CON.F.US.MES.")
        assert {"bestBid", "bestAsk", "lastPrice", "symbol"} <= set(arguments[1])
        assert await subscribe_calls(sim) == 2
    finally:
        await hub.stop()


@pytest.mark.parametrize(
    "fault",
    [
        ("faults/hub/drop", {"hub": "market"}),
        ("faults/hub/drop", {"hub": "market", "kill": True}),
        ("faults/hub/close", {"hub": "market", "error": "Server restarting", "allowReconnect": True}),
        ("faults/hub/close", {"hub": "market"}),
    ],
    ids=["drop", "kill-tcp", "close-with-error", "close"],
)
async def test_every_drop_reconnects_and_resubscribes(
    sim: SimHandle, rest: ProjectXRest, fault: tuple[str, dict[str, Any]]
) -> None:
    recorder = Recorder()
    hub = await market_hub(sim, rest, recorder)
    try:
        await eventually(lambda: recorder.count("GatewayQuote") >= 1, what="first quote")
        await sim.admin(*fault)
        await eventually(lambda: hub.connects == 2 and hub.connected, within=10, what="reconnect")
        seen = recorder.count("GatewayQuote")
        await eventually(lambda: recorder.count("GatewayQuote") > seen, what="quotes after reconnect")
        assert await subscribe_calls(sim) == 4  # both subscriptions invoked again
    finally:
        await hub.stop()


async def test_refused_reconnects_back_off_then_succeed(sim: SimHandle, rest: ProjectXRest) -> None:
    recorder = Recorder()
    hub = await market_hub(sim, rest, recorder)
    try:
        await sim.admin("faults/hub/refuse", {"hub": "market", "seconds": 1.0, "status": 503})
        await sim.admin("faults/hub/drop", {"hub": "market"})
        await asyncio.sleep(0.5)
        assert not hub.connected
        await eventually(
            lambda: hub.connected and hub.connects == 2, within=10, what="reconnect after refusal"
        )
    finally:
        await hub.stop()


async def test_expired_token_is_renewed_and_the_hub_reconnects(sim: SimHandle, rest: ProjectXRest) -> None:
    recorder = Recorder()
    hub = await market_hub(sim, rest, recorder)
    try:
        first = rest.token
        await sim.admin("faults/tokens/expire", {"inSeconds": 0})
        await eventually(
            lambda: hub.connects == 2 and hub.connected, within=10, what="reconnect with a new token"
        )
        assert rest.token != first
        assert rest.logins == 2
        seen = recorder.count("GatewayQuote")
        await eventually(lambda: recorder.count("GatewayQuote") > seen, what="quotes with the new token")
    finally:
        await hub.stop()


async def test_stale_feed_during_market_hours_forces_a_reconnect(sim: SimHandle, rest: ProjectXRest) -> None:
    recorder = Recorder()
    hub = await market_hub(sim, rest, recorder, expect_traffic=lambda: True)
    try:
        await sim.admin("faults/hub/stall", {"hub": "market", "seconds": 4})
        await eventually(lambda: hub.connects == 2 and hub.connected, within=10, what="watchdog reconnect")
    finally:
        await hub.stop()


async def test_quiet_hub_outside_market_hours_is_left_alone(sim: SimHandle, rest: ProjectXRest) -> None:
    recorder = Recorder()
    hub = await market_hub(sim, rest, recorder, expect_traffic=lambda: False)
    try:
        await sim.admin("faults/hub/stall", {"hub": "market", "seconds": 2})
        await asyncio.sleep(2.2)
        assert hub.connects == 1
        assert hub.connected
    finally:
        await hub.stop()


async def test_handshake_refused_until_cleared(sim: SimHandle, rest: ProjectXRest) -> None:
    await sim.admin("faults/hub/handshake", {"hub": "market", "error": "Server busy"})
    recorder = Recorder()
    contract = next(c.id for c in await rest.available_contracts() if c.symbol_id == "F.US.MES")
    hub = HubConnection(
        "market",
        f"{sim.base_url}/hubs/market",
        rest.session_token,
        rest.renew_token,
        MARKET,
        recorder,
        SETTINGS,
    )
    await hub.subscribe("SubscribeContractQuotes", contract)
    await hub.start(wait=None)
    try:
        await asyncio.sleep(0.8)
        assert not hub.connected
        await sim.admin("faults/hub/handshake", {"hub": "market", "error": None})
        await eventually(lambda: hub.connected, within=10, what="connect once handshakes are accepted")
        await eventually(lambda: recorder.count("GatewayQuote") >= 1, what="quotes")
    finally:
        await hub.stop()


async def test_slow_completions_are_waited_for_and_missing_ones_retried(
    sim: SimHandle, rest: ProjectXRest
) -> None:
    recorder = Recorder()
    contract = next(c.id for c in await rest.available_contracts() if c.symbol_id == "F.US.MES")

    def hub() -> HubConnection:
        return HubConnection(
            "market",
            f"{sim.base_url}/hubs/market",
            rest.session_token,
            rest.renew_token,
            MARKET,
            recorder,
            SETTINGS,
            invoke_timeout=1.0,
        )

    await sim.admin("faults/hub/completions", {"hub": "market", "delaySeconds": 0.4})
    slow = hub()
    await slow.subscribe("SubscribeContractQuotes", contract)
    await slow.start()
    try:
        assert slow.connected
    finally:
        await slow.stop()
    await sim.admin("faults/hub/completions", {"hub": "market", "drop": True})
    silent = hub()
    await silent.subscribe("SubscribeContractQuotes", contract)
    await silent.start(wait=None)
    try:
        await asyncio.sleep(1.5)
        assert not silent.connected  # a subscription that is never confirmed is not a connection
        await sim.admin("faults/hub/completions", {"hub": "market", "delaySeconds": 0, "drop": False})
        await eventually(lambda: silent.connected, within=10, what="connected once completions come back")
        await eventually(lambda: recorder.count("GatewayQuote") >= 1, what="quotes")
    finally:
        await silent.stop()


async def test_short_lived_tokens_are_refreshed_and_the_hub_moves_to_the_new_one(sim: SimHandle) -> None:
    await sim.admin("faults/tokens/lifetime", {"seconds": 4})
    settings = GatewaySettings(
        reconnect_delays_seconds=[0.05, 0.2], token_refresh_margin_seconds=2.0, hub_keepalive_seconds=1.0
    )
    async with ProjectXRest(sim.base_url, sim.username, sim.api_key, settings, clock=sim.now) as client:
        await client.login()
        recorder = Recorder()
        hub = await market_hub(sim, client, recorder)
        try:
            first = client.token
            await eventually(lambda: hub.connects >= 2, within=10, what="reconnect before the token expires")
            assert client.token != first
            assert client.refreshes + client.logins >= 2
            for _ in range(4):  # keeps working across several token lifetimes
                assert await client.search_accounts()
                await asyncio.sleep(1)
            seen = recorder.count("GatewayQuote")
            await eventually(lambda: recorder.count("GatewayQuote") > seen, what="quotes keep coming")
            assert hub.connected
        finally:
            await hub.stop()
