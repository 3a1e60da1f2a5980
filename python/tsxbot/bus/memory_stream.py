"""The in-process twin of a Redis stream with consumer groups: a log of the durable channel's
messages, a cursor and a pending list per group, and the message ids each group has handled.

A group reads from the oldest retained message when it is created (like ``XGROUP CREATE ... 0``);
entries leave the log once every group has acknowledged them (or, while no group exists, beyond
``max_len``). Publishers wait while the slowest group is ``backlog_limit`` messages behind.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

from tsxbot.bus.message import Message
from tsxbot.messages import AnyEnvelope, Channel

if TYPE_CHECKING:
    from tsxbot.bus.subscription import Subscription


class HandledIds:
    """Message ids a group has handled, forgotten after ``window_s`` seconds (oldest first)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._ids: dict[str, float] = {}

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, message_id: str, now: float) -> None:
        self._ids[message_id] = now
        ids = self._ids
        cutoff = now - self.window_s
        while ids:
            oldest = next(iter(ids))
            if ids[oldest] >= cutoff:
                break
            del ids[oldest]


class _Pending:
    __slots__ = ("consumer", "count", "envelope", "message_id")

    def __init__(self, consumer: str, envelope: AnyEnvelope, message_id: str) -> None:
        self.consumer = consumer
        self.envelope = envelope
        self.message_id = message_id
        self.count = 1


class MemoryStream:
    def __init__(self, channel: Channel, *, max_len: int, backlog_limit: int, dedupe_window_s: float) -> None:
        self.channel = channel
        self.max_len = max_len
        self.backlog_limit = backlog_limit
        self.dedupe_window_s = dedupe_window_s
        self.entries: deque[tuple[AnyEnvelope, str]] = deque()
        self.base = 0  # sequence number of entries[0]
        self.groups: dict[str, MemoryGroup] = {}
        self._space_waiters: list[asyncio.Future[None]] = []

    @property
    def end(self) -> int:
        return self.base + len(self.entries)

    def group(self, name: str) -> MemoryGroup:
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = MemoryGroup(self, name)
        return group

    def backlog(self) -> int:
        """How far the slowest group is behind (delivered but unacknowledged counts as behind)."""
        if not self.groups:
            return 0
        return self.end - min(g.low_water() for g in self.groups.values())

    def append(self, envelope: AnyEnvelope, message_id: str) -> None:
        self.entries.append((envelope, message_id))
        if self.groups:
            for group in self.groups.values():
                group.notify()
        elif len(self.entries) > self.max_len:
            self.entries.popleft()
            self.base += 1

    async def wait_for_space(self, timeout_s: float) -> bool:
        """False when the backlog stayed at the limit for ``timeout_s`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.backlog() >= self.backlog_limit:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter = loop.create_future()
            self._space_waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                return self.backlog() < self.backlog_limit
            finally:
                if waiter in self._space_waiters:
                    self._space_waiters.remove(waiter)
        return True

    def trim(self) -> None:
        if self.groups:
            low = min(g.low_water() for g in self.groups.values())
            while self.base < low:
                self.entries.popleft()
                self.base += 1
        if self._space_waiters and self.backlog() < self.backlog_limit:
            waiters, self._space_waiters = self._space_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)


class MemoryGroup:
    def __init__(self, stream: MemoryStream, name: str) -> None:
        self.stream = stream
        self.name = name
        self.cursor = stream.base  # starts at the oldest retained entry
        # Delivered, not yet acknowledged: seq -> entry; insertion order is seq order (an entry is
        # inserted once, when first delivered), so the first key is the lowest.
        self.pending: dict[int, _Pending] = {}
        self.redeliver: deque[int] = deque()
        self.in_flight: dict[str, int] = {}  # message id -> seq, for pending entries
        self.handled = HandledIds(stream.dedupe_window_s)
        self.readers: list[GroupReader] = []

    def low_water(self) -> int:
        return next(iter(self.pending)) if self.pending else self.cursor

    def notify(self) -> None:
        for reader in self.readers:
            reader.subscription._wake()

    def take(self, reader: GroupReader, limit: int) -> list[Message]:
        out: list[Message] = []
        counters = reader.subscription.counters
        channel = self.stream.channel
        while self.redeliver and len(out) < limit:
            seq = self.redeliver.popleft()
            entry = self.pending.get(seq)
            if entry is None:
                continue  # acknowledged meanwhile
            entry.consumer = reader.consumer
            entry.count += 1
            counters.redelivered += 1
            out.append(Message(channel, entry.envelope, reader, seq, entry.count))
        entries, base, end = self.stream.entries, self.stream.base, self.stream.end
        skipped = False
        while self.cursor < end and len(out) < limit:
            seq = self.cursor
            self.cursor += 1
            envelope, message_id = entries[seq - base]
            if message_id in self.handled or message_id in self.in_flight:
                counters.duplicates += 1
                skipped = True
                continue
            self.pending[seq] = _Pending(reader.consumer, envelope, message_id)
            self.in_flight[message_id] = seq
            out.append(Message(channel, envelope, reader, seq, 1))
        if skipped:
            self.stream.trim()
        return out

    def ack(self, seq: int) -> bool:
        entry = self.pending.pop(seq, None)
        if entry is None:
            return False
        self.in_flight.pop(entry.message_id, None)
        self.handled.add(entry.message_id, time.monotonic())
        self.stream.trim()
        return True

    def release(self, consumer: str) -> None:
        """The consumer stopped: its unacknowledged messages go to the next reader of the group."""
        seqs = [seq for seq, entry in self.pending.items() if entry.consumer == consumer]
        if seqs:
            queued = set(self.redeliver)
            self.redeliver.extend(seq for seq in seqs if seq not in queued)
            self.redeliver = deque(sorted(self.redeliver))
            self.notify()


class GroupReader:
    """One subscription's membership in one group; the acker of the messages it receives."""

    def __init__(self, group: MemoryGroup, consumer: str, subscription: Subscription) -> None:
        self.group = group
        self.consumer = consumer
        self.subscription = subscription

    async def ack(self, message: Message) -> None:
        if self.group.ack(message.token):
            self.subscription.counters.acked += 1
