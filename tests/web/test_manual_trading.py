"""The manual trading page's server in process, on a real connection manager and aggregator (the
simulator behind them): History's candles over the bus, the role each action needs, bad input
named, and generated hostile requests never a 5xx (a good request right after still works)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.agg_harness import AggHarness
from support.cm_harness import API_KEY
from tsxbot.config.secrets import Secret
from tsxbot.manual_trading import ManualTrading

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
