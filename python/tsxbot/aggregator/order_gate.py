"""Bookkeeping gives way to the order path.

While an order of the account is on its way (a command queued, or sent and not answered yet),
the aggregator's bookkeeping writes (a handled batch's state save and its acknowledgements)
wait, at most ``hold_s``: on a machine of a few cores every write wakes Redis and competes for
the CPU with the order's own hops (the command out, the fill back to its bot). Waiting is safe:
a batch is acknowledged only once its save is written, so a crash meanwhile delivers it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class OrderGate:
    def __init__(self, busy: Callable[[], bool], hold_s: float) -> None:
        self._busy = busy
        self.hold_s = hold_s
        self._clear = asyncio.Event()
        self._generation = 0  # bumped by release(): whoever waits goes on
        self.held = 0  # waits that found an order on its way (a counter for the metrics)

    def check(self) -> None:
        """Called where an order may have been answered (after a batch, a send): wakes the
        waiters once none is on its way."""
        if not self._busy():
            self._clear.set()

    def release(self) -> None:
        """Everybody waiting goes on now (the stop; a consumer that cannot take more in flight)."""
        self._generation += 1
        self._clear.set()

    async def clear(self) -> None:
        """Returns once no order is on its way, at most ``hold_s`` after the call."""
        if not self._busy():
            return
        self.held += 1
        generation = self._generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.hold_s
        while self._busy() and self._generation == generation:
            self._clear.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._clear.wait()
            except TimeoutError:
                return
