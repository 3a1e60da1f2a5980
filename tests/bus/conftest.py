"""Bus fixtures: ``make_bus`` builds buses of the test's backend (every shared test runs on the
in-process bus and on a real Redis), each test in its own namespace."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from support.bus_helpers import bus_config
from support.redis_server import RedisServer, redis_server
from tsxbot.bus import MessageBus, create_bus

MakeBus = Callable[..., Awaitable[MessageBus]]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def make_bus(backend: str, namespace: str, request: pytest.FixtureRequest) -> AsyncIterator[MakeBus]:
    url = request.getfixturevalue("redis").url if backend == "redis" else "redis://127.0.0.1:1/0"
    buses: list[MessageBus] = []

    async def make(**overrides: Any) -> MessageBus:
        bus = create_bus(bus_config(backend, url, namespace, **overrides), client_name=namespace)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close(flush_seconds=2)


@pytest.fixture
def persistent_redis() -> Iterator[RedisServer]:
    """A private Redis of this test's own whose data survives ``restart()`` (AOF)."""
    with redis_server(appendonly=True, private=True) as server:
        yield server
