"""The monitoring dashboard's data (served on the monitoring port with ``/metrics``): one
snapshot of the account, risk, bots, positions, orders, risk events, queue, connections and the
day's equity curve, built from the aggregator's state and the bots' ``BotStatus`` on the bus, and
pushed to every WebSocket client when it changes (at most ``PUSH_SECONDS`` apart)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from tsxbot.bus import Subscription
from tsxbot.log import get_logger
from tsxbot.messages import BotStatus, channels
from tsxbot.runtime.http import HttpServer, broadcast, json_response, stream_queue

if TYPE_CHECKING:
    from tsxbot.aggregator.service import Aggregator

log = get_logger("tsxbot.aggregator.dashboard")
PUSH_SECONDS = 0.5
# A day's curve in at most this many points (one a second, every other one dropped when full: a
# 23-hour session ends at about one a minute), so each push stays small.
EQUITY_POINTS = 2_000
RISK_EVENTS_SHOWN = 50
CLIENT_QUEUE = 8
SERVICE_STALE_SECONDS = 20.0


def _fraction(used: float, limit: float) -> float:
    return 0.0 if limit <= 0 else min(1.0, max(0.0, used / limit))


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]

    return {"p50": at(0.5), "p99": at(0.99), "count": len(ordered)}


class EquityCurve:
    """The day's equity (exchange time, one point a second at most), reset when the day rolls."""

    def __init__(self, limit: int = EQUITY_POINTS) -> None:
        self.limit = limit
        self.day: dt.date | None = None
        self.points: list[tuple[int, float]] = []

    def add(self, day: dt.date | None, when: dt.datetime, equity: float) -> None:
        if day != self.day:
            self.day, self.points = day, []
        second = int(when.timestamp())
        if self.points and self.points[-1][0] >= second:
            self.points[-1] = (self.points[-1][0], equity)
            return
        self.points.append((second, equity))
        if len(self.points) > self.limit:
            self.points = self.points[::2]

    def seed(self, day: dt.date, journaled: list[tuple[int, float]]) -> None:
        """The day's points from the journal (after a restart), before the ones sampled since."""
        since = self.points if self.day == day else []
        first = since[0][0] if since else None
        # One point a second (the chart needs strictly rising times): a second's last row.
        earlier = sorted({t: v for t, v in journaled if first is None or t < first}.items())
        self.day, self.points = day, earlier + since
        while len(self.points) > self.limit:
            self.points = self.points[::2]


