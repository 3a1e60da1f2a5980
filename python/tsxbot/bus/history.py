"""History over the bus, from a requester's side: a ``HistoryRequest`` goes to the connection
manager (``connection-manager:history``) and its ``HistoryBars`` reply comes back on the
requester's replies channel, matched by request id. Used by the bots (warm-up, gap backfill) and
the manual trading page (its chart)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tsxbot.bus.subscription import Subscription
from tsxbot.messages import HistoryBars, HistoryRequest


class HistoryReplies:
    """The requests waiting for their reply; ``consume`` runs on the replies subscription."""

    def __init__(self) -> None:
        self._waiters: dict[str, asyncio.Future[HistoryBars]] = {}

    async def ask(
        self,
        request: HistoryRequest,
        publish: Callable[[HistoryRequest], Awaitable[None]],
        within: float,
    ) -> HistoryBars:
        """Publishes ``request`` and waits for its reply; ``TimeoutError`` after ``within`` s."""
        waiter: asyncio.Future[HistoryBars] = asyncio.get_running_loop().create_future()
        self._waiters[request.request_id] = waiter
        try:
            await publish(request)
            return await asyncio.wait_for(waiter, within)
        finally:
            self._waiters.pop(request.request_id, None)

    async def consume(self, subscription: Subscription) -> None:
        """Hands each reply to its waiter (a late or unknown reply is acknowledged and dropped)."""
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, HistoryBars):
                waiter = self._waiters.get(payload.request_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(payload)
            await message.ack()
