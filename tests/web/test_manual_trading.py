"""The manual trading page's server in process, on a real connection manager and aggregator (the
simulator behind them): History's candles over the bus, the role each action needs, bad input
named, and generated hostile requests never a 5xx (a good request right after still works)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.agg_harness import AggHarness
from support.cm_harness import API_KEY
from tsxbot.config.secrets import Secret
from tsxbot.manual_trading import ManualTrading
from tsxbot.messages import Bar, Envelope, Fill, PositionUpdate, channels
from tsxbot.messages.enums import Side

VIEWER = "manual-viewer-key-0123456789"


@pytest.fixture
async def manual(agg: AggHarness, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ManualTrading]:
    aggregator = await agg.start()
    assert aggregator.api is not None
    api, cm = aggregator.api, agg.cm.managers[-1].api
    monkeypatch.setenv("TSXBOT_VIEWER_KEY", VIEWER)
    served = ManualTrading(
        aggregator.config,
        await agg.cm.bus(),
        Secret(API_KEY),
        lambda: f"http://127.0.0.1:{api.port}",
        lambda: f"http://127.0.0.1:{cm.port}",
        clock=agg.sim.now,
        port=0,
    )
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


async def test_history_candles_and_the_roles_of_the_actions(agg: AggHarness, manual: ManualTrading) -> None:
    base = f"http://127.0.0.1:{manual.port}"
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": VIEWER}, timeout=20) as viewer:
        for timeframe, step in (("1m", 60), ("5m", 300)):
            answer = await viewer.get("/api/bars", params={"symbol": "MES", "timeframe": timeframe})
            assert answer.status_code == 200, answer.text
            bars = answer.json()["bars"]
            assert len(bars) > 100
            times = [b["time"] for b in bars]
            assert times == sorted(set(times)) and all(t % step == 0 for t in times)
            assert all(
                b["low"] <= min(b["open"], b["close"]) <= max(b["open"], b["close"]) <= b["high"]
                for b in bars
            )
            assert times[-1] <= agg.sim.now().timestamp()
        assert (await viewer.get("/api/bars", params={"symbol": "XYZ"})).status_code == 400
        assert (await viewer.get("/api/bars", params={"symbol": "MES", "timeframe": "7m"})).status_code == 400
        state = (await viewer.get("/api/state")).json()
        assert state["tradingState"] == "ACTIVE" and state["positions"] == [] and "MES" in state["symbols"]
        refused = await viewer.post("/api/sltp", json={"symbol": "MES", "stopLoss": 5000.0})
        assert refused.status_code == 403 and "needs the trader role" in refused.json()["error"]
        assert (await viewer.post("/api/flatten")).status_code == 403
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}, timeout=20) as admin:
        empty = await admin.post("/api/sltp", json={"symbol": "MES"})
        assert empty.status_code == 400 and "give stopLoss, takeProfit or both" in empty.json()["error"]
        negative = await admin.post("/api/sltp", json={"symbol": "MES", "stopLoss": -1})
        assert negative.status_code == 400
        nothing = await admin.post("/api/sltp", json={"symbol": "MES", "stopLoss": 5000.0})
        assert nothing.status_code == 422  # the connection manager: no position to protect
        flat = await admin.post("/api/flatten", json={"reason": "test"})
        assert flat.status_code == 200 and flat.json()["tradingState"] == "HALTED"
        flatten = next(e for e in agg.agg.account.events if e.kind == "FLATTEN")
        assert flatten.requested_by == "manual trading (admin)"


async def _until(check: Any, within: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)


async def test_the_ticket_previews_sends_as_bot_manual_and_shows_a_refusal(
    agg: AggHarness, manual: ManualTrading
) -> None:
    base = f"http://127.0.0.1:{manual.port}"
    mark = await agg.wait_mark("MES")
    cm = f"http://127.0.0.1:{agg.cm.managers[-1].api.port}"
    async with (
        httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}, timeout=30) as trader,
        httpx.AsyncClient(base_url=cm, headers={"X-API-Key": API_KEY}, timeout=30) as exchange,
    ):
        # The preview: MES ticks are 0.25 points worth $1.25; 2 contracts.
        dollars = {
            "symbol": "MES",
            "side": "BUY",
            "quantity": 2,
            "stop": 25.0,
            "target": 51.0,
            "unit": "dollars",
        }
        shown = (await trader.post("/api/preview", json=dollars)).json()["plan"]
        assert shown["stopTicks"] == 10 and shown["targetTicks"] == 20  # 25/(1.25*2); 51/2.5 = 20.4 -> 20
        assert shown["riskDollars"] == 25.0 and shown["rewardDollars"] == 50.0 and shown["rewardRisk"] == 2.0
        points = {**dollars, "stop": 2.6, "target": 5.0, "unit": "points"}
        shown = (await trader.post("/api/preview", json=points)).json()["plan"]
        assert shown["stopTicks"] == 10 and shown["targetTicks"] == 20  # 2.6 points: down to 10 ticks
        limit = {**points, "orderType": "LIMIT", "price": 5000.25, "side": "SELL"}
        shown = (await trader.post("/api/preview", json=limit)).json()["plan"]
        assert (shown["entry"], shown["stopPrice"], shown["targetPrice"]) == (5000.25, 5002.75, 4995.25)
        for bad, named in (
            ({**limit, "price": 5000.1}, "not on MES's tick"),
            ({**points, "orderType": "STOP"}, "needs its price"),
            ({**points, "price": 5000.0}, "a market order has no price"),
            ({**points, "stop": 0.1}, "stop: less than one tick"),
            ({**points, "symbol": "XYZ"}, "unknown 'XYZ'"),
        ):
            answer = await trader.post("/api/preview", json=bad)
            assert answer.status_code == 200 and answer.json()["ok"] is False, answer.text
            assert named in answer.json()["error"], answer.text
            sent = await trader.post("/api/order", json=bad)
            assert sent.status_code == 400 and named in sent.json()["error"]  # and nothing sent
        # A refusal from the aggregator's risk check, with its typed reason: more than maxOrderSize.
        refused = await trader.post("/api/order", json={**points, "quantity": 50})
        assert refused.status_code == 422 and refused.json()["reason"] == "MAX_ORDER_SIZE", refused.text
        assert (await exchange.get("/api/positions")).json()["positions"] == []
        # A market order with its bracket fills and is the manual bot's.
        sent = await trader.post("/api/order", json={**points, "stop": 2.5, "target": 5.0, "quantity": 1})
        assert sent.status_code == 200, sent.text
        positions = await _until(lambda: _positions(exchange))
        assert [(p["symbol"], p["netQuantity"]) for p in positions] == [("MES", 1)]
        fills = await _until(lambda: _manual_positions(agg))
        assert fills == [("MES", 1)]
        orders = (await exchange.get("/api/orders")).json()["orders"]
        stops = [o["stopPrice"] for o in orders if o.get("stopPrice") is not None]
        assert len(stops) == 1 and abs(stops[0] - (mark - 2.5)) < 3.0  # 10 ticks under the entry
        # Reverse: the long closed and a short of the same size opened with its own bracket.
        reversed_ = await trader.post("/api/reverse", json={"symbol": "MES", "stop": 10, "target": 20})
        assert reversed_.status_code == 200, reversed_.text
        assert await _until(lambda: _manual_positions_are(agg, [("MES", -1)]))
        assert (await trader.get("/api/state")).json()["manual"] == {"MES": -1}
        assert await _until(lambda: _short_is_protected(exchange, mark))
        # Partial close is refused past the size held; close takes it off.
        assert (await trader.post("/api/close", json={"symbol": "MES", "quantity": 2})).status_code == 409
        closed = await trader.post("/api/close", json={"symbol": "MES"})
        assert closed.status_code == 200, closed.text
        assert await _until(lambda: _flat(exchange))
        # A working limit order: modified, then cancelled; a bot's order is not the page's.
        far = {"symbol": "MES", "side": "BUY", "quantity": 1, "orderType": "LIMIT", "stop": 8, "target": 16}
        placed = await trader.post("/api/order", json={**far, "price": round(mark - 50)})
        assert placed.status_code == 200, placed.text
        working = await _until(lambda: _working(exchange))
        (order,) = [o for o in working if o["limitPrice"] == round(mark - 50)]
        assert order["botId"] == "manual"
        moved = await trader.post(
            "/api/modify", json={"exchangeOrderId": order["exchangeOrderId"], "limitPrice": round(mark - 60)}
        )
        assert moved.status_code == 200, moved.text
        assert (await _working(exchange))[0]["limitPrice"] == round(mark - 60)
        gone = await trader.post("/api/cancel", json={"exchangeOrderId": order["exchangeOrderId"]})
        assert gone.status_code == 200, gone.text
        assert await _until(lambda: _no_orders(exchange))
        assert (await trader.post("/api/cancel", json={"exchangeOrderId": 999999})).status_code == 404
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": VIEWER}, timeout=20) as viewer:
        assert (await viewer.post("/api/order", json=points)).status_code == 403


async def test_a_body_that_is_not_utf8_is_a_400_naming_the_byte_and_does_nothing(
    agg: AggHarness, manual: ManualTrading
) -> None:
    """Invalid UTF-8 in an unknown key or a misspelt optional field's name: every action refuses it
    naming the byte (the shared body decoder), and no order, position, flatten or halt follows."""
    base = f"http://127.0.0.1:{manual.port}"
    await agg.wait_mark("MES")  # the good order at the end has its price
    cm = f"http://127.0.0.1:{agg.cm.managers[-1].api.port}"
    ticket = b'{"symbol":"MES","side":"BUY","quantity":1,"stop":8,"target":16,'
    bodies = {
        "/api/order": ticket + b'"note\xff":1}',
        "/api/sltp": b'{"symbol":"MES","stopLoss":5000.0,"takePro\xfffit":5100.0}',
        "/api/flatten": b'{"reason":"x","by\xed\xa0\x80":1}',
        "/api/close": b'{"symbol":"MES","botId":"manual","quant\xffity":1}',
        "/api/reverse": b'{"symbol":"MES","stop":8,"target":16,"x\xc3":1}',
        "/api/modify": b'{"exchangeOrderId":1,"limitPrice":5000.0,"\xff":1}',
        "/api/cancel": b'{"exchangeOrderId":1,"\xfe":0}',
    }
    async with (
        httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}, timeout=30) as trader,
        httpx.AsyncClient(base_url=cm, headers={"X-API-Key": API_KEY}, timeout=30) as exchange,
    ):
        for path, body in bodies.items():
            bad = body.index(b"\xff") if b"\xff" in body else None
            answer = await trader.post(path, content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code == 400, (path, answer.text)
            error = answer.json()["error"]
            assert "not UTF-8" in error, (path, error)
            if bad is not None:
                assert f"at byte {bad})" in error, (path, error)
        assert await _positions(exchange) == [] and await _working(exchange) == []
        assert not agg.agg.orders and await _manual_positions(agg) == []
        assert agg.agg.account.state_name == "ACTIVE"
        assert not [e for e in agg.agg.account.events if e.kind == "FLATTEN"]
        # The same order, as UTF-8, goes through: the refusal was the bytes.
        sent = await trader.post("/api/order", content=ticket + b'"unit":"ticks"}')
        assert sent.status_code == 200, sent.text


async def test_a_strategy_bots_position_and_stop_are_acted_on_as_that_bots(
    agg: AggHarness, manual: ManualTrading
) -> None:
    """bot_2's position (2 MES with its bracket): a partial close and a close from the page go to
    the aggregator on bot_2's behalf (its fills, its P&L, its stop and target cut to the size
    left, then cancelled); its stop moves through the aggregator as bot_2's; cancelling its stop,
    reversing its position and an unknown bot are refused with the reason; the manual bot's
    books are untouched."""
    base = f"http://127.0.0.1:{manual.port}"
    mark = await agg.wait_mark("MES")
    cm = f"http://127.0.0.1:{agg.cm.managers[-1].api.port}"
    await agg.submit("bot_2", order_id="s1", quantity=2, stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 2)
    async with (
        httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}, timeout=30) as trader,
        httpx.AsyncClient(base_url=cm, headers={"X-API-Key": API_KEY}, timeout=30) as exchange,
    ):
        legs = await _until(lambda: _legs_of(exchange, "bot_2", 2))
        state = (await trader.get("/api/state")).json()
        assert [(p["botId"], p["symbol"], p["quantity"]) for p in state["perBot"]] == [("bot_2", "MES", 2)]
        assert state["manual"] == {}

        reverse = await trader.post("/api/reverse", json={"symbol": "MES", "stop": 8, "botId": "bot_2"})
        assert reverse.status_code == 409 and "its strategy's" in reverse.json()["error"], reverse.text
        unknown = await trader.post("/api/close", json={"symbol": "MES", "botId": "bot_9"})
        assert unknown.status_code == 404 and "unknown bot" in unknown.json()["error"]
        too_many = await trader.post("/api/close", json={"symbol": "MES", "botId": "bot_2", "quantity": 3})
        assert too_many.status_code == 409 and "more than the 2 held" in too_many.json()["error"]
        assert (await trader.post("/api/close", json={"symbol": "MES"})).status_code == 409  # manual: none

        (stop,) = [o for o in legs if o.get("stopPrice") is not None]
        kept = await trader.post("/api/cancel", json={"exchangeOrderId": stop["exchangeOrderId"]})
        assert kept.status_code == 409 and "protects bot_2's position" in kept.json()["error"], kept.text
        moved_to = stop["stopPrice"] - 1.0
        moved = await trader.post(
            "/api/modify", json={"exchangeOrderId": stop["exchangeOrderId"], "stopPrice": moved_to}
        )
        assert moved.status_code == 202 and moved.json()["botId"] == "bot_2", moved.text
        assert await _until(lambda: _stop_at(exchange, "bot_2", moved_to))

        realized = agg.agg.positions.get("bot_2", "MES").realized_pnl
        partial = await trader.post("/api/close", json={"symbol": "MES", "botId": "bot_2", "quantity": 1})
        assert partial.status_code == 200 and partial.json()["botId"] == "bot_2", partial.text
        await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        assert agg.agg.positions.get("bot_2", "MES").realized_pnl != realized  # bot_2's P&L moved
        assert await _until(lambda: _legs_of(exchange, "bot_2", 1))  # its stop and target: cut to 1
        assert agg.agg.positions.quantity("manual", "MES") == 0
        sells = [f for f in agg.of("bot_2", Fill) if f.side is Side.SELL]
        assert [f.quantity for f in sells] == [1]  # the fill is bot_2's

        closed = await trader.post("/api/close", json={"symbol": "MES", "botId": "bot_2"})
        assert closed.status_code == 200, closed.text
        await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
        assert await _until(lambda: _flat(exchange))  # its stop and target went with it
        assert agg.agg.positions.quantity("manual", "MES") == 0
        assert (await trader.get("/api/state")).json()["perBot"] == []


async def _legs_of(exchange: httpx.AsyncClient, bot: str, size: int) -> list[dict[str, Any]] | None:
    """``bot``'s stop and target, both of ``size``, or None."""
    legs = [o for o in await _working(exchange) if o["botId"] == bot and o.get("orderId") is None]
    return legs if len(legs) == 2 and all(o["quantity"] == size for o in legs) else None


