"""A notifier on the in-process bus with a real aggregator (its API) and every channel pointed
at the local chat services' server, on a clock the test moves."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

from support.alerts_setup import API_KEY, alerts_config
from support.bus_helpers import bus_config
from support.chat_servers import ChatServers
from support.redis_server import free_port
from tsxbot.aggregator import Aggregator
from tsxbot.alerts.factory import build_alerts
from tsxbot.alerts.service import AlertService
from tsxbot.bus import MessageBus, create_bus
from tsxbot.config import Config
from tsxbot.config.secrets import Secret
from tsxbot.messages import Envelope, Fill, Side, channels

# Tuesday 2026-11-24, 15:59:58 Chicago: two seconds before the session close.
BEFORE_CLOSE = dt.datetime(2026, 11, 24, 21, 59, 58, tzinfo=dt.UTC)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def fill(i: int, pnl: float | None = None) -> Envelope[Fill]:
    return Envelope.wrap(
        Fill(
            fill_id=i, exchange_order_id=9000 + i, account_id=1001, contract_id="CON.F.US.MES.Z26",
            side=Side.BUY if i % 2 else Side.SELL, quantity=1, price=5000.25, timestamp=BEFORE_CLOSE,
            fees=0.74, realized_pnl=pnl, bot_id="bot_2", symbol="MES",
        ),
        "connection-manager",
    )  # fmt: skip


class Rig:
    def __init__(
        self, config: Config, bus: MessageBus, agg: Aggregator, alerts: AlertService, clock: Clock
    ) -> None:
        self.config, self.bus, self.agg, self.alerts, self.clock = config, bus, agg, alerts, clock

    async def publish(self, channel: channels.Channel, envelope: Envelope) -> None:  # type: ignore[type-arg]
        await self.bus.publish(channel, envelope)


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, servers: ChatServers, *extra: str) -> AsyncIterator[Rig]:
    # No connection manager here: the aggregator's port for it is a free one nobody listens on
    # (never the default 7500, where a running tsxbot may be).
    no_manager = f"services.connectionManager.port={free_port()}"
    config = alerts_config(
        tmp_path, servers, "aggregator.circuitBreakerCount=1", "risk.flattenAt=null", no_manager, *extra
    )
    clock = Clock(BEFORE_CLOSE)
    bus = create_bus(bus_config("memory", "redis://127.0.0.1:1/0", "alerts"), client_name="test")
    await bus.start()
    agg = Aggregator(config, bus, clock=clock, api_key=Secret(API_KEY), api_port=0, monitoring_port=0)
    await agg.start()
    assert agg.api is not None
    api = agg.api
    alerts = build_alerts(config, bus, clock, lambda: f"http://127.0.0.1:{api.port}")
    assert alerts is not None
    await alerts.start()
    try:
        yield Rig(config, bus, agg, alerts, clock)
    finally:
        await alerts.stop()
        await agg.stop()
        await bus.close(flush_seconds=1.0)
