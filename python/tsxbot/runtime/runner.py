"""Runs services together: start in order, run until a signal (Ctrl-C, SIGTERM) or a failure,
then stop in reverse order, each within a time limit.

A signal at any moment ends the run: during a start it cancels that start; while running it stops
everything; while stopping it changes nothing (each service still gets its stop timeout, so the
process exits within them). A service whose start failed or was cancelled is stopped too (its
``stop`` releases what the start took: a bound port, a hub connection)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from tsxbot.log import get_logger
from tsxbot.runtime.service import Service, StartupError

log = get_logger("tsxbot.runtime")


class ServiceFailed(RuntimeError):
    def __init__(self, service: str, error: BaseException) -> None:
        self.service = service
        self.error = error
        super().__init__(f"service {service!r} failed: {error!r}")

    @property
    def reason(self) -> str:
        """One line for a person: a ``StartupError``'s own words (cause and setting), else the
        service and the error."""
        if isinstance(self.error, StartupError):
            return str(self.error)
        text = " ".join(str(self.error).split()) or type(self.error).__name__
        return f"{self.service} failed: {text}"


async def run_services(
    services: Sequence[Service],
    *,
    stop: asyncio.Event | None = None,
    stop_timeout: float = 15.0,
    handle_signals: bool = True,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Runs until ``stop`` is set, SIGINT/SIGTERM arrives, or a service fails (then raises
    ``ServiceFailed`` after stopping the others). ``on_started`` runs once every service started."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, _on_signal, stop, sig)
                installed.append(sig)

    to_stop: list[Service] = []
    started: list[Service] = []
    failure: ServiceFailed | None = None
    try:
        for service in services:
            if stop.is_set():
                break
            log.info("service starting", service=service.name)
            to_stop.append(service)
            try:
                finished = await _start(service, stop, stop_timeout)
            except Exception as exc:
                failure = ServiceFailed(service.name, exc)
                log.error("service failed to start", service=service.name, error=failure.reason)
                break
            if not finished:
                log.info("start interrupted by the shutdown", service=service.name)
                break
            started.append(service)
            log.info("service started", service=service.name)

        if failure is None and not stop.is_set():
            # What start-up built (configs, modules, services) lives as long as the process: out
            # of the garbage collector's sight, a full collection no longer walks it (with 100
            # bots in one process it took ~120 ms, landing on whichever bar was being decided).
            gc.collect()
            gc.freeze()
            if on_started is not None:
                on_started()
            failure = await _wait(started, stop)
    finally:
        for service in reversed(to_stop):
            log.info("service stopping", service=service.name)
            try:
                await asyncio.wait_for(service.stop(), stop_timeout)
                log.info("service stopped", service=service.name)
            except TimeoutError:
                log.error("service did not stop in time", service=service.name, timeout_s=stop_timeout)
            except Exception as exc:
                log.error("service stopped with an error", service=service.name, error=repr(exc))
        for sig in installed:  # until the loop closes: a late signal must not kill the exit
            loop.add_signal_handler(sig, _late_signal, sig)
    if failure is not None:
        raise failure


def run_until_stopped(main: Coroutine[Any, Any, None], *, cancel_timeout: float = 5.0) -> None:
    """``asyncio.run`` for a command's services: afterwards every task still running (work a
    service did not end) is cancelled and waited for at most ``cancel_timeout``, so the process
    always exits; one that ignores its cancellation is logged by name."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:
            leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in leftover:
                task.cancel()
            if leftover:
                loop.run_until_complete(asyncio.wait(leftover, timeout=cancel_timeout))
            stuck = [t.get_name() for t in leftover if not t.done()]
            if stuck:
                log.error("tasks did not end when cancelled; exiting without them", tasks=stuck)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                if loop.remove_signal_handler(sig):  # the runner's: exiting already, nothing to stop
                    signal.signal(sig, signal.SIG_IGN)
            asyncio.set_event_loop(None)
            loop.close()


async def _start(service: Service, stop: asyncio.Event, stop_timeout: float) -> bool:
    """Starts ``service``; False when ``stop`` was set first (the start is then cancelled and
    waited for, at most ``stop_timeout``). Raises what the start raised."""
    starting = asyncio.create_task(service.start(), name=f"start-{service.name}")
    stopping = asyncio.create_task(stop.wait(), name="stop-requested")
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        starting.cancel()
        raise
    finally:
        stopping.cancel()
    if starting.done():
        starting.result()
        return True
    starting.cancel()
    await asyncio.wait({starting}, timeout=stop_timeout)
    if not starting.done():
        log.error("service start did not end when cancelled", service=service.name, timeout_s=stop_timeout)
    elif not starting.cancelled() and (error := starting.exception()) is not None:
        log.info("service start ended with an error after the shutdown began", error=repr(error))
    return False


def _late_signal(sig: signal.Signals) -> None:
    log.info("signal after the services stopped: exiting already", signal=sig.name)


def _on_signal(stop: asyncio.Event, sig: signal.Signals) -> None:
    if stop.is_set():
        log.warning("already stopping: each service still has its stop timeout", signal=sig.name)
        return
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
            failed = ServiceFailed(service.name, error)
            log.error("service failed", service=service.name, error=failed.reason)
            return failed
    return None


async def _failure_of(service: Service) -> BaseException:
    return await asyncio.shield(service.failed)
