"""The exchange's time as this process estimates it from the exchange's own answers.

The host's clock is never assumed to agree with the exchange's (a simulator started at another
time, or a host clock that is simply wrong). Every timestamp TopStepX sends (orders, fills and
positions in REST answers and hub events) says the exchange's clock had reached at least that
time; the estimate is the host's clock plus the largest such offset seen. A timestamp of
something that just happened (a hub event) resets the estimate to it, so an exchange whose clock
went back (a restarted simulator) is followed too. Search windows start from the estimate, and
while nothing has been seen yet, from far enough back to find whatever the exchange holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from tsxbot.log import get_logger

log = get_logger("tsxbot.gateway.exchange_clock")
# Where a search starts when nothing tells the exchange's time (and where a tag look-up that
# must find its order searches): before any order TopStepX can hold.
SEARCH_FLOOR = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
# How much later than the host's clock a "fresh" event may be stamped before it counts as a
# clock difference rather than transit time (for the log line only).
_LOG_STEP = dt.timedelta(minutes=1)


class ExchangeClock:
    def __init__(self, host: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._host = host
        self.offset: dt.timedelta | None = None  # exchange - host, once anything has been seen
        self.observations = 0

    @property
    def known(self) -> bool:
        return self.offset is not None

    def now(self) -> dt.datetime:
        """The exchange's time (the host's until the exchange has said anything)."""
        return self._host() + (self.offset or dt.timedelta(0))

    def since(self, window: dt.timedelta) -> dt.datetime:
        """Where a search for the last ``window`` of the exchange's history starts: the
        estimate minus the window, or the search floor while the exchange's time is unknown."""
        if self.offset is None:
            return SEARCH_FLOOR
        return self.now() - window

    def observe(self, when: dt.datetime | None, *, fresh: bool = False) -> None:
        """An exchange timestamp: the exchange's clock is at least there (``fresh``: it is about
        there now)."""
        if when is None:
            return
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        offset = when - self._host()
        self.observations += 1
        previous = self.offset
        if previous is None or offset > previous or fresh:
            self.offset = offset
            if previous is None or abs(offset - previous) > _LOG_STEP:
                log.info(
                    "exchange clock estimated",
                    exchange_time=when.isoformat(),
                    offset_s=round(offset.total_seconds(), 3),
                )

    def observe_all(self, stamps: Iterable[dt.datetime | None]) -> None:
        latest = max((s for s in stamps if s is not None), default=None)
        self.observe(latest)
