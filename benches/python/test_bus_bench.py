"""Message bus benchmarks, CI gates with ~10x headroom under the figures in BENCHMARKS.md.

    .venv/bin/pytest benches/python/test_bus_bench.py -s          # gates, figures printed
    .venv/bin/python benches/python/test_bus_bench.py report      # the BENCHMARKS.md figures

Payload: a QUOTE envelope (297 bytes of JSON), built before the clock starts. In-process it passes
through as an object; over Redis every message is encoded, sent, parsed and decoded.
Over Redis the publisher is a separate process (``... publish URL NAMESPACE COUNT RATE``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tsxbot.bus import MemoryBus, RedisBus
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import AnyEnvelope, Envelope, Quote, channels

MES = channels.market_data("MES")
ORDERS = channels.CM_FILLS
SENT_NS = "sentNs"


def _quote(i: int, *, stamp: bool = False) -> AnyEnvelope:
    payload = Quote(
        symbol="MES",
        contract_id="CON.F.US.MES.Z26",
        timestamp=dt.datetime.now(dt.UTC),
        bid=5000.0 + i % 100,
        ask=5000.25 + i % 100,
        bid_size=10,
        ask_size=12,
        volume=1000 + i,
    )
    return Envelope.wrap(payload, "bench", metadata={SENT_NS: time.monotonic_ns()} if stamp else None)


# -- in-process ----------------------------------------------------------------------------------
async def memory_throughput(count: int, *, durable: bool, batch: bool) -> float:
    """Messages/s, one publisher task to one subscriber on the in-process bus."""
    bus = MemoryBus(BusConfig(consumer_buffer_size=10_000))
    channel = ORDERS if durable else MES
    sub = await bus.subscribe(channel, group="bench" if durable else None)
    envelopes = [_quote(i) for i in range(count if durable else 1000)]

    async def publish() -> None:
        if durable:
            for envelope in envelopes:
                await bus.publish(channel, envelope)
            return
        for _ in range(count // 1000):
            for envelope in envelopes:
                await bus.publish(channel, envelope)
            await asyncio.sleep(0)  # a real producer yields (its socket); the queue holds 10k

    start = time.perf_counter()
    producer = asyncio.create_task(publish())
    received = 0
    if batch:
        while received < count:
            messages = await sub.next_batch(10_000)
            received += len(messages)
            if durable:
                for m in messages:
                    await m.ack()
    else:
        async for m in sub:
            if durable:
                await m.ack()
            received += 1
            if received == count:
                break
    elapsed = time.perf_counter() - start
    await producer
    assert sub.metrics().dropped == 0
    await bus.close()
    return count / elapsed


# -- over Redis ----------------------------------------------------------------------------------
async def _publish_process(url: str, namespace: str, count: int, rate: float, durable: bool) -> None:
    bus = RedisBus(BusConfig(backend="redis", redis_url=url, namespace=namespace))
    await bus.start()
    channel = ORDERS if durable else MES
    if rate <= 0:
        envelopes = [_quote(i) for i in range(count)]
        for i, envelope in enumerate(envelopes):
            await bus.publish(channel, envelope)
            if i % 1000 == 999:
                await asyncio.sleep(0)
    else:
        per_ms = max(1, int(rate / 1000))
        for i in range(0, count, per_ms):
            for j in range(per_ms):
                await bus.publish(channel, _quote(i + j, stamp=True))
            await asyncio.sleep(0.001)
    await bus.flush()
    await bus.close()


def _spawn(url: str, namespace: str, count: int, rate: float, durable: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, "publish", url, namespace, str(count), str(rate), str(int(durable))]
    return subprocess.Popen(args)


async def redis_throughput(url: str, count: int, *, durable: bool) -> tuple[float, int]:
    """Messages/s from the first to the last message received (publisher in another process), and
    how many arrived (ephemeral messages may be dropped by a consumer that cannot keep up)."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    bus = RedisBus(
        BusConfig(backend="redis", redis_url=url, namespace=namespace, consumer_buffer_size=100_000)
    )
    await bus.start()
    sub = await bus.subscribe(ORDERS if durable else MES, group="bench" if durable else None)
    child = _spawn(url, namespace, count, 0, durable)
    received = 0
    first = last = 0.0
    try:
        async with asyncio.timeout(120):
            while received + sub.metrics().dropped < count:
                try:
                    async with asyncio.timeout(5):
                        messages = await sub.next_batch(10_000)
                except TimeoutError:
                    break  # the rest was dropped on the way
                if not first:
                    first = time.perf_counter()
                received += len(messages)
                last = time.perf_counter()
                if durable:
                    await asyncio.gather(*(m.ack() for m in messages))
    finally:
        await asyncio.to_thread(child.wait, 60)
        await bus.close()
    return (received - 1) / (last - first), received


