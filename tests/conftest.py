"""Fixtures shared by every test."""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from support.full_day import FullDay, run_full_day
from support.processes import check_none_left
from support.redis_server import RedisServer, redis_server
from support.sim import SimHandle, running_sim
from tsxbot.sim.start_time import REQUIRED_ENV


def pytest_configure(config: pytest.Config) -> None:
    # Every simulator a test starts, in this process or in a tsxbot process it runs (they inherit
    # the environment), must have a pinned start time: one that follows the machine's clock is
    # refused (a test must pass at any time of day, at weekends too).
    os.environ[REQUIRED_ENV] = "1"
    adopt_orphans()


def adopt_orphans() -> None:
    """Linux: a process whose parent dies (a tsxbot that a wrapper such as ``faketime`` started,
    when the wrapper is killed) is re-parented to the test session instead of init, so the
    session's last check still finds and ends it (``PR_SET_CHILD_SUBREAPER``)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Fails the run if a tsxbot process a test started is still running at the end (and ends it)."""
    yield
    check_none_left()


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


@pytest.fixture(scope="session")
def full_day(tmp_path_factory: pytest.TempPathFactory) -> FullDay:
    """The three example bots' full simulated trading day (``support.full_day``), run once for
    every test that checks it."""
    return asyncio.run(run_full_day(tmp_path_factory.mktemp("full-day")))
