"""Both hubs with signalrcore 1.0.2 (threaded; most community TopStepX scripts use it):
skip-negotiation with the token in the query string (the official sample's way), negotiation
with a Bearer header, and an access_token_factory."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from signalrcore.hub.base_hub_connection import BaseHubConnection
from signalrcore.hub_connection_builder import HubConnectionBuilder

from support.signalr import Recorder
from support.sim import COMBINE, ES, SimHandle, running_sim
from support.wire import ORDER, QUOTE, check_fields

RECONNECT = {"type": "interval", "keep_alive_interval": 1, "intervals": [1, 1, 1]}


def _build(
    url: str, options: dict[str, Any], recorder: Recorder, events: tuple[str, ...]
) -> BaseHubConnection:
    hub = HubConnectionBuilder().with_url(url, options=options).with_automatic_reconnect(RECONNECT).build()
    opened = threading.Event()
    hub.on_open(opened.set)
    for name in events:
        hub.on(name, lambda args, name=name: recorder.add(name, args))
    hub.start()
    if not opened.wait(10):
        hub.stop()
        raise TimeoutError("signalrcore did not connect")
    return hub


async def _connect(url: str, options: dict[str, Any], recorder: Recorder, *events: str) -> BaseHubConnection:
    # signalrcore blocks (HTTP negotiate, socket threads): keep it off the simulator's loop.
    return await asyncio.to_thread(_build, url, options, recorder, events)


def _invoke(hub: BaseHubConnection, method: str, args: list[Any], recorder: Recorder) -> None:
    hub.send(method, args, on_invocation=lambda message: recorder.add("completion", (method, message.error)))


@pytest.mark.parametrize(
    "how",
    ["skip negotiation, token in the query", "negotiate, Bearer header", "negotiate, access_token_factory"],
)
async def test_market_quotes_reach_signalrcore(how: str) -> None:
    async with running_sim() as s:
        options: dict[str, Any]
        if how.startswith("skip"):
            url, options = s.hub_url("market"), {"skip_negotiation": True}
        elif "header" in how:
            url, options = s.hub_url("market", token=False), {"headers": dict(s.headers)}
        else:
            token = s.token
            url, options = s.hub_url("market", token=False), {"access_token_factory": lambda: token}
        rec = Recorder(threaded=True)
        hub = await _connect(url, options, rec, "GatewayQuote", "GatewayTrade")
        try:
            await asyncio.to_thread(_invoke, hub, "SubscribeContractQuotes", [ES], rec)
            await asyncio.to_thread(_invoke, hub, "SubscribeContractTrades", [ES], rec)
            await rec.wait(lambda: len(rec.of("GatewayQuote")) >= 3 and len(rec.of("GatewayTrade")) >= 1)
        finally:
            await asyncio.to_thread(hub.stop)
        assert [error for _, error in rec.of("completion")] == [None, None]
        contract_id, quote = rec.of("GatewayQuote")[0]
        assert contract_id == ES
        check_fields(quote, QUOTE)


async def _user_events(s: SimHandle, options: dict[str, Any], url: str) -> Recorder:
    rec = Recorder(threaded=True)
    hub = await _connect(url, options, rec, "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade")
    try:
        for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
            await asyncio.to_thread(_invoke, hub, method, [COMBINE], rec)
        await rec.wait(lambda: len(rec.of("completion")) == 3)
        placed = await s.place(type=1, limitPrice=5000.0)  # far below the market: rests
        assert placed["success"]
        cancel = await s.api("Order/cancel", {"accountId": COMBINE, "orderId": placed["orderId"]})
        assert cancel["success"]
        await rec.wait(lambda: len(rec.of("GatewayUserOrder")) >= 2)
    finally:
        await asyncio.to_thread(hub.stop)
    return rec


async def test_user_hub_with_signalrcore_both_ways() -> None:
    async with running_sim() as s:
        for url, options in (
            (s.hub_url("user"), {"skip_negotiation": True}),
            (s.hub_url("user", token=False), {"headers": dict(s.headers)}),
        ):
            rec = await _user_events(s, options, url)
            orders = [args[0] for args in rec.of("GatewayUserOrder")]
            for order in orders:
                check_fields(order, ORDER)
            assert [o["status"] for o in orders[-2:]] == [1, 3]  # open, then cancelled
            assert orders[-1]["limitPrice"] == 5000.0
