"""Both hubs with pysignalr (the asyncio client the gateway will use): negotiate, token in the
query string or a Bearer header, subscriptions, every event's fields, a bracket order's whole
life on the user hub, wrapped payloads, and re-subscription after a dropped connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pysignalr.client import SignalRClient
from pysignalr.messages import CompletionMessage

from support.signalr import Recorder
from support.sim import COMBINE, ES, SimHandle, running_sim
from support.wire import (
    ACCOUNT,
    DEPTH,
    ISO_ZULU,
    MARKET_TRADE,
    ORDER,
    POSITION,
    QUOTE,
    TRADE,
    check_fields,
)

USER_EVENTS = ("GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade", "GatewayUserAccount")
MARKET_EVENTS = ("GatewayQuote", "GatewayTrade", "GatewayDepth")


Calls = list[tuple[str, list[Any]]]
MARKET_CALLS: Calls = [
    ("SubscribeContractQuotes", [ES]),
    ("SubscribeContractTrades", [ES]),
    ("SubscribeContractMarketDepth", [ES]),
]
USER_CALLS: Calls = [
    ("SubscribeAccounts", []),
    ("SubscribeOrders", [COMBINE]),
    ("SubscribePositions", [COMBINE]),
    ("SubscribeTrades", [COMBINE]),
]


@contextlib.asynccontextmanager
async def connected(
    url: str,
    events: tuple[str, ...],
    calls: Calls,
    *,
    headers: dict[str, str] | None = None,
    every_time: bool = True,
) -> AsyncIterator[tuple[SignalRClient, Recorder]]:
    """A running pysignalr client that invokes ``calls`` in on_open (on every connection, or
    only the first) and has had every completion back before the block starts."""
    client = SignalRClient(url, headers=headers, ping_interval=5, signalr_ping_interval=1)
    recorder = Recorder()
    for name in events:

        async def handler(args: Any, name: str = name) -> None:
            recorder.add(name, args)

        client.on(name, handler)

    async def on_open() -> None:
        first = not recorder.of("open")
        recorder.add("open", None)
        if first or every_time:
            for method, args in calls:

                async def done(message: Any, method: str = method) -> None:
                    recorder.add("completion", (method, message.error))

                await client.send(method, args, on_invocation=done)

    async def on_error(message: CompletionMessage) -> None:
        recorder.add("error", message.error)

    client.on_open(on_open)
    client.on_error(on_error)
    task = asyncio.create_task(client.run())
    try:
        answered = lambda: bool(recorder.of("open")) and len(recorder.of("completion")) >= len(calls)  # noqa: E731
        await recorder.wait(answered)
        yield client, recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def test_market_hub_pushes_quotes_trades_and_depth_as_documented() -> None:
    async with running_sim() as s:
        async with connected(s.hub_url("market"), MARKET_EVENTS, MARKET_CALLS) as (_, rec):
            assert [error for _, error in rec.of("completion")] == [None, None, None]
            await rec.wait(lambda: len(rec.of("GatewayTrade")) >= 3 and len(rec.of("GatewayDepth")) >= 3)
        quotes = rec.of("GatewayQuote")
        contract_id, first = quotes[0]
        assert contract_id == ES
        check_fields(first, QUOTE)
        assert first["symbol"] == "F.US.EP" and ISO_ZULU.match(first["timestamp"])
        assert first["bestBid"] < first["bestAsk"]
        for contract_id, rows in rec.of("GatewayTrade"):
            assert contract_id == ES and isinstance(rows, list)
            for row in rows:
                check_fields(row, MARKET_TRADE)
                assert row["type"] in (0, 1) and row["volume"] > 0
        depth = rec.of("GatewayDepth")
        snapshot = depth[0][1]
        assert snapshot[0]["type"] == 6  # Reset first
        assert {r["type"] for r in snapshot[1:]} == {1, 2}
        for _, rows in depth:
            for row in rows:
                check_fields(row, DEPTH)
        assert any(r["type"] == 5 for _, rows in depth[1:] for r in rows)  # trade prints


async def _bracket_life(s: SimHandle, rec: Recorder) -> dict[str, Any]:
    placed = await s.place(
        customTag="life-1",
        stopLossBracket={"ticks": -20, "type": 4},
        takeProfitBracket={"ticks": 20, "type": 1},
    )
    assert placed["success"], placed
    parent = placed["orderId"]
    await rec.wait(lambda: any(_unwrap(o)["status"] == 2 for o in rec.of("GatewayUserOrder")))
    await rec.wait(lambda: len(rec.of("GatewayUserAccount")) >= 1 and len(rec.of("GatewayUserPosition")) >= 1)
    close = await s.api("Position/closeContract", {"accountId": COMBINE, "contractId": ES})
    assert close["success"], close
    await rec.wait(lambda: any(_unwrap(p)["size"] == 0 for p in rec.of("GatewayUserPosition")))
    return {"parent": parent}


def _unwrap(payload: Any) -> dict[str, Any]:
    data = payload[0] if isinstance(payload, list) else payload
    if isinstance(data, dict) and set(data) == {"action", "data"}:
        inner: dict[str, Any] = data["data"]
        return inner
    assert isinstance(data, dict)
    return data


async def test_user_hub_follows_a_bracket_order_and_its_position_to_flat() -> None:
    async with (
        running_sim() as s,
        connected(s.hub_url("user", token=False), USER_EVENTS, USER_CALLS, headers=s.headers) as (_, rec),
    ):
        ids = await _bracket_life(s, rec)
    orders = [_unwrap(o) for o in rec.of("GatewayUserOrder")]
    for order in orders:
        check_fields(order, ORDER)
        assert ISO_ZULU.match(order["creationTimestamp"])
    parent = [o for o in orders if o["id"] == ids["parent"]]
    assert [o["status"] for o in parent] == [1, 2]
    assert parent[-1]["fillVolume"] == 1 and parent[-1]["customTag"] == "life-1"
    children = [o for o in orders if o["id"] in (ids["parent"] + 1, ids["parent"] + 2)]
    # Suspended (8) until the parent fills, then working (1).
    assert [o["status"] for o in children[:2]] == [8, 8]
    assert {o["status"] for o in children[2:4]} == {1}
    stop = next(o for o in children if o["type"] == 4 and o["stopPrice"] is not None)
    limit = next(o for o in children if o["type"] == 1 and o["limitPrice"] is not None)
    fill = parent[-1]["filledPrice"]
    assert stop["stopPrice"] == fill - 20 * 0.25 and limit["limitPrice"] == fill + 20 * 0.25
    trades = [_unwrap(t) for t in rec.of("GatewayUserTrade")]
    for trade in trades:
        check_fields(trade, TRADE)
    assert trades[0]["profitAndLoss"] is None
    assert isinstance(trades[-1]["profitAndLoss"], float | int)
    positions = [_unwrap(p) for p in rec.of("GatewayUserPosition")]
    for position in positions:
        check_fields(position, POSITION)
    assert positions[0]["size"] == 1 and positions[0]["type"] == 1
    # A closed position is pushed with size 0, and keeps its side (type 0 does not mean closed).
    assert (positions[-1]["size"], positions[-1]["type"]) == (0, 1)
    for account in rec.of("GatewayUserAccount"):
        check_fields(_unwrap(account), ACCOUNT)
    expected = 50_000 + trades[-1]["profitAndLoss"] - 2 * 1.40
    assert abs(_unwrap(rec.of("GatewayUserAccount")[-1])["balance"] - expected) < 1e-6


async def test_user_payloads_can_be_wrapped_with_an_action() -> None:
    async with (
        running_sim("simulator.hub.userPayload=wrapped") as s,
        connected(s.hub_url("user"), USER_EVENTS, USER_CALLS) as (_, rec),
    ):
        await s.place()
        await rec.wait(lambda: len(rec.of("GatewayUserAccount")) >= 1)
    for name in USER_EVENTS:
        for payload in rec.of(name):
            (wrapped,) = payload
            assert set(wrapped) == {"action", "data"} and wrapped["action"] in (0, 1, 2)
    actions = [p[0]["action"] for p in rec.of("GatewayUserOrder")]
    assert actions == [0, 1]  # created, then updated (filled)


async def test_subscriptions_do_not_survive_a_dropped_connection() -> None:
    async with running_sim() as s:
        calls: Calls = [("SubscribeContractQuotes", [ES])]
        async with connected(s.hub_url("market"), MARKET_EVENTS, calls, every_time=False) as (_, rec):
            await rec.wait(lambda: len(rec.of("GatewayQuote")) >= 2)
            first = (await s.state())["connections"]["market"][0]
            assert first["subscriptions"] == [{"method": "SubscribeContractQuotes", "args": [ES]}]
            dropped = await s.admin("faults/hub/drop", {"hub": "market"})
            assert dropped["dropped"] == [first["connectionId"]]
            await rec.wait(lambda: len(rec.of("open")) == 2)  # pysignalr reconnects at once
            quotes_before = len(rec.of("GatewayQuote"))
            await asyncio.sleep(1.5)
            state = await s.state()
            (second,) = state["connections"]["market"]
            assert second["connectionId"] != first["connectionId"] and second["subscriptions"] == []
            assert len(rec.of("GatewayQuote")) == quotes_before  # nothing without re-subscribing
            assert state["counters"]["marketConnects"] == 2


async def test_a_client_that_resubscribes_on_open_keeps_receiving() -> None:
    async with running_sim() as s, connected(s.hub_url("market"), MARKET_EVENTS, MARKET_CALLS) as (_, rec):
        await rec.wait(lambda: len(rec.of("GatewayQuote")) >= 2)
        await s.admin("faults/hub/drop", {"hub": "market"})
        await rec.wait(lambda: len(rec.of("open")) == 2)
        seen = len(rec.of("GatewayQuote"))
        await rec.wait(lambda: len(rec.of("GatewayQuote")) > seen + 2)
        state = await s.state()
        assert state["counters"]["marketSubscribeCalls"] == 6
