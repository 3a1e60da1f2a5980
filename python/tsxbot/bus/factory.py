"""Builds the bus the configuration asks for."""

from __future__ import annotations

from tsxbot.bus.bus import MessageBus
from tsxbot.bus.memory import MemoryBus
from tsxbot.bus.redis_bus import RedisBus
from tsxbot.config.global_config import BusConfig


def create_bus(config: BusConfig, *, client_name: str | None = None) -> MessageBus:
    """``memory``: the in-process bus (everything in one process). ``redis``: over ``redisUrl``;
    ``client_name`` shows in ``CLIENT LIST`` (the service's name)."""
    if config.backend == "redis":
        return RedisBus(config, client_name=client_name)
    return MemoryBus(config)