async def _stop_at(exchange: httpx.AsyncClient, bot: str, price: float) -> bool:
    stops = [o["stopPrice"] for o in await _working(exchange) if o["botId"] == bot and o.get("stopPrice")]
    return stops == [price]


async def _positions(exchange: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await exchange.get("/api/positions")).json()["positions"]
    return found


async def _working(exchange: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await exchange.get("/api/orders")).json()["orders"]
    return found


async def _flat(exchange: httpx.AsyncClient) -> bool:
    return all(p["netQuantity"] == 0 for p in await _positions(exchange)) and not await _working(exchange)


async def _no_orders(exchange: httpx.AsyncClient) -> bool:
    return not await _working(exchange)


async def _short_is_protected(exchange: httpx.AsyncClient, mark: float) -> bool:
    """The short's stop is a BUY stop above the market, and it is the only stop."""
    stops = [o for o in await _working(exchange) if o.get("stopPrice") is not None]
    return len(stops) == 1 and stops[0]["side"] == "BUY" and stops[0]["stopPrice"] > mark - 3


async def _manual_positions_are(agg: AggHarness, expected: list[tuple[str, int]]) -> bool:
    return await _manual_positions(agg) == expected


async def _manual_positions(agg: AggHarness) -> list[tuple[str, int]]:
    held = agg.agg.positions.quantity("manual", "MES")
    return [("MES", held)] if held else []


