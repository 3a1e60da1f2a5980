"""The submission -> exchange round trip the aggregator sees: from receiving a bot's submission
to receiving the connection manager's first answer about it (the placement's ``CommandResult``
or the order's first ``OrderUpdate``, whichever comes first), over a recent window of orders.
Measured on this process's monotonic clock (``time.perf_counter``), not the simulated one."""

from __future__ import annotations

import time
from collections import deque

WINDOW = 500  # the most recent round trips kept (the dashboard's p50/p99 are over these)
MAX_PENDING = 10_000  # submissions awaiting their first answer; the oldest are dropped beyond


class RoundTrips:
    def __init__(self, window: int = WINDOW) -> None:
        self.seconds: deque[float] = deque(maxlen=window)
        self._pending: dict[str, float] = {}

    def received(self, key: str, at: float | None = None) -> None:
        """A submission ``key`` was received at ``at`` (perf_counter seconds; now by default)."""
        if len(self._pending) >= MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        self._pending[key] = time.perf_counter() if at is None else at

    def answered(self, key: str, at: float | None = None) -> None:
        """The first answer about ``key`` came: its round trip joins the window (later ones don't)."""
        started = self._pending.pop(key, None)
        if started is not None:
            self.seconds.append((time.perf_counter() if at is None else at) - started)

    def forget(self, key: str) -> None:
        """``key`` will get no answer worth timing (refused, failed to send)."""
        self._pending.pop(key, None)

    @property
    def pending(self) -> int:
        return len(self._pending)
