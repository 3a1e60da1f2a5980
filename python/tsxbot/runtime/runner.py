"""Runs services together: start in order, run until a signal (Ctrl-C, SIGTERM) or a failure,
then stop in reverse order, each within a time limit."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence

from tsxbot.log import get_logger
from tsxbot.runtime.service import Service

log = get_logger("tsxbot.runtime")


class ServiceFailed(RuntimeError):
    def __init__(self, service: str, error: BaseException) -> None:
        self.service = service
        self.error = error
        super().__init__(f"service {service!r} failed: {error!r}")


async def run_services(
    services: Sequence[Service],
    *,
    stop: asyncio.Event | None = None,
    stop_timeout: float = 15.0,
    handle_signals: bool = True,
) -> None:
    """Runs until ``stop`` is set, SIGINT/SIGTERM arrives, or a service fails (then raises
    ``ServiceFailed`` after stopping the others)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, _on_signal, stop, sig)
                installed.append(sig)

    started: list[Service] = []
    failure: ServiceFailed | None = None
    try:
        for service in services:
            log.info("service starting", service=service.name)
            try:
                await service.start()
            except Exception as exc:
                failure = ServiceFailed(service.name, exc)
                log.error("service failed to start", service=service.name, error=repr(exc))
                break
            started.append(service)
            log.info("service started", service=service.name)

        if failure is None:
            failure = await _wait(started, stop)
    finally:
        for service in reversed(started):
            log.info("service stopping", service=service.name)
            try:
                await asyncio.wait_for(service.stop(), stop_timeout)
                log.info("service stopped", service=service.name)
            except TimeoutError:
                log.error("service did not stop in time", service=service.name, timeout_s=stop_timeout)
            except Exception as exc:
                log.error("service stopped with an error", service=service.name, error=repr(exc))
        for sig in installed:
            loop.remove_signal_handler(sig)
    if failure is not None:
        raise failure


def _on_signal(stop: asyncio.Event, sig: signal.Signals) -> None:
    log.info("shutdown requested", signal=sig.name)
    stop.set()


async def _wait(services: Sequence[Service], stop: asyncio.Event) -> ServiceFailed | None:
    stop_task: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
    watched: dict[asyncio.Future[object], Service] = {
        asyncio.ensure_future(_failure_of(s)): s for s in services
    }
    try:
        done, _ = await asyncio.wait([stop_task, *watched], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [stop_task, *watched]:
            task.cancel()
    for task in done:
        if task in watched:
            service = watched[task]
            error = task.result()
            assert isinstance(error, BaseException)
            log.error("service failed", service=service.name, error=repr(error))
            return ServiceFailed(service.name, error)
    return None


async def _failure_of(service: Service) -> BaseException:
    return await asyncio.shield(service.failed)
