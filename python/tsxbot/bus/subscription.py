"""A subscription: the consumer's side of the bus, the same for both implementations.

Received messages wait in two local queues: durable ones (flow-controlled by the bus, never
dropped: what does not fit stays in the stream or the in-process log) and ephemeral ones (a
bounded deque: when the consumer is too slow the oldest is dropped, superseded, and counted).
One wake-up per batch: the consumer drains everything that arrived since it last looked.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from tsxbot.bus.message import Message
from tsxbot.bus.metrics import SubscriptionCounters, SubscriptionMetrics
from tsxbot.messages import Channel, MessageDecodeError

# Told of each durable message that could not be decoded: its channel, its raw bytes and why.
# Awaited before the message is dead-lettered and acknowledged, so what it publishes about the
# message (a refusal) is out first; when it raises, the message stays pending and is delivered
# again (claimed back once idle), never dead-lettered unanswered.
MalformedHandler = Callable[[Channel, bytes, MessageDecodeError], Awaitable[None]]


class Subscription:
    """``async for message in subscription`` (one at a time) or ``await next_batch()`` (all that
    is waiting, at most ``limit``). Iteration ends, and ``next_batch`` returns ``[]``, once the
    subscription or its bus is closed. Durable messages come before ephemeral ones when both
    wait; within a channel the order is the publish order."""

    def __init__(self, channels: Sequence[Channel], *, name: str, capacity: int) -> None:
        self.channels: tuple[Channel, ...] = tuple(channels)
        self.name = name
        self.capacity = capacity
        self.counters = SubscriptionCounters()
        self._durable: deque[Message] = deque()
        self._ephemeral: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self.on_malformed: MalformedHandler | None = None

    # -- consumer side ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        while True:
            if self._durable:
                message = self._durable.popleft()
                self.counters.received += 1
                self._after_durable_taken()
                return message
            if self._ephemeral:
                self.counters.received += 1
                return self._ephemeral.popleft()
            if self._closed:
                raise StopAsyncIteration
            self._refill()
            if not self._durable:
                await self._wait()

    async def next_batch(self, limit: int = 1000) -> list[Message]:
        """Everything waiting (durable first), at most ``limit``; waits when nothing is."""
        while True:
            if not self._durable:
                self._refill()
            if self._durable or self._ephemeral:
                return self._take(limit)
            if self._closed:
                return []
            await self._wait()

    async def close(self) -> None:
        """Stops receiving. Durable messages not yet acknowledged stay pending for this consumer
        group and are delivered again to the next subscriber of it (``redelivered``)."""
        if self._closed:
            return
        self._closed = True
        self._ephemeral.clear()
        self._wake()
        await self._on_close()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def metrics(self) -> SubscriptionMetrics:
        c = self.counters
        return SubscriptionMetrics(
            name=self.name,
            channels=tuple(ch.name for ch in self.channels),
            depth=len(self._durable) + len(self._ephemeral),
            capacity=self.capacity,
            received=c.received,
            dropped=c.dropped,
            duplicates=c.duplicates,
            redelivered=c.redelivered,
            acked=c.acked,
            decode_errors=c.decode_errors,
            dead_lettered=c.dead_lettered,
        )

    # -- bus side --------------------------------------------------------------------------------
    def _push_ephemeral(self, message: Message) -> None:
        queue = self._ephemeral
        if len(queue) >= self.capacity:
            queue.popleft()
            self.counters.dropped += 1
        queue.append(message)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _push_durable(self, messages: Sequence[Message]) -> None:
        self._durable.extend(messages)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _refill(self) -> None:
        """Hook: an implementation that pulls durable messages (in-process) does it here."""

    def _after_durable_taken(self) -> None:
        """Hook: an implementation that flow-controls its durable reader resumes it here."""

    async def _on_close(self) -> None:
        """Hook: release connections, hand unacknowledged messages back."""

    def _take(self, limit: int) -> list[Message]:
        batch: list[Message] = []
        durable, ephemeral = self._durable, self._ephemeral
        if durable:
            n = min(limit, len(durable))
            batch.extend(durable.popleft() for _ in range(n))
            self._after_durable_taken()
        room = limit - len(batch)
        if room > 0 and ephemeral:
            if len(ephemeral) <= room:
                batch.extend(ephemeral)
                ephemeral.clear()
            else:
                batch.extend(ephemeral.popleft() for _ in range(room))
        self.counters.received += len(batch)
        return batch

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None