class Dashboard:
    def __init__(self, agg: Aggregator, push_seconds: float = PUSH_SECONDS) -> None:
        self.agg = agg
        self.push_seconds = push_seconds
        self.bot_status: dict[str, BotStatus] = {}
        self.equity = EquityCurve()
        self._seeded = False
        self._seeding = False
        self._clients: set[asyncio.Queue[bytes]] = set()
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._server: HttpServer | None = None

    def install(self, app: web.Application, server: HttpServer) -> None:
        self._server = server
        app.router.add_get("/api/dashboard", self.snapshot_handler)
        app.router.add_get("/ws", self.stream)

    async def start(self) -> None:
        bots = [b.id for b in self.agg.config.enabled_bots]
        if bots:
            self._subscription = await self.agg.bus.subscribe([channels.bot_status(b) for b in bots])
            self._tasks.append(asyncio.create_task(self._consume(self._subscription), name="dashboard-bots"))
        self._tasks.append(asyncio.create_task(self._push_loop(), name="dashboard-push"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.close()
            self._subscription = None

    async def _consume(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, BotStatus):
                self.bot_status[payload.bot_id] = payload

    def sample_equity(self) -> None:
        agg = self.agg
        if agg.clock_known():
            self.equity.add(agg.current_trading_day, agg.clock(), agg.engine.equity)

    async def seed_equity(self) -> None:
        """Once the trading day is known: the day's curve so far from the journal's account rows
        (each balance change and peak rise), so a restart does not start the curve afresh."""
        agg = self.agg
        day = agg.current_trading_day
        if self._seeded or self._seeding or agg.journal is None or day is None or not agg.clock_known():
            return
        # Seeded once the points are in (a reader of ``_seeded`` then sees them); a failed read
        # is tried again at the next sample.
        self._seeding = True
        try:
            rows = await asyncio.to_thread(agg.journal.store.account_day, agg.account_id, day.isoformat())
            self.equity.seed(day, [(r.ts_ns // 1_000_000_000, r.equity) for r in rows])
            self._seeded = True
        finally:
            self._seeding = False

    async def _push_loop(self) -> None:
        """Samples the equity curve, and builds and pushes a snapshot only while a page watches."""
        last = b""
        while True:
            try:
                await self.seed_equity()
                self.sample_equity()
                data = (
                    msgspec.json.encode({"type": "snapshot", "data": self.snapshot()})
                    if self._clients
                    else b""
                )
            except Exception as exc:  # the page must never take the aggregator down
                log.warning("dashboard snapshot failed", error=repr(exc))
            else:
                if data and data != last:
                    last = data
                    broadcast(self._clients, data)  # a slow client only misses stale snapshots
            await asyncio.sleep(self.push_seconds)

    # --- the snapshot -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        agg = self.agg
        engine = agg.engine
        risk = agg.risk_settings
        now = agg.clock() if agg.clock_known() else None
        self.sample_equity()
        room = engine.equity - engine.drawdown_floor
        daily_used = max(0.0, -engine.daily_pnl)
        status = agg.status()
        return {
            "exchangeTime": now.isoformat() if now is not None else None,
            "tradingDay": status["tradingDay"],
            "account": {
                "accountId": agg.account_id,
                "balance": engine.balance,
                "equity": engine.equity,
                "realized": engine.realized_today,
                "open": engine.open_pnl,
                "fees": engine.fees_today,
                "daily": engine.daily_pnl,
            },
            "tradingState": status["tradingState"],
            "why": status["why"],
            "gauges": {
                "dailyLoss": {
                    "used": daily_used,
                    "limit": risk.max_daily_loss,
                    "fraction": _fraction(daily_used, risk.max_daily_loss),
                },
                "maxLoss": {
                    "room": room,
                    "limit": risk.max_drawdown,
                    "floor": engine.drawdown_floor,
                    "fraction": _fraction(risk.max_drawdown - room, risk.max_drawdown),
                },
            },
            "bots": self._bots(),
            "positions": agg.positions_view(),
            "workingOrders": [msgspec.to_builtins(u) for u in agg.working.all()],
            "riskEvents": [e.to_json() for e in list(agg.account.events)[-RISK_EVENTS_SHOWN:]][::-1],
            "queue": {"depth": len(agg.queue), "limit": agg.settings.max_queue_size},
            "connections": self._connections(),
            "latency": {
                "submissionSeconds": _quantiles(list(agg.check_seconds)),
                "roundTripSeconds": _quantiles(list(agg.round_trips.seconds)),
            },
            "counters": status["counters"],
            "equityCurve": [{"time": t, "value": v} for t, v in self.equity.points],
        }

    def _bots(self) -> list[dict[str, Any]]:
        registry = {r["botId"]: r for r in self.agg.registry.view(self.agg.monotonic())}
        rows = []
        for bot in self.agg.config.enabled_bots:
            seen = registry.get(bot.id, {})
            status = self.bot_status.get(bot.id)
            rows.append(
                {
                    "botId": bot.id,
                    "symbol": bot.instrument.symbol,
                    "strategy": bot.config.strategy.type,
                    "state": status.state.value if status else "NO STATUS YET",
                    "paused": seen.get("paused", False),
                    "pauseReason": seen.get("pauseReason"),
                    "stale": seen.get("stale", True),
                    "position": self.agg.positions.quantity(bot.id, bot.instrument.symbol),
                    "realizedPnl": status.realized_pnl if status else None,
                    "openPnl": status.open_pnl if status else None,
                    "signalsToday": status.signals_today if status else 0,
                    "signalsLimit": bot.config.risk.max_signals_per_day,
                    "lastSignal": status.last_signal if status else None,
                    "lastSkip": status.last_skip if status else None,
                    "skipReason": status.skip_reason if status else None,
                    "recentSkips": list(status.recent_skips[-3:]) if status else [],
                }
            )
        return rows

    def _connections(self) -> list[dict[str, Any]]:
        agg = self.agg
        now = agg.monotonic()
        bus = agg.bus.metrics()
        rows: list[dict[str, Any]] = [
            {"name": "aggregator", "ok": agg.healthy, "detail": "this process"},
            {
                "name": "bus (Redis or in-process)",
                "ok": bus.connected,
                "detail": f"reconnects {bus.reconnects}",
            },
        ]
        for component, (values, at) in sorted(agg.service_metrics.items()):
            age = now - at
            healthy = values.get("healthy", 1.0) >= 1.0
            rows.append(
                {
                    "name": component,
                    "ok": healthy and age <= SERVICE_STALE_SECONDS,
                    "detail": f"metrics {age:.0f} s ago" + ("" if healthy else ", reports unhealthy"),
                }
            )
            hubs = sorted({k.split(".")[1] for k in values if k.startswith("hubs.")})
            for hub in hubs:
                rows.append(
                    {
                        "name": f"{component} {hub} hub",
                        "ok": healthy and age <= SERVICE_STALE_SECONDS,
                        "detail": f"connects {values.get(f'hubs.{hub}.connects', 0):.0f}",
                    }
                )
        return rows

    # --- HTTP -------------------------------------------------------------------------------------

    async def snapshot_handler(self, _request: web.Request) -> web.Response:
        return json_response(self.snapshot())

    async def stream(self, request: web.Request) -> web.StreamResponse:
        assert self._server is not None
        first = msgspec.json.encode({"type": "snapshot", "data": self.snapshot()})
        return await stream_queue(request, self._server, self._clients, CLIENT_QUEUE, first)
