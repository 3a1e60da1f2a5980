"""The order round trip over Redis as users deploy it: every service its own process.

A redis-server of its own on a free port; ``tsxbot sim`` (its time pinned), ``tsxbot
connection-manager --redis URL`` and ``tsxbot aggregator --redis URL`` as processes; this process
is the bot: it publishes a submission on ``aggregator:orders`` and times it until the ``Fill``
arrives on ``bot:bot_2:orders`` (bot -> aggregator -> connection manager -> REST ``Order/place``
-> simulator -> user hub -> connection manager -> aggregator -> bot). Orders alternate an entry
with its bracket (ticks) and its exit, as in ``test_bench_aggregator.py``, whose one-process
figure is the other layout. The children import the same ``tsxbot`` as this process
(``PYTHONPATH``), so pointing it at another checkout measures that one. Figures: BENCHMARKS.md
("Trading aggregator", "the Redis hop")."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tsxbot
from support.cm_harness import API_KEY
from support.processes import PINNED, clean_env, running, wait_http
from support.redis_server import free_port, redis_server
from tsxbot.bus import Message, RedisBus, Subscription
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import Envelope, Fill, OrderSubmission, PositionUpdate, RiskRejection, Side, channels

ORDERS = 40
BOT = "bot_2"
# No pacing or order-rate limit in the way of what is measured (as test_bench_aggregator.FAST).
FAST = (
    "risk.maxOrdersPerMinute=1000000000",
    "aggregator.commandsPerSecond=100000",
    "aggregator.commandBurst=100000",
    "aggregator.maxQueueSize=1000000",
)
# Measured median on the 2-core machine (BENCHMARKS.md); the gate is about 10x.
ROUND_TRIP_MS = 8.0


def _sets(*values: str) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


@contextlib.contextmanager
def services(tmp_path: Path, url: str) -> Iterator[None]:
    """The simulator, the connection manager and the aggregator, each a process; all killed on
    the way out whatever happened."""
    sim_port, cm_port, agg_port, monitoring_port = (free_port() for _ in range(4))
    env = clean_env(TSXBOT_API_KEY=API_KEY, PYTHONPATH=str(Path(tsxbot.__file__).parents[1]))
    logs = f"system.logDir={tmp_path / 'logs'}"
    common = _sets(logs, f"simulator.port={sim_port}", *FAST)
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(
            running("sim", "--port", str(sim_port), *PINNED, *_sets(logs), cwd=tmp_path, env=env)
        )
        wait_http(f"http://127.0.0.1:{sim_port}/health", sim)
        cm = stack.enter_context(
            running(
                "connection-manager", "--redis", url, "--port", str(cm_port), *common, cwd=tmp_path, env=env
            )
        )
        wait_http(f"http://127.0.0.1:{cm_port}/health", cm, headers={"X-API-Key": API_KEY})
        agg = stack.enter_context(
            running(
                "aggregator",
                "--redis",
                url,
                *common,
                *_sets(
                    f"services.connectionManager.port={cm_port}",
                    f"services.aggregator.apiPort={agg_port}",
                    f"services.aggregator.monitoringPort={monitoring_port}",
                ),
                cwd=tmp_path,
                env=env,
            )
        )
        wait_http(f"http://127.0.0.1:{agg_port}/health", agg, headers={"X-API-Key": API_KEY})
        yield


class Bot:
    """The bot's side: publishes submissions, collects what arrives on ``bot:bot_2:orders``."""

    def __init__(self, bus: RedisBus, sub: Subscription) -> None:
        self.bus, self.sub = bus, sub
        self.received: list[Any] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        message: Message
        async for message in self.sub:
            self.received.append(message.envelope.payload)
            self.arrived.set()
            await message.ack()

    def count(self, kind: type[Any]) -> int:
        return sum(isinstance(p, kind) for p in self.received)

    async def until(self, done: Any, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not done():
                self.arrived.clear()
                await self.arrived.wait()

    async def submit(self, order_id: str, entry: bool) -> None:
        bracket: dict[str, Any] = {"stop_loss_ticks": 16, "take_profit_ticks": 48}
        fields: dict[str, Any] = {"side": Side.BUY, **bracket} if entry else {"side": Side.SELL}
        submission = OrderSubmission(order_id=order_id, symbol="MES", quantity=1, **fields)
        await self.bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(submission, BOT))

    def flat(self) -> bool | None:
        positions = [p for p in self.received if isinstance(p, PositionUpdate)]
        return positions[-1].net_quantity == 0 if positions else None


async def round_trips(bot: Bot) -> tuple[list[float], list[float], float]:
    # Until the aggregator has a quote (before it, it refuses: no price to check against).
    for attempt in range(100):
        before, refused = bot.count(Fill), bot.count(RiskRejection)
        await bot.submit(f"warm{attempt}", entry=True)
        await bot.until(lambda b=before, r=refused: bot.count(Fill) > b or bot.count(RiskRejection) > r)
        if bot.count(Fill) > before:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the aggregator refused every warm-up order")
    await bot.until(lambda: bot.flat() is False)
    await bot.submit("warm-exit", entry=False)
    await bot.until(lambda: bot.flat() is True)
    entries: list[float] = []
    exits: list[float] = []
    cpu = time.process_time()
    for i in range(ORDERS):
        entry = i % 2 == 0
        before = bot.count(Fill)
        start = time.perf_counter()
        await bot.submit(f"lat{i}", entry)
        await bot.until(lambda b=before: bot.count(Fill) > b)
        (entries if entry else exits).append((time.perf_counter() - start) * 1000)
        await bot.until(lambda flat=not entry: bot.flat() is flat)
        await asyncio.sleep(0.02)
    return entries, exits, (time.process_time() - cpu) * 1000 / ORDERS


@pytest.mark.slow
async def test_submission_to_fill_at_the_bot_each_service_a_process(tmp_path: Path) -> None:
    with redis_server(private=True) as server, services(tmp_path, server.url):
        bus = RedisBus(BusConfig(backend="redis", redis_url=server.url), client_name="bench-bot")
        await bus.start()
        bot = Bot(bus, await bus.subscribe(channels.bot_orders(BOT), group=BOT))
        try:
            entries, exits, cpu_ms = await round_trips(bot)
        finally:
            bot.task.cancel()
            await bot.sub.close()
            await bus.close(flush_seconds=2)
    everything = sorted(entries + exits)
    median = statistics.median(everything)
    load = os.getloadavg()[0]
    print(
        f"\nsubmission->fill at the bot over Redis, each service a process: median {median:.2f} ms "
        f"(entries {statistics.median(entries):.2f}, exits {statistics.median(exits):.2f}), "
        f"p95 {everything[int(len(everything) * 0.95) - 1]:.2f}, max {everything[-1]:.2f} ms "
        f"({ORDERS} orders); the bot's CPU {cpu_ms:.2f} ms per order; load {load:.2f}; "
        f"tsxbot from {Path(tsxbot.__file__).parents[1]}"
    )
    assert median < 10 * ROUND_TRIP_MS
