"""Fixtures: an aggregator with a connection manager on a real simulator, on each bus."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from support.agg_harness import AggHarness
from support.cm_harness import Harness
from support.sim import SimHandle


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def agg(sim: SimHandle, backend: str, request: pytest.FixtureRequest) -> AsyncIterator[AggHarness]:
    url = request.getfixturevalue("redis").url if backend == "redis" else "redis://127.0.0.1:1/0"
    h = AggHarness(Harness(sim, backend, url, f"t{uuid.uuid4().hex[:12]}"))
    try:
        yield h
    finally:
        await h.close()
