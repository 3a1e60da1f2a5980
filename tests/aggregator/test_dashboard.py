"""The monitoring dashboard's server (the monitoring port) against the real stack on the
simulator, in process: the page is public and carries no secret, its data needs a session or a
key, the WebSocket pushes a new snapshot when the state changes (from the aggregator and the bots'
BotStatus on the bus), the figures match the aggregator's own, /metrics stays open, and generated
hostile requests never get a 5xx."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.cm_harness import API_KEY
from tsxbot.aggregator.dashboard import EquityCurve, _quantiles
from tsxbot.aggregator.latency import RoundTrips
from tsxbot.messages import (
    BotState,
    BotStatus,
    Envelope,
    OrderUpdate,
    PositionUpdate,
    RiskRejection,
    channels,
)
from tsxbot.messages.enums import Side


@pytest.fixture
def backend() -> str:
    return "memory"


@pytest.fixture
async def base(agg: AggHarness) -> str:
    aggregator = await agg.start()
    assert aggregator.monitoring is not None
    aggregator.monitoring.dashboard.push_seconds = 0.05
    return f"http://127.0.0.1:{aggregator.monitoring.port}"


async def test_the_page_is_public_with_a_strict_policy_and_the_data_needs_a_session(
    agg: AggHarness, base: str
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        page = await http.get("/")
        assert page.status_code == 200 and "lightweight-charts" in page.text
        assert API_KEY not in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        lib = await http.get("/static/vendor/lightweight-charts.standalone.production.js")
        assert lib.status_code == 200 and "TradingView Lightweight Charts" in lib.text[:300]
        assert (await http.get("/static/vendor/LICENSE-lightweight-charts")).status_code == 200
        escape = await http.get("/static/%2e%2e/%2e%2e/aggregator/metrics.py")  # out of static/: no
        assert escape.status_code in (403, 404) and "exposition" not in escape.text
        assert (await http.get("/api/dashboard")).status_code == 401
        assert (await http.get("/metrics")).status_code == 200  # Prometheus scrapes without a key
        assert (await http.get("/api/dashboard", headers={"X-API-Key": API_KEY})).status_code == 200


async def test_the_snapshot_matches_the_aggregator_and_the_bots_status(agg: AggHarness, base: str) -> None:
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="d1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    status = BotStatus(
        bot_id="bot_2",
        name="EMA cross",
        strategy="EMA_CROSS",
        symbol="MES",
        state=BotState.RUNNING,
        position=1,
        signals_today=2,
        realized_pnl=-12.5,
        last_signal="09:31 long cross",
        last_skip="09:45 EMA too flat",
        skip_reason="FILTER",
    )
    bus = await agg.client()
    engine = agg.agg.engine
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}, timeout=10) as http:
        snap: dict[str, Any] = {}
        for _ in range(100):  # ephemeral: published until the dashboard's subscription has it
            await bus.publish(channels.bot_status("bot_2"), Envelope.wrap(status, "bot_2"))
            snap = (await http.get("/api/dashboard")).json()
            if next(b for b in snap["bots"] if b["botId"] == "bot_2")["state"] == "RUNNING":
                break
            await asyncio.sleep(0.05)
    bots = {b["botId"]: b for b in snap["bots"]}
    assert bots["bot_2"] | {"stale": None} == bots["bot_2"] | {
        "symbol": "MES",
        "state": "RUNNING",
        "position": 1,
        "realizedPnl": -12.5,
        "signalsToday": 2,
        "signalsLimit": agg.agg.config.bots["bot_2"].config.risk.max_signals_per_day,
        "lastSignal": "09:31 long cross",
        "lastSkip": "09:45 EMA too flat",
        "skipReason": "FILTER",
        "stale": None,
    }
    assert bots["bot_3"]["state"] == "NO STATUS YET"
    assert snap["account"]["balance"] == engine.balance
    assert snap["account"]["open"] == engine.open_pnl
    used = max(0.0, -engine.daily_pnl)
    assert snap["gauges"]["dailyLoss"]["fraction"] == pytest.approx(min(1.0, used / 1000.0))
    room = engine.equity - engine.drawdown_floor
    limit = agg.agg.risk_settings.max_drawdown
    assert snap["gauges"]["maxLoss"]["fraction"] == pytest.approx(min(1.0, max(0.0, (limit - room) / limit)))
    assert [(p["botId"], p["symbol"], p["quantity"]) for p in snap["positions"]["perBot"]] == [
        ("bot_2", "MES", 1)
    ]
    assert len(snap["workingOrders"]) == 2 and {o["botId"] for o in snap["workingOrders"]} == {"bot_2"}
    assert snap["tradingState"] == "ACTIVE" and snap["why"] == {}
    assert snap["equityCurve"] and snap["equityCurve"][-1]["value"] == pytest.approx(engine.equity)
    assert {c["name"] for c in snap["connections"]} >= {"aggregator", "bus (Redis or in-process)"}


async def test_live_updates_over_the_websocket_with_a_session_and_not_without(
    agg: AggHarness, base: str
) -> None:
    port = base.rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as anonymous:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.ws_connect(f"{base}/ws")
        assert refused.value.status == 401
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:  # an IP host
        login = await browser.post(f"{base}/auth/login", json={"key": API_KEY})
        assert login.status == 200
        with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
            await browser.ws_connect(f"{base}/ws", headers={"Origin": "http://evil.example"})
        assert foreign.value.status == 403
        ws = await browser.ws_connect(f"{base}/ws", headers={"Origin": f"http://127.0.0.1:{port}"})
        first = json.loads((await ws.receive(timeout=10)).data)
        assert first["type"] == "snapshot" and first["data"]["tradingState"] == "ACTIVE"
        # Halt through the API (another process's view): the page hears of it without asking.
        async with httpx.AsyncClient(timeout=10) as api:
            assert agg.agg.api is not None
            halted = await api.post(
                f"http://127.0.0.1:{agg.agg.api.port}/halt",
                headers={"X-API-Key": API_KEY},
                json={"requestedBy": "ops", "reason": "news"},
            )
            assert halted.status_code == 200
        for _ in range(50):
            update = json.loads((await ws.receive(timeout=10)).data)["data"]
            if update["tradingState"] == "HALTED":
                break
        assert update["tradingState"] == "HALTED"
        assert "halted by ops: news" in " ".join(update["why"].values())
        assert "HALT" in [e["kind"] for e in update["riskEvents"]]
        await ws.close()


def test_equity_curve_keeps_one_point_a_second_and_restarts_each_day() -> None:
    curve = EquityCurve(limit=4)
    day = dt.date(2026, 11, 24)
    t0 = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC)
    for i, equity in enumerate([100.0, 101.0, 99.0]):
        curve.add(day, t0 + dt.timedelta(seconds=i), equity)
    curve.add(day, t0 + dt.timedelta(seconds=2, milliseconds=500), 98.0)  # same second: replaced
    start = int(t0.timestamp())
    assert curve.points == [(start, 100.0), (start + 1, 101.0), (start + 2, 98.0)]
    curve.add(day, t0 + dt.timedelta(seconds=3), 97.0)
    curve.add(day, t0 + dt.timedelta(seconds=4), 96.0)  # over the limit: every other point kept
    assert curve.points == [(start, 100.0), (start + 2, 98.0), (start + 4, 96.0)]
    curve.add(dt.date(2026, 11, 25), t0 + dt.timedelta(days=1), 50.0)
    assert curve.points == [(start + 86400, 50.0)]


def test_latency_quantiles_against_a_plain_reference() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100: nearest-rank p50 = 50, p99 = 99
    assert _quantiles(values) == {"p50": 50.0, "p99": 99.0, "count": 100}
    assert _quantiles([]) == {"p50": None, "p99": None, "count": 0}
    assert _quantiles([3.0]) == {"p50": 3.0, "p99": 3.0, "count": 1}


def test_round_trips_count_the_first_answer_only_and_keep_a_recent_window() -> None:
    trips = RoundTrips(window=3)
    trips.received("a", at=10.0)
    trips.answered("a", at=10.25)  # the placement ack
    trips.answered("a", at=11.0)  # its order update: not a second round trip
    trips.received("b", at=20.0)
    trips.forget("b")  # refused at the exchange: no answer worth timing
    trips.answered("b", at=21.0)
    trips.answered("never-received", at=1.0)
    assert list(trips.seconds) == [0.25] and trips.pending == 0
    for i in range(4):
        trips.received(f"k{i}", at=float(i))
        trips.answered(f"k{i}", at=i + 0.5 + i)
    assert list(trips.seconds) == [1.5, 2.5, 3.5]  # the window: the last three


async def test_the_round_trip_from_submission_to_the_exchanges_answer_is_shown(
    agg: AggHarness, base: str
) -> None:
    """Each accepted submission's round trip (received -> the connection manager's placement ack
    or order update) is in the snapshot and /metrics, within the wall time the test saw around
    it; a refused one adds none."""
    mark = await agg.wait_mark()
    seen: list[float] = []
    for n in range(3):
        started = time.perf_counter()
        buy = n % 2 == 0
        await agg.submit(
            "bot_2",
            order_id=f"rt{n}",
            side=Side.BUY if buy else Side.SELL,
            stop_loss=mark - 4.0 if buy else mark + 4.0,
            take_profit=mark + 12.0 if buy else mark - 12.0,
        )
        await agg.wait_for("bot_2", OrderUpdate, lambda u, n=n: u.order_id == f"rt{n}")
        seen.append(time.perf_counter() - started)
    await agg.submit("bot_2", order_id="rt-refused", quantity=50, stop_loss=mark - 4.0)  # > maxOrderSize
    await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "rt-refused")
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}, timeout=10) as http:
        trip = (await http.get("/api/dashboard")).json()["latency"]["roundTripSeconds"]
        metrics = (await http.get("/metrics")).text
    assert trip["count"] == 3, trip
    assert 0 < trip["p50"] <= trip["p99"] <= max(seen), (trip, seen)
    assert "tsxbot_aggregator_round_trip_seconds_count 3" in metrics


def _fuzz(base: str, tally: dict[int, int]) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:

        @settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(
            st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD"]),
            st.sampled_from(
                ["/", "/api/dashboard", "/ws", "/metrics", "/static/", "/static/x", "/auth/session"]
            )
            | st.text(alphabet="/abcdefgh.%?=&", min_size=1, max_size=30).map(lambda p: "/" + p),
            st.binary(max_size=100),
            st.dictionaries(
                st.sampled_from(["X-API-Key", "X-CSRF-Token", "Upgrade", "Origin", "Cookie"]),
                st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
                max_size=3,
            ),
        )
        def one(method: str, path: str, body: bytes, headers: dict[str, str]) -> None:
            response = http.request(method, path, content=body, headers=headers)
            assert response.status_code < 500, (method, path, headers, response.status_code)
            tally[response.status_code] = tally.get(response.status_code, 0) + 1

        one()
        assert http.get("/api/dashboard", headers={"X-API-Key": API_KEY}).status_code == 200


@pytest.mark.slow
async def test_generated_hostile_requests_to_the_monitoring_port_never_get_a_5xx(
    agg: AggHarness, base: str
) -> None:
    tally: dict[int, int] = {}
    await asyncio.wait_for(asyncio.to_thread(_fuzz, base, tally), timeout=240)
    assert tally.get(401, 0) > 10 and tally.get(404, 0) + tally.get(405, 0) > 10, tally


def test_equity_curve_seeded_from_the_journal_keeps_the_points_sampled_since() -> None:
    curve = EquityCurve(limit=10)
    day = dt.date(2026, 11, 24)
    t0 = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.UTC)
    start = int(t0.timestamp())
    curve.add(day, t0 + dt.timedelta(seconds=10), 105.0)
    journaled = [(start, 100.0), (start + 5, 102.0), (start + 5, 103.0), (start + 10, 104.0)]
    curve.seed(day, journaled)  # one point a second (its last row); the sampled one wins
    assert curve.points == [(start, 100.0), (start + 5, 103.0), (start + 10, 105.0)]
    curve.seed(dt.date(2026, 11, 25), [(start + 86400, 90.0)])  # another day: only its rows
    assert curve.points == [(start + 86400, 90.0)]


async def test_after_a_restart_the_equity_curve_comes_back_from_the_journal(
    agg: AggHarness, tmp_path: Path
) -> None:
    """A trade journaled by the first run; the second run's curve starts with the day's journaled
    account rows (read here with plain sqlite3), then its own samples."""
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    first = await agg.start(journal_url=url)
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="e1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    await agg.submit("bot_2", order_id="e2", side=Side.SELL)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    day = first.current_trading_day
    assert day is not None
    await first.stop()
    with contextlib.closing(sqlite3.connect(tmp_path / "journal.db")) as db:
        rows = db.execute(
            "SELECT ts_ns, equity FROM account_history WHERE trading_day = ? ORDER BY ts_ns, id",
            (day.isoformat(),),
        ).fetchall()
    assert len(rows) >= 2  # the balance before and after the trade at least
    per_second: dict[int, float] = {}
    for ts, equity in rows:  # a second's last row
        per_second[ts // 1_000_000_000] = equity
    journaled = sorted(per_second.items())

    second = await agg.start_aggregator(journal_url=url, state_key="no-snapshot")
    assert second.monitoring is not None
    dashboard = second.monitoring.dashboard
    await eventually(lambda: dashboard._seeded, within=15, what="the curve seeded from the journal")
    before = [p for p in dashboard.equity.points if p[0] < journaled[-1][0]]
    assert before == [p for p in journaled if p[0] < journaled[-1][0]]
    assert dashboard.equity.points[-1][0] >= journaled[-1][0]
