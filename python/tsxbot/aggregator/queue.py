"""The order queue (the spec's QueueManager): priorities, one account-wide pace, a bound and an
expiry.

- Priority classes: flatten and protective-order changes first, then exits, then entries; within
  a class the submission's own ``priority`` (higher first), then arrival order.
- Bounded: an order that does not fit is refused (``QueueFull``); the aggregator's own flatten and
  protective commands are never refused for room (they are what keeps positions safe).
- Expiry: an order still queued ``max_age`` seconds after it arrived is handed back as expired,
  never sent late.
- ``RateLimiter``: a token bucket every command to the connection manager takes from, so all the
  bots together stay under TopStepX's request limits.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from tsxbot.bus import Message
from tsxbot.messages.payload import Payload


class Priority(IntEnum):
    """Lower goes first."""

    PROTECTIVE = 0  # flatten, cancels of protective orders, SL/TP changes
    EXIT = 1
    ENTRY = 2


class QueueFull(Exception):
    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(f"the order queue is full ({size} orders waiting)")


@dataclass(eq=False)
class QueuedCommand:
    """A command waiting to go to the connection manager."""

    priority: Priority
    command: Payload
    bot_id: str | None = None
    # The risk engine's id of the order (``<bot>:<orderId>``), for ``on_order_closed`` on expiry.
    order_key: str | None = None
    # The submission it answers (acknowledged once the command is sent or the order refused).
    message: Message | None = None
    bot_priority: int = 0
    # What the risk engine accepted (kept with the order for a restart).
    request: Any = None
    # Set by the queue.
    enqueued_at: float = 0.0
    seq: int = 0
    removed: bool = field(default=False, repr=False)

    @property
    def command_id(self) -> str:
        value: Any = getattr(self.command, "command_id", "")
        return str(value)

    def sort_key(self) -> tuple[int, int, int]:
        return (int(self.priority), -self.bot_priority, self.seq)


class OrderQueue:
    def __init__(self, max_size: int, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_size = max_size
        self.max_age = max_age
        self._clock = clock
        self._heap: list[tuple[tuple[int, int, int], QueuedCommand]] = []
        self._seq = itertools.count()
        self._size = 0
        self.expired_total = 0
        self.refused_full = 0

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[QueuedCommand]:
        return (item for _, item in sorted(self._heap, key=lambda e: e[0]) if not item.removed)

    def push(self, item: QueuedCommand, *, enqueued_at: float | None = None) -> None:
        """Raises ``QueueFull`` for a bot's order when ``max_size`` orders wait."""
        if item.priority is not Priority.PROTECTIVE and self._size >= self.max_size:
            self.refused_full += 1
            raise QueueFull(self._size)
        item.enqueued_at = self._clock() if enqueued_at is None else enqueued_at
        item.seq = next(self._seq)
        heapq.heappush(self._heap, (item.sort_key(), item))
        self._size += 1

    def age(self, item: QueuedCommand) -> float:
        return self._clock() - item.enqueued_at

    def take_expired(self) -> list[QueuedCommand]:
        """Removes and returns every bot order queued longer than ``max_age``."""
        now = self._clock()
        expired = [
            item
            for _, item in self._heap
            if not item.removed
            and item.priority is not Priority.PROTECTIVE
            and now - item.enqueued_at > self.max_age
        ]
        for item in expired:
            self._remove(item)
        self.expired_total += len(expired)
        return expired

    def next_expiry_in(self) -> float | None:
        ages = [
            item.enqueued_at + self.max_age - self._clock()
            for _, item in self._heap
            if not item.removed and item.priority is not Priority.PROTECTIVE
        ]
        return max(0.0, min(ages)) if ages else None

    def pop(self) -> QueuedCommand | None:
        while self._heap:
            _, item = heapq.heappop(self._heap)
            if item.removed:
                continue
            self._size -= 1
            return item
        return None

    def remove_where(self, predicate: Callable[[QueuedCommand], bool]) -> list[QueuedCommand]:
        removed = [item for _, item in self._heap if not item.removed and predicate(item)]
        for item in removed:
            self._remove(item)
        return removed

    def _remove(self, item: QueuedCommand) -> None:
        item.removed = True
        self._size -= 1
        if self._size == 0:
            self._heap.clear()


class RateLimiter:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0: now)."""
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def take(self) -> None:
        self._refill()
        self._tokens -= 1.0
