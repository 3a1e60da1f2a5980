"""Bookkeeping gives way to the order path.

While an order of the account is on its way (a command queued, or sent and not answered yet),
the aggregator's bookkeeping writes (the save and acknowledgement of a batch of exchange events)
wait, at most ``hold_s``: on a machine of a few cores every write wakes Redis and competes for
the CPU with the order's own hops (the command out, the fill back to its bot). Waiting is safe
for those batches: they are acknowledged only once their save is written, and handled again
alike after a crash (fills once by id). Saves that record a decision told to someone (a
submission sent or refused, a kill-switch action) do not wait.

A waiter takes a ``ticket`` when its write is taken; ``release`` lets every ticket taken before
it go, whether its holder already waits or comes later (a save under the lock, the stop, a
consumer at its in-flight limit must not wait behind a held write).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class OrderGate:
    def __init__(self, busy: Callable[[], bool], hold_s: float) -> None:
        self._busy = busy
        self.hold_s = hold_s
        self._clear = asyncio.Event()
        self._released = 0  # tickets below this go at once
        self._issued = 0
        self.held = 0  # waits that found an order on its way (a counter for the metrics)

    def ticket(self) -> int:
        self._issued += 1
        return self._issued

    def check(self) -> None:
        """Called where an order may have been answered (after a batch, a send): wakes the
        waiters once none is on its way."""
        if not self._busy():
            self._clear.set()

    def release(self) -> None:
        """Every ticket taken so far goes on now, waiting or not yet."""
        self._released = self._issued + 1
        self._clear.set()

    async def clear(self, ticket: int) -> None:
        """Returns once no order is on its way, at most ``hold_s`` after the call, at once
        when ``ticket`` was released."""
        if ticket < self._released or not self._busy():
            return
        self.held += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.hold_s
        while ticket >= self._released and self._busy():
            self._clear.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._clear.wait()
            except TimeoutError:
                return
