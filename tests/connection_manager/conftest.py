"""Fixtures: a connection-manager harness on each bus backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from support.cm_harness import Harness
from support.redis_server import RedisServer, redis_server
from support.sim import SimHandle


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def harness(sim: SimHandle, backend: str, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    url = request.getfixturevalue("redis").url if backend == "redis" else "redis://127.0.0.1:1/0"
    h = Harness(sim, backend, url, f"t{uuid.uuid4().hex[:12]}")
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture
def persistent_redis() -> Iterator[RedisServer]:
    """A private Redis whose data survives ``restart()`` (AOF)."""
    with redis_server(appendonly=True, private=True) as server:
        yield server
