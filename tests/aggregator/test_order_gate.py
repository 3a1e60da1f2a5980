"""``OrderGate``: bookkeeping waits while an order is on its way, at most ``hold_s``; a release
lets every ticket taken before it go."""

from __future__ import annotations

import asyncio

import pytest

from tsxbot.aggregator.order_gate import OrderGate


async def test_nothing_on_its_way_nothing_waits() -> None:
    gate = OrderGate(lambda: False, hold_s=30.0)
    await asyncio.wait_for(gate.clear(gate.ticket()), 1)
    assert gate.held == 0


async def test_a_wait_ends_when_the_order_is_answered_and_checked() -> None:
    on_the_way = True
    gate = OrderGate(lambda: on_the_way, hold_s=30.0)
    waiter = asyncio.create_task(gate.clear(gate.ticket()))
    await asyncio.sleep(0.05)
    gate.check()  # still on its way: nobody goes
    await asyncio.sleep(0.05)
    assert not waiter.done()
    on_the_way = False
    gate.check()
    await asyncio.wait_for(waiter, 1)
    assert gate.held == 1


async def test_a_wait_lasts_at_most_hold_s() -> None:
    gate = OrderGate(lambda: True, hold_s=0.1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(gate.clear(gate.ticket()), 5)
    assert loop.time() - began >= 0.1


async def test_release_lets_every_earlier_ticket_go_waiting_or_not_yet() -> None:
    gate = OrderGate(lambda: True, hold_s=30.0)
    waiting = [asyncio.create_task(gate.clear(gate.ticket())) for _ in range(3)]
    not_yet = gate.ticket()  # taken, its holder not at the gate yet (its journal rows first)
    await asyncio.sleep(0.05)
    gate.release()
    await asyncio.wait_for(asyncio.gather(*waiting), 1)
    await asyncio.wait_for(gate.clear(not_yet), 1)  # comes after the release: goes at once
    later = asyncio.create_task(gate.clear(gate.ticket()))  # taken after it: waits
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(later), 0.1)
    gate.release()
    await asyncio.wait_for(later, 1)
