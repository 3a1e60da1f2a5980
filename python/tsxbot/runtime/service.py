"""What every long-running component (simulator, connection manager, aggregator, bot) is to
the runner: something that starts, can fail on its own, and stops gracefully."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod


class Service(ABC):
    """``start`` returns once the service is ready (ports bound, connections up); ``stop`` stops
    taking work, finishes what is in flight and releases everything. A service whose background
    work dies calls ``fail`` so the runner shuts everything down instead of running half-broken."""

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
