"""Fixtures: an aggregator with a connection manager on a real simulator (in-process bus: the
pages' servers talk HTTP to the aggregator; the bus backends are covered in tests/aggregator)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from support.agg_harness import AggHarness
from support.cm_harness import Harness
from support.sim import SimHandle


@pytest.fixture
async def agg(sim: SimHandle) -> AsyncIterator[AggHarness]:
    h = AggHarness(Harness(sim, "memory", "redis://127.0.0.1:1/0", f"t{uuid.uuid4().hex[:12]}"))
    try:
        yield h
    finally:
        await h.close()
