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
import json
import math
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
from tsxbot.bots.service import ORDER_BATCH
from tsxbot.bus import RedisBus, Subscription, ack_all
from tsxbot.bus.resp import RedisAddress, RespConnection
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import (
    BotState,
    BotStatus,
    Envelope,
    Fill,
    OrderSubmission,
    PositionUpdate,
    RiskRejection,
    Side,
    channels,
)

ORDERS = int(os.environ.get("TSXBOT_BENCH_ORDERS", "40"))  # (more to pool; the REST limit allows ~60)
IDLE_SECONDS = 3.0
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def waited_seconds(pid: int) -> float:
    """How long process ``pid``'s main thread has waited, runnable, for a CPU (schedstat; nan
    where the kernel does not keep it)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return math.nan


@contextlib.contextmanager
def services(tmp_path: Path, url: str) -> Iterator[dict[str, int]]:
    """The simulator, the connection manager and the aggregator, each a process (their pids);
    all killed on the way out whatever happened."""
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
        yield {"simulator": sim.pid, "connection manager": cm.pid, "aggregator": agg.pid}


class Bot:
    """The bot's side: publishes submissions, collects what arrives on ``bot:bot_2:orders``. It
    reads as ``BotService._consume_orders`` does (no faster): what has arrived is handled as a
    batch, in order, then acknowledged together, then a status is published."""

    def __init__(self, bus: RedisBus, sub: Subscription) -> None:
        self.bus, self.sub = bus, sub
        self.received: list[Any] = []
        self.fills_at: list[float] = []  # wall clock (the Redis server's) when each Fill arrived
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        while batch := await self.sub.next_batch(ORDER_BATCH):
            for message in batch:
                self.received.append(message.envelope.payload)
                if isinstance(message.envelope.payload, Fill):
                    self.fills_at.append(time.time())
            self.arrived.set()
            await ack_all(batch)
            await self.bus.publish(channels.bot_status(BOT), Envelope.wrap(self.status(), BOT))

    def status(self) -> BotStatus:
        positions = [p for p in self.received if isinstance(p, PositionUpdate)]
        return BotStatus(
            bot_id=BOT,
            name=BOT,
            strategy="bench",
            symbol="MES",
            state=BotState.RUNNING,
            position=positions[-1].net_quantity if positions else 0,
        )

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


class Trip:
    """One measured order: when it was submitted, when its fill reached the bot (wall clock)."""

    def __init__(self, order_id: str, sent: float) -> None:
        self.order_id, self.sent, self.received = order_id, sent, 0.0


async def round_trips(bot: Bot, trips: list[Trip]) -> tuple[list[float], list[float], float]:
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
        trip = Trip(f"lat{i}", time.time())
        start = time.perf_counter()
        await bot.submit(trip.order_id, entry)
        await bot.until(lambda b=before: bot.count(Fill) > b)
        (entries if entry else exits).append((time.perf_counter() - start) * 1000)
        trip.received = bot.fills_at[before]
        trips.append(trip)
        await bot.until(lambda flat=not entry: bot.flat() is flat)
        await asyncio.sleep(0.02)
    return entries, exits, (time.process_time() - cpu) * 1000 / ORDERS


def _append(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(line + "\n")


# The durable streams of the path, in its order: bot -> aggregator -> connection manager ->
# (exchange) -> connection manager -> aggregator -> bot.
HOPS = (
    channels.AGGREGATOR_ORDERS,
    channels.CM_COMMANDS,
    channels.CM_FILLS,
    channels.bot_orders(BOT),
)
MONITOR = "bench-monitor"  # a group that never reads: the trimmer keeps the run's entries


async def watch_streams(url: str) -> None:
    conn = await RespConnection.open(RedisAddress.parse(url), connect_seconds=2)
    try:
        for channel in HOPS:
            await conn.call("XGROUP", "CREATE", f"tsxbot:{channel.name}", MONITOR, "$", "MKSTREAM")
    finally:
        await conn.close()


async def hop_times(url: str, trips: list[Trip]) -> dict[str, float]:
    """Median of each hop over the orders, from the streams' entry ids (the Redis server's clock,
    in whole ms, so each figure is within about 0.5 ms) and this process's wall clock at submit
    and receipt: bot publish -> entry on aggregator:orders -> its command on
    connection-manager:commands -> the fill on connection-manager:fills -> the fill on
    bot:bot_2:orders -> at the bot."""
    conn = await RespConnection.open(RedisAddress.parse(url), connect_seconds=2)
    try:
        streams = {}
        for channel in HOPS:
            entries = await conn.call("XRANGE", f"tsxbot:{channel.name}", "-", "+")
            streams[channel.name] = [
                (int(e[0].split(b"-")[0]), dict(zip(e[1][::2], e[1][1::2], strict=True))) for e in entries
            ]
    finally:
        await conn.close()

    def first_after(name: str, at: float, kind: bytes | None = None) -> float:
        for ms, fields in streams[name]:
            if ms >= at and (kind is None or kind in fields[b"d"][:40]):
                return float(ms)
        raise AssertionError(f"no entry on {name} after {at}")

    hops: dict[str, list[float]] = {}
    for trip in trips:
        submitted = next(
            ms for ms, f in streams[HOPS[0].name] if f'"orderId":"{trip.order_id}"'.encode() in f[b"d"]
        )
        command = first_after(HOPS[1].name, submitted)
        filled = first_after(HOPS[2].name, command)
        at_bot = first_after(HOPS[3].name, filled, b'"FILL"')
        marks = [trip.sent * 1000, submitted, command, filled, at_bot, trip.received * 1000]
        names = ("bot publish", "aggregator", "connection manager + exchange", "aggregator back", "bot read")
        for name, a, b in zip(names, marks, marks[1:], strict=False):
            hops.setdefault(name, []).append(b - a)
    return {name: statistics.median(values) for name, values in hops.items()}


@pytest.mark.slow
async def test_submission_to_fill_at_the_bot_each_service_a_process(tmp_path: Path) -> None:
    with redis_server(private=True) as server, services(tmp_path, server.url) as pids:
        assert server.process is not None
        pids["redis"] = server.process.pid
        bus = RedisBus(BusConfig(backend="redis", redis_url=server.url), client_name="bench-bot")
        await bus.start()
        bot = Bot(bus, await bus.subscribe(channels.bot_orders(BOT), group=BOT))
        trips: list[Trip] = []
        try:
            await watch_streams(server.url)
            idle_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            await asyncio.sleep(IDLE_SECONDS)  # the services' own background (market data...)
            idle = {name: (cpu_seconds(pid) - idle_before[name]) / IDLE_SECONDS for name, pid in pids.items()}
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            waited_before = {name: waited_seconds(pid) for name, pid in pids.items()}
            entries, exits, cpu_ms = await round_trips(bot, trips)
            cpu = {name: (cpu_seconds(pid) - cpu_before[name]) * 1000 / ORDERS for name, pid in pids.items()}
            waited = {
                name: (waited_seconds(pid) - waited_before[name]) * 1000 / ORDERS
                for name, pid in pids.items()
            }
            hops = await hop_times(server.url, trips)
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
        f"tsxbot from {Path(tsxbot.__file__).parents[1]}\n"
        "hops (medians, ms, +-0.5): " + ", ".join(f"{name} {ms:.1f}" for name, ms in hops.items()) + "\n"
        "CPU per order, ms (the 20 ms pause between orders included): "
        + ", ".join(f"{name} {ms:.2f}" for name, ms in cpu.items())
        + "\nwaiting for a CPU per order, ms (runnable, not running: the 2 cores taken): "
        + ", ".join(f"{name} {ms:.2f}" for name, ms in waited.items())
        + "\nCPU share with no orders (of one core): "
        + ", ".join(f"{name} {share:.0%}" for name, share in idle.items())
    )
    if samples := os.environ.get("TSXBOT_BENCH_SAMPLES"):  # every round trip, to pool runs
        await asyncio.to_thread(
            _append,
            Path(samples),
            json.dumps({"load": load, "ms": everything, "cpu": cpu, "waited": waited, "hops": hops}),
        )
    assert median < 10 * ROUND_TRIP_MS
