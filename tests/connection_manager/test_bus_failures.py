"""When the bus cannot take what the connection manager publishes (a consumer group far behind
on the in-process bus: publishers wait, then ``BusFullError``): nothing is marked as published
before it was, a command's result is retried, and what cannot be done fails the service loudly."""

from __future__ import annotations

import pytest

from support.bus_helpers import eventually, receive
from support.cm_harness import Harness, place
from tsxbot.connection_manager import service as cm_service
from tsxbot.messages import CommandResult, Fill, channels

LAG = {"consumer_buffer_size": 4, "durable_publish_timeout_seconds": 0.2}


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_fill_whose_publish_failed_is_published_once_the_bus_takes_it(harness: Harness) -> None:
    h = harness
    h.bus_overrides = LAG
    manager = await h.start_manager()
    await h.start_observer()
    lagging = await (await h.bus()).subscribe(channels.CM_FILLS, group="slow-consumer")
    for i in range(4):  # fills the slow group: from here on, publishing a fill fails
        await h.send(place(f"pre{i}", stop=None, target=None))
        await eventually(lambda i=i: len(h.payloads(Fill)) == i + 1, what=f"fill {i}")
    await h.send(place("lost", stop=None, target=None))
    await eventually(
        lambda: any(r.command_id == "cmd-lost" for r in h.payloads(CommandResult)), what="the place's result"
    )
    await eventually(lambda: manager.user_hub.handler_errors >= 1, what="the fill's publish failing")
    assert len(h.payloads(Fill)) == 4  # the fifth fill could not be published
    for message in await receive(lagging, 4):  # the slow consumer catches up
        await message.ack()
    await manager.reconcile(reason="test")
    await eventually(lambda: len(h.payloads(Fill)) == 5, what="the fill, after all")
    await manager.reconcile(reason="test again")
    assert len(h.payloads(Fill)) == 5  # once
    assert manager.healthy


async def test_a_result_that_cannot_be_published_is_retried_then_the_service_fails(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cm_service, "COMMAND_RETRY_SECONDS", (0.1, 0.1))
    h = harness
    h.bus_overrides = LAG
    manager = await h.start_manager()
    await h.start_observer()
    await (await h.bus()).subscribe(channels.CM_ORDER_UPDATES, group="slow-consumer")  # never reads
    for i in range(3):
        await h.send(place(f"f{i}", stop=None, target=None))
    await eventually(lambda: manager.failed.done(), within=10, what="the service failing")
    assert isinstance(manager.failed.result(), Exception)
    assert not manager.healthy
    assert manager.executor.executed >= 1  # what ran, ran once: the retries found its result
    assert manager.executor.repeats >= 1


async def test_a_later_fill_does_not_hide_an_earlier_one_whose_publish_failed(harness: Harness) -> None:
    """The reconciliation searches trades from the failed fill, not from the newest fill (which
    a later, published fill moved minutes past it)."""
    h = harness
    h.bus_overrides = LAG
    manager = await h.start_manager()
    await h.start_observer()
    lagging = await (await h.bus()).subscribe(channels.CM_FILLS, group="slow-consumer")
    for i in range(4):
        await h.send(place(f"pre{i}", stop=None, target=None))
        await eventually(lambda i=i: len(h.payloads(Fill)) == i + 1, what=f"fill {i}")
    await h.send(place("lost", stop=None, target=None))
    await eventually(lambda: manager.user_hub.handler_errors >= 1, what="the fill's publish failing")
    for message in await receive(lagging, 4):
        await message.ack()
    await h.sim.admin("clock", {"action": "advance", "seconds": 600})  # ten minutes later ...
    await h.send(place("later", stop=None, target=None))  # ... a fill that does get out
    await eventually(lambda: len(h.payloads(Fill)) == 5, what="the later fill")
    await manager.reconcile(reason="test")
    await eventually(lambda: len(h.payloads(Fill)) == 6, what="the earlier fill, after all")
    assert manager.state.unpublished_fill_time == {}
