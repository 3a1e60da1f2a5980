"""Fixtures shared by every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from support.redis_server import RedisServer, redis_server
from support.sim import SimHandle, running_sim


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """A real Redis: ``REDIS_URL`` when set, else a redis-server on a free port, stopped after."""
    with redis_server() as server:
        yield server


@pytest.fixture
async def sim() -> AsyncIterator[SimHandle]:
    """A real TopStepX simulator on a free port, its clock starting on a Tuesday 09:30 CT."""
    async with running_sim(login=False) as running:
        yield running
