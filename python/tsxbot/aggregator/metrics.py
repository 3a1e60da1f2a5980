"""Prometheus text exposition (format 0.0.4) of the aggregator's counters, state and latencies,
and of the bus as this process sees it, on the monitoring port (``GET /metrics``, no key: bind it
to localhost)."""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

from aiohttp import web

from tsxbot.log import get_logger

if TYPE_CHECKING:
    from tsxbot.aggregator.service import Aggregator

log = get_logger("tsxbot.aggregator")
STATE_VALUE = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(agg: Aggregator) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{label_text}}} {value!r}" if label_text else f"{name} {value!r}")

    metric(
        "tsxbot_aggregator_events_total",
        "counter",
        "Aggregator events by kind.",
        [({"kind": k}, float(v)) for k, v in sorted(agg.counters.items())],
    )
    state = agg.account.state_name
    metric(
        "tsxbot_aggregator_trading_state",
        "gauge",
        "0 ACTIVE, 1 REDUCING, 2 HALTED.",
        [({}, STATE_VALUE[state])],
    )
    metric(
        "tsxbot_aggregator_queue_depth", "gauge", "Orders waiting to be sent.", [({}, float(len(agg.queue)))]
    )
    engine = agg.engine
    metric(
        "tsxbot_aggregator_pnl_dollars",
        "gauge",
        "The day's P&L.",
        [
            ({"kind": "daily"}, engine.daily_pnl),
            ({"kind": "realized"}, engine.realized_today),
            ({"kind": "open"}, engine.open_pnl),
            ({"kind": "fees"}, engine.fees_today),
        ],
    )
    metric("tsxbot_aggregator_balance_dollars", "gauge", "Account balance.", [({}, engine.balance)])
    metric(
        "tsxbot_aggregator_drawdown_room_dollars",
        "gauge",
        "Equity above the trailing maximum loss floor.",
        [({}, engine.equity - engine.drawdown_floor)],
    )
    metric(
        "tsxbot_aggregator_exposure_minis",
        "gauge",
        "Open contracts in mini-equivalents.",
        [({}, engine.exposure)],
    )
    metric(
        "tsxbot_aggregator_working_orders",
        "gauge",
        "Orders working at the exchange.",
        [({}, float(engine.working_orders))],
    )
    positions = [
        ({"bot": bot or "UNATTRIBUTED", "symbol": symbol}, float(p.quantity))
        for bot, symbol, p in agg.positions.items()
    ]
    metric("tsxbot_aggregator_position_contracts", "gauge", "Signed position per bot and symbol.", positions)
    latencies = sorted(agg.check_seconds)
    metric(
        "tsxbot_aggregator_submission_seconds",
        "summary",
        "Time to check and queue a submission (recent).",
        [({"quantile": str(q)}, _quantile(latencies, q)) for q in (0.5, 0.9, 0.99)],
    )
    lines.append(f"tsxbot_aggregator_submission_seconds_count {len(latencies)}")
    lines.append(f"tsxbot_aggregator_submission_seconds_sum {sum(latencies)!r}")
    bus = agg.bus.metrics()
    metric(
        "tsxbot_bus_connected", "gauge", "1 when the bus is connected.", [({}, 1.0 if bus.connected else 0.0)]
    )
    subs = []
    for sub in bus.subscriptions:
        subs.append(({"subscription": sub.name, "kind": "depth"}, float(sub.depth)))
        subs.append(({"subscription": sub.name, "kind": "received"}, float(sub.received)))
        subs.append(({"subscription": sub.name, "kind": "dropped"}, float(sub.dropped)))
    metric("tsxbot_bus_subscription", "gauge", "This process's bus subscriptions.", subs)
    return "\n".join(lines) + "\n"


class MonitoringServer:
    def __init__(self, agg: Aggregator, host: str, port: int) -> None:
        self.agg = agg
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        log.info("monitoring listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None

    async def metrics(self, _request: web.Request) -> web.Response:
        return web.Response(text=exposition(self.agg), content_type="text/plain", charset="utf-8")
