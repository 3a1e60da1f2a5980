"""What every long-running component (simulator, connection manager, aggregator, bot) is to
the runner: something that starts, can fail on its own, and stops gracefully."""

from __future__ import annotations

import asyncio
import errno
from abc import ABC, abstractmethod


class StartupError(RuntimeError):
    """A service cannot start for a reason a person fixes (a port in use, Redis unreachable,
    credentials refused). The message is one line naming the cause and the setting to change;
    the command prints it as it is, without a traceback."""


def listen_error(what: str, host: str, port: int, exc: OSError, settings: str) -> StartupError:
    """``what`` cannot bind ``host:port``, e.g. ``connection manager cannot listen on
    127.0.0.1:7500: address in use (set services.connectionManager.port or
    CONNECTION_MANAGER_PORT)``."""
    if exc.errno == errno.EADDRINUSE:
        cause = "address in use"
    elif exc.errno == errno.EACCES:
        cause = "permission denied"
    elif exc.errno == errno.EADDRNOTAVAIL:
        cause = "no such address on this machine"
    else:
        cause = exc.strerror or str(exc)
    return StartupError(f"{what} cannot listen on {host}:{port}: {cause} (set {settings})")


class Service(ABC):
    """``start`` returns once the service is ready (ports bound, connections up); ``stop`` stops
    taking work, finishes what is in flight and releases everything. ``stop`` is also called after
    a ``start`` that failed or was cancelled (by a signal), so it must cope with a partial start.
    A service whose background work dies calls ``fail`` so the runner shuts everything down
    instead of running half-broken."""

    name: str = "service"

    def __init__(self) -> None:
        self._failed: asyncio.Future[BaseException] | None = None

    @property
    def failed(self) -> asyncio.Future[BaseException]:
        if self._failed is None:
            self._failed = asyncio.get_running_loop().create_future()
        return self._failed

    def fail(self, error: BaseException) -> None:
        if not self.failed.done():
            self.failed.set_result(error)

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...
