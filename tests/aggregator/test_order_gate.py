"""``OrderGate``: bookkeeping waits while an order is on its way, at most ``hold_s``."""

from __future__ import annotations

import asyncio

import pytest

from tsxbot.aggregator.order_gate import OrderGate


async def test_nothing_on_its_way_nothing_waits() -> None:
    path = OrderGate(lambda: False, hold_s=30.0)
    await asyncio.wait_for(path.clear(), 1)
    assert path.held == 0


async def test_a_wait_ends_when_the_order_is_answered_and_checked() -> None:
    on_the_way = True
    path = OrderGate(lambda: on_the_way, hold_s=30.0)
    waiter = asyncio.create_task(path.clear())
    await asyncio.sleep(0.05)
    path.check()  # still on its way: nobody goes
    await asyncio.sleep(0.05)
    assert not waiter.done()
    on_the_way = False
    path.check()
    await asyncio.wait_for(waiter, 1)
    assert path.held == 1


async def test_a_wait_lasts_at_most_hold_s() -> None:
    path = OrderGate(lambda: True, hold_s=0.1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(path.clear(), 5)
    assert loop.time() - began >= 0.1


async def test_release_lets_every_waiter_go_and_later_ones_wait_again() -> None:
    path = OrderGate(lambda: True, hold_s=30.0)
    waiters = [asyncio.create_task(path.clear()) for _ in range(3)]
    await asyncio.sleep(0.05)
    path.release()
    await asyncio.wait_for(asyncio.gather(*waiters), 1)
    later = asyncio.create_task(path.clear())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(later), 0.1)
    path.release()
    await asyncio.wait_for(later, 1)
