"""The monitoring port (``services.aggregator.monitoringPort``, 7700): Prometheus text exposition
(format 0.0.4) on ``GET /metrics`` (no key: bind it to localhost): the aggregator's counters, state
and latencies, the bus as this process sees it, and every other service's latest ``Metrics``
(published on ``system:metrics``, so the connection manager's show here in one process or over
Redis); and the monitoring dashboard (``/``, its data behind a session or key: see
``tsxbot.aggregator.dashboard``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from aiohttp import web

from tsxbot.aggregator.dashboard import Dashboard
from tsxbot.log import get_logger
from tsxbot.runtime.auth import Auth, Keyring, reload_keys_on_sighup
from tsxbot.runtime.http import HttpServer
from tsxbot.web import add_page, is_public_page, security_headers

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
    for name, help_text, values in (
        ("submission", "Time to check and queue a submission (recent).", agg.check_seconds),
        (
            "round_trip",
            "From a submission to the connection manager's first answer (ack or order update; recent).",
            agg.round_trips.seconds,
        ),
    ):
        latencies = sorted(values)
        metric(
            f"tsxbot_aggregator_{name}_seconds",
            "summary",
            help_text,
            [({"quantile": str(q)}, _quantile(latencies, q)) for q in (0.5, 0.9, 0.99)],
        )
        lines.append(f"tsxbot_aggregator_{name}_seconds_count {len(latencies)}")
        lines.append(f"tsxbot_aggregator_{name}_seconds_sum {sum(latencies)!r}")
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
    now = agg.monotonic()
    services = sorted(agg.service_metrics.items())
    metric(
        "tsxbot_service_value",
        "gauge",
        "Every other service's counters and gauges, from its latest Metrics on system:metrics.",
        [({"component": c, "name": n}, v) for c, (values, _) in services for n, v in sorted(values.items())],
    )
    metric(
        "tsxbot_service_metrics_age_seconds",
        "gauge",
        "Seconds since each service last published its metrics.",
        [({"component": c}, now - at) for c, (_, at) in services],
    )
    return "\n".join(lines) + "\n"


class MonitoringServer:
    def __init__(self, agg: Aggregator, host: str, port: int) -> None:
        self.agg = agg
        # The API's keys (the same roles on both ports); without an API, only the metrics are open.
        keyring = agg.api.auth.keyring if agg.api is not None else Keyring(None)
        self.auth = Auth(keyring, public=lambda r: r.path == "/metrics" or is_public_page(r))
        self.dashboard = Dashboard(agg)
        app = web.Application(middlewares=[security_headers, self.auth.middleware])
        self.auth.install(app)
        app.router.add_get("/metrics", self.metrics)
        add_page(app, "dashboard")
        self.server = HttpServer(app, host, port, "monitoring")
        self.dashboard.install(app, self.server)

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        reload_keys_on_sighup()
        await self.server.start()
        await self.dashboard.start()

    async def stop(self) -> None:
        await self.dashboard.stop()
        await self.server.stop()

    async def metrics(self, _request: web.Request) -> web.Response:
        return web.Response(text=exposition(self.agg), content_type="text/plain", charset="utf-8")