async def redis_latency(url: str, count: int, rate: float) -> tuple[float, float, int]:
    """Publish-to-receive latency between two processes (CLOCK_MONOTONIC is machine-wide):
    median and p99 in microseconds, at a steady ``rate`` messages/s."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    bus = RedisBus(BusConfig(backend="redis", redis_url=url, namespace=namespace))
    await bus.start()
    sub = await bus.subscribe(MES)
    child = _spawn(url, namespace, count, rate, False)
    latencies: list[float] = []
    try:
        async with asyncio.timeout(60):
            while len(latencies) < count:
                try:
                    async with asyncio.timeout(5):
                        messages = await sub.next_batch()
                except TimeoutError:
                    break
                now = time.monotonic_ns()
                latencies.extend((now - int(m.envelope.metadata[SENT_NS] or 0)) / 1000 for m in messages)
    finally:
        await asyncio.to_thread(child.wait, 60)
        await bus.close()
    warm = latencies[len(latencies) // 10 :]  # the first tenth: connections and caches warming up
    return statistics.median(warm), statistics.quantiles(warm, n=100)[98], len(latencies)


# -- CI gates --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from support.redis_server import redis_server

    with redis_server() as server:
        yield server.url


def _rounds(benchmark: Any, fn: Any, rounds: int = 3) -> list[Any]:
    results: list[Any] = []
    benchmark.pedantic(lambda: results.append(asyncio.run(fn())), rounds=rounds, iterations=1)
    return results


def test_in_process_throughput(benchmark: Any) -> None:
    rates = _rounds(benchmark, lambda: memory_throughput(200_000, durable=False, batch=False))
    rate = statistics.median(rates)
    benchmark.extra_info["messages_per_s"] = rate
    print(f"\nin-process ephemeral, async for: {rate:,.0f} msg/s")
    assert rate > 100_000


def test_in_process_durable_throughput(benchmark: Any) -> None:
    rates = _rounds(benchmark, lambda: memory_throughput(100_000, durable=True, batch=True))
    rate = statistics.median(rates)
    benchmark.extra_info["messages_per_s"] = rate
    print(f"\nin-process durable with acks: {rate:,.0f} msg/s")
    assert rate > 15_000


def test_redis_throughput(benchmark: Any, redis_url: str) -> None:
    results = _rounds(benchmark, lambda: redis_throughput(redis_url, 100_000, durable=False))
    rate = statistics.median(r[0] for r in results)
    benchmark.extra_info["messages_per_s"] = rate
    print(f"\nredis ephemeral, two processes: {rate:,.0f} msg/s, received {[r[1] for r in results]}")
    assert rate > 10_000
    assert min(r[1] for r in results) > 90_000


def test_redis_latency_between_two_processes(benchmark: Any, redis_url: str) -> None:
    results = _rounds(benchmark, lambda: redis_latency(redis_url, 5_000, 5_000), rounds=1)
    p50, p99, received = results[0]
    benchmark.extra_info.update(p50_us=p50, p99_us=p99)
    print(f"\nredis latency between two processes: p50 {p50:,.0f} us, p99 {p99:,.0f} us ({received} msgs)")
    assert received == 5_000
    assert p50 < 2_000


# -- the report and the child process ----------------------------------------------------------------
def _report(url: str) -> None:
    def median_of(runs: int, fn: Any) -> Any:
        return statistics.median(asyncio.run(fn()) for _ in range(runs))

    print(
        "in-process ephemeral async for ",
        f"{median_of(5, lambda: memory_throughput(500_000, durable=False, batch=False)):,.0f} msg/s",
    )
    print(
        "in-process ephemeral next_batch",
        f"{median_of(5, lambda: memory_throughput(500_000, durable=False, batch=True)):,.0f} msg/s",
    )
    print(
        "in-process durable + ack       ",
        f"{median_of(5, lambda: memory_throughput(200_000, durable=True, batch=True)):,.0f} msg/s",
    )
    eph = [asyncio.run(redis_throughput(url, 200_000, durable=False)) for _ in range(5)]
    print(
        "redis ephemeral 2 processes    ",
        f"{statistics.median(r[0] for r in eph):,.0f} msg/s",
        [r[1] for r in eph],
    )
    dur = [asyncio.run(redis_throughput(url, 100_000, durable=True)) for _ in range(5)]
    print(
        "redis durable + ack 2 processes",
        f"{statistics.median(r[0] for r in dur):,.0f} msg/s",
        [r[1] for r in dur],
    )
    for rate in (1_000, 5_000, 20_000):
        lat = [asyncio.run(redis_latency(url, rate * 2, rate)) for _ in range(3)]
        p50, p99 = statistics.median(r[0] for r in lat), statistics.median(r[1] for r in lat)
        print(f"redis latency at {rate:>6,} msg/s    p50 {p50:,.0f} us, p99 {p99:,.0f} us")


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        url, namespace, count, rate, durable = sys.argv[2:7]
        asyncio.run(_publish_process(url, namespace, int(count), float(rate), durable == "1"))
    elif sys.argv[1] == "report":
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
        from support.redis_server import redis_server

        with redis_server() as server:
            _report(os.environ.get("BENCH_REDIS_URL", server.url))