def _fuzz(base: str, tally: dict[int, int]) -> None:
    with httpx.Client(base_url=base, headers={"X-API-Key": API_KEY}, timeout=20) as http:

        @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(
            st.sampled_from(["GET", "POST", "PUT"]),
            st.sampled_from(
                [
                    "/api/state",
                    "/api/bars?symbol=XYZ",
                    "/api/bars?symbol=MES&timeframe=1h",
                    "/api/bars?timeframe=%00",
                    "/api/sltp",
                    "/api/flatten",
                    "/api/preview",
                    "/api/order",
                    "/api/close",
                    "/api/reverse",
                    "/api/cancel",
                    "/api/modify",
                    "/ws",
                ]
            )
            | st.text(alphabet="/abcdefgh.%?=&", min_size=1, max_size=30).map(lambda p: "/" + p),
            st.one_of(
                st.binary(max_size=80),
                st.sampled_from(
                    [
                        b'{"symbol": "MES", "stopLoss": "x"}',
                        b'{"symbol": "", "stopLoss": 1}',
                        b'{"symbol": "MES", "stopLoss": 1e400}',
                        b'{"symbol": "' + b"M" * 100 + b'", "takeProfit": 1}',
                        b'{"reason": 5}',
                        b'{"symbol": "MES", "side": "BUY", "quantity": 0}',
                        b'{"symbol": "MES", "side": "BUY", "quantity": 1, "orderType": "STOP", "price": 1e9}',
                        b'{"symbol": "MES", "side": "SIDEWAYS", "quantity": 1}',
                        b'{"symbol": "MES", "side": "BUY", "quantity": 1, "stop": -4, "unit": "yen"}',
                        b'{"symbol": "ZZZ", "stop": 4}',
                        b'{"symbol": "MES", "quantity": 5000}',
                        b'{"symbol": "MES", "botId": ""}',
                        b'{"symbol": "MES", "botId": "bot_2", "quantity": 1}',
                        b'{"symbol": "MES", "botId": "' + b"b" * 100 + b'"}',
                        b'{"symbol": "MES", "stop": 8, "botId": "bot_3"}',
                        b'{"exchangeOrderId": -1}',
                        b'{"exchangeOrderId": 99999999999999999999999}',
                        b'{"exchangeOrderId": 5, "limitPrice": "x"}',
                        b'{"reason": "' + b"x" * 2000 + b'"}',
                    ]
                ),
            ),
        )
        def one(method: str, path: str, body: bytes) -> None:
            response = http.request(method, path, content=body)
            assert response.status_code < 500, (method, path, body, response.status_code, response.text)
            tally[response.status_code] = tally.get(response.status_code, 0) + 1

        one()
        assert http.get("/api/state").json()["symbols"]


