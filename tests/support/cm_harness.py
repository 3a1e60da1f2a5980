"""A connection manager wired to a real simulator and a real bus (in-process or Redis), and an
observer of everything it publishes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.bus_helpers import bus_config
from support.sim import SimHandle
from tsxbot.bus import Message, MessageBus, Subscription, create_bus
from tsxbot.config.secrets import Secret
from tsxbot.connection_manager.service import ConnectionManager
from tsxbot.messages import Channel, Envelope, PlaceOrder, Side, channels
from tsxbot.messages.payload import Payload

API_KEY = "test-internal-key"
OUTPUTS = [channels.CM_ORDER_UPDATES, channels.CM_FILLS, channels.CM_POSITIONS, channels.CM_ACCOUNT_UPDATES]


@dataclass
class Harness:
    sim: SimHandle
    backend: str
    redis_url: str
    namespace: str
    buses: list[MessageBus] = field(default_factory=list)
    managers: list[ConnectionManager] = field(default_factory=list)
    seen: list[Message] = field(default_factory=list)
    client: MessageBus | None = None
    observer: Subscription | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Set whenever the observer receives something (for waits without polling).
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # BusConfig fields for every bus this harness makes.
    bus_overrides: dict[str, Any] = field(default_factory=dict)

    async def bus(self) -> MessageBus:
        """A bus of the test's backend: in-process buses are one shared instance (one process);
        Redis buses are separate clients, as separate processes would have."""
        if self.backend == "memory" and self.buses:
            return self.buses[0]
        config = bus_config(self.backend, self.redis_url, self.namespace, **self.bus_overrides)
        bus = create_bus(config, client_name="test")
        await bus.start()
        self.buses.append(bus)
        return bus

    async def start_manager(self, **kwargs: Any) -> ConnectionManager:
        kwargs.setdefault("clock", self.sim.now)  # the simulator's start time is pinned, not now
        manager = ConnectionManager(
            self.sim.config,
            await self.bus(),
            self.sim.endpoints,
            Secret(API_KEY),
            symbols=["MES"],
            http_port=0,
            **kwargs,
        )
        await manager.start()
        self.managers.append(manager)
        return manager

    async def start_observer(self) -> None:
        self.client = await self.bus()
        self.observer = await self.client.subscribe(OUTPUTS, group="observer")
        self._tasks.append(asyncio.create_task(self._collect()))

    async def watch(self, channel: Channel) -> list[tuple[Any, dict[str, Any]]]:
        """Everything published on an ephemeral channel from now on: (payload, metadata)."""
        subscription = await (await self.bus()).subscribe(channel)
        seen: list[tuple[Any, dict[str, Any]]] = []

        async def collect() -> None:
            async for message in subscription:
                seen.append((message.envelope.payload, dict(message.envelope.metadata)))

        self._tasks.append(asyncio.create_task(collect()))
        return seen

    async def _collect(self) -> None:
        assert self.observer is not None
        async for message in self.observer:
            self.seen.append(message)
            self.arrived.set()
            await message.ack()

    async def send(self, payload: Payload) -> None:
        assert self.client is not None
        await self.client.publish(channels.CM_COMMANDS, Envelope.wrap(payload, "test"))

    def payloads(self, kind: type[Any], where: Callable[[Any], bool] = lambda _p: True) -> list[Any]:
        return [
            m.envelope.payload
            for m in self.seen
            if isinstance(m.envelope.payload, kind) and where(m.envelope.payload)
        ]

    async def close(self) -> None:
        for manager in reversed(self.managers):
            with contextlib.suppress(Exception):
                await manager.stop()
        for task in self._tasks:
            task.cancel()
        for bus in self.buses:
            with contextlib.suppress(Exception):
                await bus.close(flush_seconds=2)


def place(
    tag: str,
    *,
    quantity: int = 1,
    side: Side = Side.BUY,
    stop: int | None = 20,
    target: int | None = 40,
    bot: str = "bot_2",
) -> PlaceOrder:
    return PlaceOrder(
        command_id=f"cmd-{tag}",
        order_id=f"ord-{tag}",
        bot_id=bot,
        custom_tag=f"{bot}-{tag}",
        symbol="MES",
        side=side,
        quantity=quantity,
        stop_loss_ticks=stop,
        take_profit_ticks=target,
    )
