"""The simulated clock: UTC nanoseconds that run at ``speed`` x real time, or jump as the feed
replays as fast as possible (speed 0), or stand still while paused (moved by the admin API).

Everything the simulator stamps (orders, fills, quotes, bars) reads this clock, never the wall
clock; only token expiry and rate limits use real time, as clients compare those with theirs.
"""

from __future__ import annotations

import time


class SimClock:
    def __init__(self, start_ns: int, *, speed: float = 1.0, paused: bool = False) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.speed = speed
        self._base_ns = start_ns
        self._base_mono = time.monotonic()
        self._admin_paused = paused

    @property
    def paused(self) -> bool:
        """Paused through the admin API (or from the start): only ``advance_to`` moves it."""
        return self._admin_paused

    @property
    def frozen(self) -> bool:
        """The clock does not move by itself (paused, or speed 0 where the feed moves it)."""
        return self._admin_paused or self.speed == 0

    @property
    def racing(self) -> bool:
        """Speed 0 and not paused: the feed should replay as fast as it can."""
        return self.speed == 0 and not self._admin_paused

    def now_ns(self) -> int:
        if self.frozen:
            return self._base_ns
        return self._base_ns + int((time.monotonic() - self._base_mono) * self.speed * 1e9)

    def pause(self) -> None:
        self._base_ns = self.now_ns()
        self._base_mono = time.monotonic()
        self._admin_paused = True

    def resume(self) -> None:
        self._base_ns = self.now_ns()
        self._base_mono = time.monotonic()
        self._admin_paused = False

    def advance_to(self, ns: int) -> None:
        """Moves the clock forward to ``ns`` (never backwards)."""
        now = self.now_ns()
        self._base_ns = max(now, ns)
        self._base_mono = time.monotonic()

    def real_seconds_until(self, ns: int) -> float:
        """Real seconds until the clock reads ``ns``; inf while it does not move by itself."""
        gap = ns - self.now_ns()
        if gap <= 0:
            return 0.0
        if self.frozen:
            return float("inf")
        return gap / 1e9 / self.speed