@pytest.mark.slow
async def test_generated_hostile_requests_never_get_a_5xx(manual: ManualTrading) -> None:
    tally: dict[int, int] = {}
    await asyncio.wait_for(asyncio.to_thread(_fuzz, f"http://127.0.0.1:{manual.port}", tally), timeout=240)
    assert tally.get(400, 0) > 20 and tally.get(404, 0) + tally.get(405, 0) > 20, tally


async def test_live_bars_from_the_bus_reach_the_page_over_the_websocket(
    agg: AggHarness, manual: ManualTrading
) -> None:
    """A 1-minute bar the connection manager would publish arrives on the page's WebSocket as the
    chart's candle (time in seconds, OHLC as sent); a 15-second bar is not the chart's."""
    start = agg.sim.now().replace(second=0, microsecond=0)
    bar = Bar(
        symbol="MES",
        timeframe="1m",
        start=start,
        end=start + dt.timedelta(minutes=1),
        open=5000.0,
        high=5002.5,
        low=4999.25,
        close=5001.75,
        volume=42,
    )
    bus = await agg.client()
    async with aiohttp.ClientSession(headers={"X-API-Key": VIEWER}) as session:
        ws = await session.ws_connect(f"http://127.0.0.1:{manual.port}/ws")
        await asyncio.sleep(0.2)  # the page is watching
        other = msgspec.structs.replace(bar, timeframe="15s", end=start + dt.timedelta(seconds=15))
        await bus.publish(channels.market_data("MES"), Envelope.wrap(other, "test"))
        await bus.publish(channels.market_data("MES"), Envelope.wrap(bar, "test"))
        received: list[dict[str, Any]] = []
        while not received or received[-1]["bar"]["volume"] != 42:  # the simulator's own bars may come too
            received.append(await asyncio.wait_for(ws.receive_json(), 10))
        await ws.close()
    assert all(m["bar"]["timeframe"] in ("1m", "5m") for m in received)
    assert received[-1] == {
        "type": "bar",
        "bar": {
            "symbol": "MES",
            "timeframe": "1m",
            "time": int(start.timestamp()),
            "open": 5000.0,
            "high": 5002.5,
            "low": 4999.25,
            "close": 5001.75,
            "volume": 42,
        },
    }
