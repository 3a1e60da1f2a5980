"""Stopping a hub ends its supervisor, and a stop that is itself cancelled (the runner's stop
timeout) is cancelled: never swallowed while the supervisor goes on reconnecting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from support.redis_server import free_port
from tsxbot.config.global_config import GatewaySettings
from tsxbot.gateway.hub import HubConnection, HubState

SETTINGS = GatewaySettings(reconnect_delays_seconds=[0.05])


async def _token() -> str:
    return "token"


async def _renew(_rejected: str | None) -> str:
    return "token"


async def _ignore(_target: str, _arguments: list[Any]) -> None:
    return None


def _reconnecting_hub() -> HubConnection:
    """A hub whose server is not there: its supervisor keeps trying."""
    url = f"http://127.0.0.1:{free_port()}/hubs/user"
    return HubConnection("user", url, _token, _renew, [], _ignore, SETTINGS)


async def test_stop_ends_a_reconnecting_supervisor() -> None:
    hub = _reconnecting_hub()
    await hub.start(wait=None)
    await asyncio.sleep(0.3)  # a few failed attempts
    await asyncio.wait_for(hub.stop(), 5)
    assert hub.state is HubState.STOPPED
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("hub-user")]


async def test_a_cancelled_stop_is_cancelled_not_swallowed() -> None:
    hub = _reconnecting_hub()
    await hub.start(wait=None)
    await asyncio.sleep(0.1)
    stopping = asyncio.create_task(hub.stop())
    await asyncio.sleep(0)  # stop() is now waiting for the supervisor
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    await hub.stop()
