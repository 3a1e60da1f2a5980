"""The runner starts services in order, stops them in reverse, and stops everything on a failure."""

from __future__ import annotations

import asyncio
import time

import pytest

from tsxbot.runtime import Service, ServiceFailed, StartupError, run_services, run_until_stopped


class Recorder(Service):
    """A minimal real Service: records its lifecycle into a shared list."""

    def __init__(
        self,
        name: str,
        events: list[str],
        *,
        fail_start: bool = False,
        slow_start: float = 0.0,
        slow_stop: float = 0.0,
    ) -> None:
        super().__init__()
        self.name = name
        self.events = events
        self.fail_start = fail_start
        self.slow_stop = slow_stop
        self.slow_start = slow_start

    async def start(self) -> None:
        try:
            await asyncio.sleep(self.slow_start)
        except asyncio.CancelledError:
            self.events.append(f"cancelled {self.name}")
            raise
        if self.fail_start:
            raise ConnectionRefusedError("port busy")
        self.events.append(f"start {self.name}")

    async def stop(self) -> None:
        await asyncio.sleep(self.slow_stop)
        self.events.append(f"stop {self.name}")


async def test_starts_in_order_and_stops_in_reverse() -> None:
    events: list[str] = []
    stop = asyncio.Event()
    services = [Recorder("a", events), Recorder("b", events), Recorder("c", events)]
    runner = asyncio.create_task(run_services(services, stop=stop, handle_signals=False))
    await asyncio.sleep(0.05)
    assert events == ["start a", "start b", "start c"]
    stop.set()
    await asyncio.wait_for(runner, 5)
    assert events[3:] == ["stop c", "stop b", "stop a"]


async def test_a_failing_service_stops_the_others() -> None:
    events: list[str] = []
    a, b = Recorder("a", events), Recorder("b", events)
    runner = asyncio.create_task(run_services([a, b], handle_signals=False))
    await asyncio.sleep(0.05)
    b.fail(RuntimeError("hub connection lost for good"))
    with pytest.raises(ServiceFailed, match="service 'b' failed") as info:
        await asyncio.wait_for(runner, 5)
    assert isinstance(info.value.error, RuntimeError)
    assert events == ["start a", "start b", "stop b", "stop a"]


async def test_start_failure_stops_what_started() -> None:
    events: list[str] = []
    services = [Recorder("a", events), Recorder("b", events, fail_start=True), Recorder("c", events)]
    with pytest.raises(ServiceFailed, match="'b'"):
        await asyncio.wait_for(run_services(services, handle_signals=False), 5)
    # b's stop releases what its failed start took (a bound port, a connection); c never starts.
    assert events == ["start a", "stop b", "stop a"]


async def test_a_stop_during_a_start_cancels_that_start_and_stops_everything() -> None:
    events: list[str] = []
    stop = asyncio.Event()
    hanging = Recorder("hanging", events, slow_start=3600)
    services = [Recorder("a", events), hanging, Recorder("c", events)]
    runner = asyncio.create_task(run_services(services, stop=stop, handle_signals=False))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(runner, 5)
    assert events == ["start a", "cancelled hanging", "stop hanging", "stop a"]


def test_a_startup_error_is_reported_in_its_own_words() -> None:
    error = StartupError("connection manager cannot listen on 127.0.0.1:7500: address in use (set x)")
    assert ServiceFailed("connection-manager", error).reason == str(error)
    other = ServiceFailed("simulator", RuntimeError("boom\nsecond line"))
    assert other.reason == "simulator failed: boom second line"


async def test_a_service_that_does_not_stop_in_time_does_not_block_the_rest() -> None:
    events: list[str] = []
    stop = asyncio.Event()
    services = [Recorder("a", events), Recorder("slow", events, slow_stop=10)]
    runner = asyncio.create_task(run_services(services, stop=stop, stop_timeout=0.1, handle_signals=False))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(runner, 5)
    assert events == ["start a", "start slow", "stop a"]


def test_run_until_stopped_exits_though_a_task_ignores_its_cancellation() -> None:
    """Whatever a service left running is cancelled, and the wait for it is bounded."""
    ended: list[str] = []

    async def polite() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("polite")

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    left: list[asyncio.Task[None]] = []

    async def main() -> None:
        left.append(asyncio.create_task(polite(), name="polite"))
        left.append(asyncio.create_task(stubborn(), name="stubborn"))
        await asyncio.sleep(0.01)

    started = time.monotonic()
    run_until_stopped(main(), cancel_timeout=0.2)
    assert time.monotonic() - started < 3
    assert ended == ["polite"]
    assert [t.get_name() for t in left if not t.done()] == ["stubborn"]
