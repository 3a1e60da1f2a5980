"""The SignalR server at the wire: negotiate v0/v1, connection ids, auth, the handshake,
completions and errors, fire-and-forget, framing, keep-alive pings, the client timeout, closing
at token expiry, and no WebSocket-level pings from the server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json

import aiohttp
import msgspec
import pytest

from support.signalr import RawHub
from support.sim import ES, running_sim
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.connection_manager.exchange_state import ExchangeState
from tsxbot.gateway.models import Position
from tsxbot.gateway.normalize import Normalizer


async def test_negotiate_answers_version_1_with_a_token_and_version_0_without() -> None:
    async with running_sim() as s:
        for query, version in (("?negotiateVersion=1", 1), ("", 0), ("?negotiateVersion=7", 1)):
            response = await s.http.post(f"/hubs/market/negotiate{query}", headers=s.headers)
            assert response.status_code == 200
            body = response.json()
            assert body["negotiateVersion"] == version
            assert isinstance(body["connectionId"], str) and body["connectionId"]
            assert ("connectionToken" in body) == (version == 1)
            assert body["availableTransports"] == [
                {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
            ]
            assert "useStatefulReconnect" not in body
        response = await s.http.post("/hubs/user/negotiate?negotiateVersion=1")
        assert response.status_code == 401


async def _refused(url: str) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await RawHub.open(url)
    return refused.value.status


async def test_a_negotiated_id_opens_one_connection_and_unknown_ids_get_404() -> None:
    async with running_sim() as s:
        body = (await s.http.post("/hubs/market/negotiate?negotiateVersion=1", headers=s.headers)).json()
        url = f"{s.hub_url('market')}&id={body['connectionToken']}"
        hub = await RawHub.open(url)
        try:
            assert await hub.next() == {}
            state = await s.state()
            assert state["connections"]["market"][0]["connectionId"] == body["connectionId"]
            # A second socket for a connection that is live: 409 Conflict (signalr-protocol §5),
            # by its connectionToken or its connectionId.
            assert await _refused(url) == 409
            assert await _refused(f"{s.hub_url('market')}&id={body['connectionId']}") == 409
            assert await _refused(f"{s.hub_url('market')}&id=never-negotiated") == 404
        finally:
            await hub.close()
        for _ in range(50):
            if not (await s.state())["connections"]["market"]:
                break
            await asyncio.sleep(0.05)
        assert await _refused(url) == 404  # the connection is gone and the id was used up
        with pytest.raises(aiohttp.WSServerHandshakeError) as unauthorized:
            await RawHub.open(s.hub_url("market", token=False))
        assert unauthorized.value.status == 401


async def test_the_token_may_come_in_a_bearer_header() -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("user", token=False), headers=s.headers)
        try:
            assert await hub.next() == {}
        finally:
            await hub.close()


@pytest.mark.parametrize(
    ("handshake", "error"),
    [
        ({"protocol": "messagepack", "version": 1}, "The protocol 'messagepack' is not supported."),
        ({"protocol": "json", "version": 2}, "The server does not support version 2 of the 'json' protocol."),
        ({"type": 6}, "Missing required property 'protocol'."),
    ],
)
async def test_bad_handshakes_get_an_error_and_a_close(handshake: dict[str, object], error: str) -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("market"), handshake=handshake)
        try:
            assert await hub.next() == {"error": error}
            with pytest.raises(ConnectionResetError):
                await hub.next(within=2)
        finally:
            await hub.close()


async def test_protocol_version_0_is_accepted_like_aspnet_does() -> None:
    async with running_sim() as s:  # signalrcore 1.0.2 sends its negotiateVersion (0) here
        hub = await RawHub.open(s.hub_url("market"), handshake={"protocol": "json", "version": 0})
        try:
            assert await hub.next() == {}
        finally:
            await hub.close()


async def test_completions_errors_and_fire_and_forget() -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await hub.invoke("subscribeorders", 1001, invocation_id="a")  # names are case-blind
            assert await hub.completion("a") == {"type": 3, "invocationId": "a"}
            await hub.invoke("Nope", invocation_id="b")
            assert (await hub.completion("b"))["error"] == "Unknown hub method 'Nope'"
            await hub.invoke("SubscribeOrders", invocation_id="c")
            assert (await hub.completion("c"))[
                "error"
            ] == "Invocation provides 0 argument(s) but target expects 1."
            await hub.invoke("SubscribeOrders", {"x": 1}, invocation_id="d")
            assert "Error binding arguments" in (await hub.completion("d"))["error"]
            # Fire-and-forget (no invocationId): never answered, even on error.
            await hub.invoke("Nope", invocation_id=None)
            await hub.invoke("SubscribeAccounts", invocation_id="e")
            assert (await hub.next_where(lambda r: r.get("type") == 3))["invocationId"] == "e"
            # Several records in one frame, with the headers field the Python clients add.
            await hub.send(
                {"type": 6},
                {
                    "type": 1,
                    "invocationId": "f",
                    "target": "SubscribeTrades",
                    "arguments": [1001],
                    "headers": {},
                },
            )
            assert (await hub.completion("f")) == {"type": 3, "invocationId": "f"}
        finally:
            await hub.close()


async def test_idle_connections_get_pings_and_never_websocket_pings() -> None:
    async with running_sim("simulator.hub.keepAliveInterval=0.3") as s:
        hub = await RawHub.open(s.hub_url("market"), autoping=False)
        try:
            assert await hub.next() == {}
            assert await hub.next(within=3) == {"type": 6}
            received: list[aiohttp.WSMsgType] = []
            deadline = asyncio.get_running_loop().time() + 1.0
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                try:
                    msg = await hub.ws.receive(timeout=left)
                except TimeoutError:
                    break
                received.append(msg.type)
            assert aiohttp.WSMsgType.PING not in received
            assert aiohttp.WSMsgType.TEXT in received
        finally:
            await hub.close()


async def test_a_silent_client_is_closed_after_the_client_timeout() -> None:
    async with running_sim(
        "simulator.hub.clientTimeoutInterval=0.8", "simulator.hub.keepAliveInterval=0.2"
    ) as s:
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
            close = await hub.next_where(lambda r: r.get("type") == 7, within=5)
            assert "timeout" in close["error"].lower()
        finally:
            await hub.close()


async def test_expired_tokens_close_hub_connections_and_cannot_reconnect() -> None:
    async with running_sim("simulator.hub.keepAliveInterval=0.2") as s:
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
            await s.admin("faults/tokens/expire")
            close = await hub.next_where(lambda r: r.get("type") == 7, within=5)
            assert close["allowReconnect"] is True and "expired" in close["error"]
        finally:
            await hub.close()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await RawHub.open(s.hub_url("market"))
        assert refused.value.status == 401
    async with running_sim(
        "simulator.hub.onTokenExpiry=keepOpen", "simulator.hub.keepAliveInterval=0.2"
    ) as s:
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
            await s.admin("faults/tokens/expire")
            assert await hub.next(within=2) == {"type": 6}  # still open, still pinging
        finally:
            await hub.close()


async def test_pushes_carry_no_invocation_id_and_only_spec_fields() -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeContractQuotes", ES, invocation_id="q")
            push = await hub.next_where(lambda r: r.get("type") == 1, within=5)
            assert set(push) == {"type", "target", "arguments"}
            assert push["target"] == "GatewayQuote" and push["arguments"][0] == ES
            assert json.dumps(push["arguments"][1])  # plain JSON
        finally:
            await hub.close()


async def test_a_late_subscriber_gets_the_market_from_now_not_a_burst_of_old_prints() -> None:
    async with running_sim("simulator.paused=true") as s:
        await s.admin("clock", {"action": "advance", "seconds": 600})  # nobody watches ES meanwhile
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeContractTrades", ES, invocation_id="t")
            await hub.completion("t")
            await s.admin("clock", {"action": "advance", "seconds": 20})
            await hub.next_where(lambda r: r.get("target") == "GatewayTrade")
            stamps = [
                hub_record["arguments"][1][0]["timestamp"]
                for hub_record in hub.pending
                if hub_record.get("target") == "GatewayTrade"
            ]
            assert all(stamp >= "2026-11-24T15:40:00" for stamp in stamps)
        finally:
            await hub.close()


async def test_depth_snapshot_plus_diffs_rebuild_the_book_and_quotes_track_the_market() -> None:
    async with running_sim("simulator.paused=true") as s:
        hub = await RawHub.open(s.hub_url("market"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeContractMarketDepth", ES, invocation_id="d")
            await hub.invoke("SubscribeContractQuotes", ES, invocation_id="q")
            await hub.completion("d")
            await hub.completion("q")
            await s.admin("clock", {"action": "advance", "seconds": 30})
            with contextlib.suppress(TimeoutError):
                while True:
                    await hub.next(within=0.5)
            records = hub.seen
        finally:
            await hub.close()
        bids: dict[float, int] = {}
        asks: dict[float, int] = {}
        depth = [r["arguments"][1] for r in records if r.get("target") == "GatewayDepth"]
        assert depth[0][0]["type"] == 6 and len(depth) > 10
        for rows in depth:
            for row in rows:
                if row["type"] == 6:
                    bids.clear()
                    asks.clear()
                elif row["type"] in (1, 2):
                    side = asks if row["type"] == 1 else bids
                    if row["volume"] == 0:
                        side.pop(row["price"], None)
                    else:
                        side[row["price"]] = row["volume"]
        market = s.sim.markets[ES]
        server_bids, server_asks = market.book()
        assert bids == {p * 0.25: n for p, n in server_bids}
        assert asks == {p * 0.25: n for p, n in server_asks}
        quote = [r["arguments"][1] for r in records if r.get("target") == "GatewayQuote"][-1]
        assert quote["lastPrice"] == market.last * 0.25
        assert (quote["bestBid"], quote["bestAsk"]) == (market.bid * 0.25, market.ask * 0.25)
        assert (quote["high"], quote["low"], quote["volume"]) == (
            market.high * 0.25,
            market.low * 0.25,
            market.volume,
        )
        assert quote["change"] == pytest.approx((market.last - market.prev_close) * 0.25)


async def test_a_fill_is_told_in_the_documented_order() -> None:
    async with running_sim() as s:
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribeAccounts", invocation_id="a")
            for n, method in enumerate(("SubscribeOrders", "SubscribePositions", "SubscribeTrades")):
                await hub.invoke(method, 1001, invocation_id=str(n))
            for invocation in ("a", "0", "1", "2"):
                await hub.completion(invocation)
            await s.place()
            pushes = [await hub.next_where(lambda r: r.get("type") == 1) for _ in range(5)]
        finally:
            await hub.close()
        # Order (Open) -> Trade -> Order (Filled) -> Position -> Account.
        assert [p["target"] for p in pushes] == [
            "GatewayUserOrder",
            "GatewayUserTrade",
            "GatewayUserOrder",
            "GatewayUserPosition",
            "GatewayUserAccount",
        ]
        assert [pushes[0]["arguments"][0]["status"], pushes[2]["arguments"][0]["status"]] == [1, 2]


async def _close_pushes(*overrides: str) -> list[dict[str, object]]:
    """Opens a short position, closes it; the GatewayUserPosition payloads pushed, in order."""
    async with running_sim(*overrides) as s:
        hub = await RawHub.open(s.hub_url("user"))
        try:
            assert await hub.next() == {}
            await hub.invoke("SubscribePositions", 1001)
            await hub.completion()
            await s.place(side=1)
            close = await s.api("Position/closeContract", {"accountId": 1001, "contractId": ES})
            assert close["success"], close
            positions = []
            while not positions or positions[-1]["size"] != 0:
                push = await hub.next_where(lambda r: r.get("target") == "GatewayUserPosition")
                positions.append(push["arguments"][0])
        finally:
            await hub.close()
    return positions


async def test_a_closed_position_is_size_0_and_keeps_its_side_by_default() -> None:
    opened, closed = await _close_pushes()
    assert (opened["type"], opened["size"]) == (2, 1)
    assert (closed["type"], closed["size"]) == (2, 0)  # type 0 does not mean closed: size 0 does
    assert closed["id"] == opened["id"] and closed["contractId"] == ES
    # The project's client reads that as flat.
    normalizer = Normalizer(load_config(DEFAULTS_DIR, env={}).instruments)
    state = ExchangeState(normalizer)
    now = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    for payload, net in ((opened, -1), (closed, 0)):
        update = state.apply_position(msgspec.convert(payload, Position), now)
        assert update is not None and update.net_quantity == net
        assert state.net_position(1001, ES) == net
    assert state.positions == {}


async def test_the_closed_position_type_is_configurable() -> None:
    _, closed = await _close_pushes("simulator.wire.closedPositionType=undefined")
    assert (closed["type"], closed["size"]) == (0, 0)
