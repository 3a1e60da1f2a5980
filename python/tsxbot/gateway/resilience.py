"""Client-side protection: a sliding-window rate limiter, exponential backoff with jitter, and a
circuit breaker per endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``period`` seconds (how ProjectX documents its limits:
    200 requests / 60 s; History 50 / 30 s, throttled to 30 / 30 s to be safe).

    ``slot()`` holds a place for a request in flight and dates it from when the request ends:
    the server counts a request when it arrives, which is after it was sent and before its
    answer is back, so however the network delays each one the server never sees more than
    ``limit`` in any ``period``. ``acquire()`` dates a place from now."""

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate limit needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._sent: deque[float] = deque()
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()
        self.waits = 0

    async def acquire(self) -> None:
        await self._take(hold=False)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._take(hold=True)
        try:
            yield
        finally:
            self._in_flight -= 1
            self._sent.append(time.monotonic())
            self._released.set()

    async def _take(self, *, hold: bool) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                if len(self._sent) + self._in_flight < self.limit:
                    if hold:
                        self._in_flight += 1
                    else:
                        self._sent.append(now)
                    return
                self.waits += 1
                # A place frees when the oldest leaves the window; with every place in flight,
                # wait for one to end first.
                self._released.clear()
                timeout = self.period - (now - self._sent[0]) + 0.001 if self._sent else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), timeout)


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``attempt`` (0-based): base x factor^attempt, capped, with full jitter
    in [delay/2, delay] so many clients do not retry in step."""

    base: float = 0.25
    factor: float = 2.0
    cap: float = 10.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        delay = min(self.cap, self.base * self.factor**attempt)
        return delay * (0.5 + (rng or random).random() / 2)


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; while open, calls fail fast for
    ``cooldown`` seconds; then one trial call is let through (half-open): success closes it,
    failure opens it again."""

    def __init__(self, threshold: int = 5, cooldown: float = 15.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def remaining(self) -> float | None:
        """Seconds until calls may go again (None: closed, or a trial may go now); claims nothing."""
        if self.opened_at is None:
            return None
        remaining = self.cooldown - (time.monotonic() - self.opened_at)
        if remaining > 0 or self._trial_running:
            return max(remaining, 0.0)
        return None

    def release(self) -> None:
        """A claimed trial that ended without an answer either way: let the next call try."""
        self._trial_running = False

    def check(self) -> float | None:
        """None if a call may go ahead; else the seconds until the next trial."""
        if self.opened_at is None:
            return None
        remaining = self.cooldown - (time.monotonic() - self.opened_at)
        if remaining > 0 or self._trial_running:
            return max(remaining, 0.0)
        self._trial_running = True
        return None

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial_running = False

    def failure(self, *, counts: bool = True) -> None:
        """A failed call. ``counts=False``: a retry of a call whose failure was counted already
        (one request retried must not open the circuit for every other caller; a failed trial
        still re-opens it)."""
        if counts:
            self.failures += 1
        self._trial_running = False
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()
