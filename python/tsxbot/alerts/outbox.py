"""One channel's (or one Telegram chat's) delivery: a bounded queue the bus consumer drops alerts
into without ever waiting, and one task that sends them.

- **coalescing**: the task waits ``coalesce_s`` after the first alert of a batch and sends
  everything that arrived meanwhile as one message (a burst of one kind is one summary line);
- **dedup**: an alert whose key was sent within ``dedup_s`` is skipped (a fill redelivered after
  a restart, a state reported twice);
- **rate limit**: a token bucket of ``per_minute`` messages a minute (burst up to 5); alerts
  arriving while it waits join the next message;
- **retries**: a failed send is retried ``attempts`` times with exponential backoff (the
  channel's ``retry_after`` when it gives one); then the message is dropped and logged;
- **bounded**: at most ``capacity`` alerts wait; beyond that the oldest is dropped, counted and
  logged. So a dead endpoint costs memory bounded by ``capacity`` and nothing else.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tsxbot.alerts.events import Alert
from tsxbot.alerts.transports import DeliveryError, Transport
from tsxbot.log import get_logger

log = get_logger("tsxbot.alerts")
DEDUP_KEYS = 100_000


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.cap_s, self.base_s * float(2 ** min(attempt, 30)))
        return float(max(backoff, min(retry_after, 3600.0)) if retry_after is not None else backoff)


async def deliver(
    send: Callable[[], object],
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], object] = asyncio.sleep,
) -> bool:
    """Runs ``send`` (a coroutine function) until it succeeds, a non-retryable error, or
    ``policy.attempts`` retries; True when delivered."""
    attempt = 0
    while True:
        try:
            await send()  # type: ignore[misc]
            return True
        except DeliveryError as exc:
            if not exc.retry or attempt >= policy.attempts:
                log.error("alert not delivered", channel=what, error=str(exc), attempts=attempt + 1)
                return False
            delay = policy.delay(attempt, exc.retry_after)
            log.warning("alert send failed; retrying", channel=what, error=str(exc), retry_in=round(delay, 3))
            attempt += 1
            await sleep(delay)  # type: ignore[misc]


class TokenBucket:
    def __init__(self, per_minute: int, burst: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.tokens = self.burst
        self.monotonic = monotonic
        self._at = monotonic()

    def wait_time(self) -> float:
        """Seconds until a token is there (0: take one now)."""
        now = self.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class OutboxCounters:
    offered: int = 0
    sent_messages: int = 0
    sent_alerts: int = 0
    failed_messages: int = 0
    failed_alerts: int = 0
    dropped: int = 0  # queue full: the oldest alert dropped
    duplicates: int = 0
    coalesced: int = 0  # alerts that went out in a message with others
    retries: int = 0


class Outbox:
    def __init__(
        self,
        transport: Transport,
        *,
        capacity: int = 1000,
        coalesce_s: float = 1.0,
        dedup_s: float = 300.0,
        per_minute: int = 20,
        policy: RetryPolicy | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.name = transport.name
        self.capacity = capacity
        self.coalesce_s = coalesce_s
        self.dedup_s = dedup_s
        self.policy = policy or RetryPolicy()
        self.bucket = TokenBucket(per_minute, min(per_minute, 5), monotonic)
        self.monotonic = monotonic
        self.counters = OutboxCounters()
        self._queue: deque[Alert] = deque()
        self._sent_keys: OrderedDict[str, float] = OrderedDict()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    # --- the producer's side: never waits ---------------------------------------------------------

    def offer(self, alert: Alert) -> None:
        self.counters.offered += 1
        if len(self._queue) >= self.capacity:
            dropped = self._queue.popleft()
            self.counters.dropped += 1
            if self.counters.dropped in (1, 10, 100) or self.counters.dropped % 1000 == 0:
                log.error(
                    "alert queue full: oldest alert dropped",
                    channel=self.name,
                    dropped=self.counters.dropped,
                    kind=dropped.kind.value,
                    title=dropped.title,
                )
        self._queue.append(alert)
        self._idle.clear()
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def drained(self) -> None:
        """Returns once nothing waits and nothing is being sent."""
        await self._idle.wait()

    # --- the sender -------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(self.coalesce_s)  # what arrives meanwhile goes in this message
            await self._rate_limit()
            batch = self._take()
            if not batch:
                continue
            self.bucket.take()
            await self._send(batch)

    async def _rate_limit(self) -> None:
        wait = self.bucket.wait_time()
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self.bucket.wait_time()

    def _take(self) -> list[Alert]:
        now = self.monotonic()
        keys = self._sent_keys
        while keys and next(iter(keys.values())) < now - self.dedup_s:
            keys.popitem(last=False)
        batch: list[Alert] = []
        seen: set[str] = set()
        while self._queue:
            alert = self._queue.popleft()
            if alert.key in keys or alert.key in seen:
                self.counters.duplicates += 1
                continue
            seen.add(alert.key)
            batch.append(alert)
        return batch

    async def _send(self, batch: Sequence[Alert]) -> None:
        attempts = 0

        async def once() -> None:
            nonlocal attempts
            attempts += 1
            await self.transport.send(batch)

        try:
            ok = await deliver(once, self.policy, self.name)
        except Exception:  # a bug in a transport must not end the channel
            log.exception("alert send raised", channel=self.name)
            ok = False
        self.counters.retries += max(0, attempts - 1)
        if ok:
            self.counters.sent_messages += 1
            self.counters.sent_alerts += len(batch)
            if len(batch) > 1:
                self.counters.coalesced += len(batch)
            now = self.monotonic()
            for alert in batch:
                self._sent_keys[alert.key] = now
                self._sent_keys.move_to_end(alert.key)
            while len(self._sent_keys) > DEDUP_KEYS:
                self._sent_keys.popitem(last=False)
        else:
            self.counters.failed_messages += 1
            self.counters.failed_alerts += len(batch)
            log.error(
                "alerts dropped after their retries",
                channel=self.name,
                alerts=len(batch),
                kinds=sorted({a.kind.value for a in batch}),
            )
