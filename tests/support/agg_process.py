"""``tsxbot aggregator`` as its own process over Redis, beside a test's in-process connection
manager (``AggHarness``): the same namespace, the manager's API (where it asks which account to
trade) and the manager's API key, free ports for its own API and monitoring."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.cm_harness import API_KEY
from support.processes import clean_env, start
from support.redis_server import free_port
from tsxbot.messages import PositionUpdate, RiskRejection

KEY = API_KEY  # one key for the manager and the aggregator, as `tsxbot run-all` has it


@dataclass
class AggProcess:
    """Starts ``tsxbot aggregator`` (again) with the same ports; its journal is the default
    ``tsxbot-journal.db`` in ``tmp_path``."""

    tmp_path: Path
    redis_url: str
    h: AggHarness
    overrides: tuple[str, ...] = ()
    api_port: int = field(default_factory=free_port)
    monitoring_port: int = field(default_factory=free_port)

    def start(self) -> subprocess.Popen[str]:
        sets = [
            f"bus.namespace={self.h.cm.namespace}",
            f"system.logDir={self.tmp_path / 'logs'}",
            f"services.aggregator.apiPort={self.api_port}",
            f"services.aggregator.monitoringPort={self.monitoring_port}",
            f"services.connectionManager.port={self.h.cm.managers[0].api.port}",
            *self.overrides,
        ]
        return start(
            "aggregator",
            "--redis",
            self.redis_url,
            *(arg for value in sets for arg in ("--set", value)),
            cwd=self.tmp_path,
            env=clean_env(TSXBOT_API_KEY=KEY),
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


async def enter(
    h: AggHarness,
    process: subprocess.Popen[str],
    filled: Callable[[PositionUpdate], bool] = lambda p: p.net_quantity == 1,
    bot: str = "bot_2",
) -> str:
    """``bot`` buys 1 with a bracket once the process takes orders (until its first quote after a
    start it has no exchange clock or price and refuses): returns the order id that filled, once
    the bot's position is ``filled``."""
    for attempt in range(40):
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        order_id = f"e{uuid.uuid4().hex[:8]}-{attempt}"
        await h.submit(bot, order_id=order_id, stop_loss_ticks=16, take_profit_ticks=48)

        def answered(oid: str = order_id) -> bool:
            refused = h.of(bot, RiskRejection, lambda r: r.order_id == oid)
            return bool(h.of(bot, PositionUpdate, filled)) or bool(refused)

        try:
            await eventually(answered, within=5)
        except AssertionError:
            continue
        if h.of(bot, PositionUpdate, filled):
            return order_id
        await asyncio.sleep(0.3)
    raise AssertionError(f"the aggregator process never took an order: {h.received}")
