"""The notifier's cost on the bus path: one fill message through the consumer (translate to
alerts, count for the summary, route, queue on four channels). Sending is on other tasks and not
in it. Figures: BENCHMARKS.md; the gate has about 10x headroom."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import httpx
from pytest_benchmark.fixture import BenchmarkFixture

from tsxbot.alerts.aggregator_client import AggregatorClient
from tsxbot.alerts.events import Alert
from tsxbot.alerts.outbox import Outbox
from tsxbot.alerts.service import AlertService, Route
from tsxbot.alerts.transports import Transport
from tsxbot.bus import MemoryBus, Message
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.config.alerts import RouteConfig
from tsxbot.config.global_config import BusConfig
from tsxbot.config.secrets import Secret
from tsxbot.messages import Envelope, Fill, Side, channels

N = 1000
AT = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
# Measured 31-39 us a fill (1.5 alerts on average, four channels) with the machine loaded; ~10x.
GATE_PER_FILL_S = 400e-6


class Nowhere(Transport):
    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, alerts: Sequence[Alert]) -> None:  # never called: no sender task runs
        raise AssertionError("not sending in a benchmark")


def test_a_fill_through_the_consumer(benchmark: BenchmarkFixture) -> None:
    config = load_config(
        DEFAULTS_DIR, overrides=["alerts.enabled=true", "alerts.webhook.enabled=true"], env={}
    )
    routes = [
        Route(Outbox(Nowhere(name), capacity=10**7), RouteConfig(enabled=True, min_level="DEBUG"))
        for name in ("telegram:1", "discord", "slack", "webhook")
    ]
    http = httpx.AsyncClient()
    service = AlertService(
        config.global_config.alerts,
        MemoryBus(BusConfig()),
        routes,
        http,
        AggregatorClient(http, lambda: "http://127.0.0.1:1", Secret("k")),
        bot_ids=[],
        clock=lambda: AT,
    )

    def fill(i: int) -> Fill:
        return Fill(
            fill_id=i, exchange_order_id=i, account_id=1001, contract_id="CON.F.US.MES.Z26",
            side=Side.BUY, quantity=1, price=5000.25, timestamp=AT, fees=0.74,
            realized_pnl=12.5 if i % 2 else None, bot_id="bot_2", symbol="MES",
        )  # fmt: skip

    messages = [Message(channels.CM_FILLS, Envelope.wrap(fill(i), "connection-manager")) for i in range(N)]

    def consume() -> None:
        for message in messages:
            service.dispatch(service.translator.translate(message, 0.0))

    benchmark.pedantic(consume, rounds=30, iterations=1, warmup_rounds=2)
    per_fill = benchmark.stats.stats.median / N
    benchmark.extra_info["per_fill_us"] = round(per_fill * 1e6, 2)
    assert routes[0].outbox.pending >= N  # every fill queued (and its closed trade: half of them)
    assert per_fill < GATE_PER_FILL_S, f"{per_fill * 1e6:.1f} us a fill"
