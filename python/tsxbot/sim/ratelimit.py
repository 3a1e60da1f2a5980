"""The documented rate limits (HTTP 429 past them), in real time.

"200 requests / 60 s" is read literally by default: a sliding window that lets at most N requests
through in any W seconds. A token bucket of the same size and rate (which lets up to 2N through
in the first W seconds: a full bucket, then its refill) is the alternative. A refused request
takes nothing from any limit.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from typing import Literal, Protocol

from tsxbot.config.limits import RateLimit

Algorithm = Literal["slidingWindow", "tokenBucket"]


class Limit(Protocol):
    def wait(self, now: float) -> float:
        """0 if a request may pass at ``now``, else the seconds until one may (takes nothing)."""

    def take(self, now: float) -> None:
        """Counts one request at ``now`` (after ``wait`` said 0)."""


class Bucket:
    """A token bucket: ``requests`` tokens, refilled at ``requests / period`` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, limit: RateLimit) -> None:
        self.capacity = float(limit.requests)
        self.rate = limit.requests / limit.period_seconds
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


class Window:
    """A sliding window: at most ``requests`` in any ``period`` seconds."""

    __slots__ = ("capacity", "period", "stamps")

    def __init__(self, limit: RateLimit) -> None:
        self.capacity = limit.requests
        self.period = limit.period_seconds
        self.stamps: deque[float] = deque()

    def wait(self, now: float) -> float:
        stamps = self.stamps
        while stamps and stamps[0] <= now - self.period:
            stamps.popleft()
        if len(stamps) < self.capacity:
            return 0.0
        return max(stamps[0] + self.period - now, 1e-6)

    def take(self, now: float) -> None:
        self.stamps.append(now)


class RateLimiter:
    def __init__(
        self, limits: dict[str, RateLimit], enabled: bool = True, algorithm: Algorithm = "slidingWindow"
    ) -> None:
        self.limits = dict(limits)
        self.enabled = enabled
        self.algorithm: Algorithm = algorithm
        self._buckets: dict[tuple[str, str], Limit] = {}
        self.refused = 0

    def _limit(self, bucket: str, key: str) -> Limit:
        found = self._buckets.get((bucket, key))
        if found is None:
            limit = self.limits[bucket]
            found = Window(limit) if self.algorithm == "slidingWindow" else Bucket(limit)
            self._buckets[(bucket, key)] = found
        return found

    def take(self, buckets: str | Sequence[str], key: str) -> float:
        """One request against every one of ``buckets``: 0 if all allow it (it is counted in
        each), else the seconds until all would (nothing is counted)."""
        if not self.enabled:
            return 0.0
        names = (buckets,) if isinstance(buckets, str) else tuple(buckets)
        now = time.monotonic()
        limits = [self._limit(name, key) for name in names]
        wait = max((limit.wait(now) for limit in limits), default=0.0)
        if wait:
            self.refused += 1
            return wait
        for limit in limits:
            limit.take(now)
        return 0.0

    def configure(self, bucket: str, limit: RateLimit) -> None:
        self.limits[bucket] = limit
        for key in [k for k in self._buckets if k[0] == bucket]:
            del self._buckets[key]

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
