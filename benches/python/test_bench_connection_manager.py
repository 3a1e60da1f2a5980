"""The order path through the connection manager: a PlaceOrder on the bus to its Fill on the bus
(bus -> REST place -> simulated exchange -> user hub -> bus), against the real simulator, on the
in-process bus and over Redis. Figures: BENCHMARKS.md; gates with 10x headroom."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time

import pytest

from support.cm_harness import Harness, place
from support.redis_server import redis_server
from support.sim import running_sim
from tsxbot.messages import Fill, Side

ORDERS = 40
# Measured medians (ms) on the 2-core machine; the gate is 10x.
MEDIAN_MS = {"memory": 1.6, "redis": 3.2}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_order_to_fill_latency(backend: str) -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(redis_server()).url if backend == "redis" else "redis://127.0.0.1:1/0"
        async with running_sim(login=False) as sim:
            h = Harness(sim, backend, url, "latency")
            try:
                await measure(h, backend)
            finally:
                await h.close()


async def measure(h: Harness, backend: str) -> None:
    await h.start_manager()
    await h.start_observer()
    latencies: list[float] = []
    for i in range(ORDERS):
        before = len(h.payloads(Fill))
        side = Side.BUY if i % 2 == 0 else Side.SELL  # flat again every second order
        start = time.perf_counter()
        await h.send(place(f"lat{i}", side=side, stop=None, target=None))
        async with asyncio.timeout(10):
            while len(h.payloads(Fill)) <= before:
                h.arrived.clear()
                await h.arrived.wait()
        latencies.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.01)
    latencies.sort()
    median = statistics.median(latencies)
    p90 = latencies[int(len(latencies) * 0.9) - 1]
    print(
        f"\norder->fill over the {backend} bus: median {median:.2f} ms, p90 {p90:.2f} ms, "
        f"max {latencies[-1]:.2f} ms ({ORDERS} orders)"
    )
    assert median < 10 * MEDIAN_MS[backend]
