"""Token buckets for the documented rate limits (HTTP 429 past them), in real time."""

from __future__ import annotations

import math
import time

from tsxbot.config.limits import RateLimit


class Bucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, limit: RateLimit) -> None:
        self.capacity = float(limit.requests)
        self.rate = limit.requests / limit.period_seconds
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> float:
        """Takes one request; returns 0 if allowed, else the seconds until one is allowed."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, limits: dict[str, RateLimit], enabled: bool = True) -> None:
        self.limits = dict(limits)
        self.enabled = enabled
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self.refused = 0

    def take(self, bucket: str, key: str) -> float:
        if not self.enabled:
            return 0.0
        found = self._buckets.get((bucket, key))
        if found is None:
            found = self._buckets[(bucket, key)] = Bucket(self.limits[bucket])
        wait = found.take()
        if wait:
            self.refused += 1
        return wait

    def configure(self, bucket: str, limit: RateLimit) -> None:
        self.limits[bucket] = limit
        for key in [k for k in self._buckets if k[0] == bucket]:
            del self._buckets[key]

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
