"""The bus as a service: started before every other service and closed after them, so a
service's last publishes are flushed before the bus goes."""

from __future__ import annotations

from tsxbot.bus.bus import MessageBus
from tsxbot.runtime import Service


class BusService(Service):
    name = "bus"

    def __init__(self, bus: MessageBus) -> None:
        super().__init__()
        self.bus = bus

    async def start(self) -> None:
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.close()
