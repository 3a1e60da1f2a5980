"""Trading sessions in exchange time: CME Globex's 17:00-16:00 CT day with the daily halt, the
weekend close, the RTH window, and TopStepX's 15:10 CT end of the trading day.

Holidays and early closes are not modelled: every weekday is a full session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from tsxbot.config.instruments import Sessions
from tsxbot.config.types import parse_time_of_day
from tsxbot.sim.wire.timestamps import to_ns

MINUTE_NS = 60_000_000_000
DAY_NS = 86_400_000_000_000


@dataclass(frozen=True)
class Session:
    """One trading day: from the evening open to the next afternoon's close (UTC ns)."""

    trading_date: dt.date
    open_ns: int
    close_ns: int
    rth_open_ns: int
    rth_close_ns: int

    @property
    def minutes(self) -> int:
        return (self.close_ns - self.open_ns) // MINUTE_NS

    def contains(self, ns: int) -> bool:
        return self.open_ns <= ns < self.close_ns


class SessionCalendar:
    """Sessions of one instrument's hours."""

    def __init__(self, sessions: Sessions) -> None:
        self.tz = ZoneInfo(sessions.timezone)
        self.open = parse_time_of_day(sessions.eth.open)
        self.close = parse_time_of_day(sessions.eth.close)
        self.rth_open = parse_time_of_day(sessions.rth.open)
        self.rth_close = parse_time_of_day(sessions.rth.close)
        self.overnight = self.close <= self.open
        self.open_weekdays = {int(d) for d in sessions.trading_days}
        self._on = lru_cache(maxsize=4096)(self._session_on)

    def local_ns(self, day: dt.date, time: dt.time) -> int:
        return to_ns(dt.datetime.combine(day, time, tzinfo=self.tz))

    def session_on(self, trading_date: dt.date) -> Session | None:
        """The session that closes on ``trading_date``, or None if there is none that day."""
        return self._on(trading_date)

    def _session_on(self, trading_date: dt.date) -> Session | None:
        open_day = trading_date - dt.timedelta(days=1) if self.overnight else trading_date
        if open_day.isoweekday() not in self.open_weekdays:
            return None
        return Session(
            trading_date=trading_date,
            open_ns=self.local_ns(open_day, self.open),
            close_ns=self.local_ns(trading_date, self.close),
            rth_open_ns=self.local_ns(trading_date, self.rth_open),
            rth_close_ns=self.local_ns(trading_date, self.rth_close),
        )

    def local_datetime(self, ns: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(ns / 1e9, self.tz)

    def _candidate_date(self, ns: int) -> dt.date:
        local = self.local_datetime(ns)
        if self.overnight and local.time() >= self.open:
            return local.date() + dt.timedelta(days=1)
        return local.date()

    def session_at(self, ns: int) -> Session | None:
        """The session trading at ``ns``, or None during the halt and at weekends."""
        session = self.session_on(self._candidate_date(ns))
        return session if session is not None and session.contains(ns) else None

    def next_session(self, ns: int) -> Session:
        """The first session that closes after ``ns`` (the current one while open)."""
        day = self._candidate_date(ns)
        for _ in range(15):
            session = self.session_on(day)
            if session is not None and session.close_ns > ns:
                return session
            day += dt.timedelta(days=1)
        raise ValueError("no trading session in the next two weeks (check tradingDays)")

    def sessions_before(self, ns: int, count: int) -> list[Session]:
        """The ``count`` whole sessions that closed at or before ``ns``, oldest first."""
        out: list[Session] = []
        day = self._candidate_date(ns)
        for _ in range(count * 3 + 15):
            session = self.session_on(day)
            if session is not None and session.close_ns <= ns:
                out.append(session)
                if len(out) == count:
                    break
            day -= dt.timedelta(days=1)
        out.reverse()
        return out

    def at_local_time(self, trading_date: dt.date, time: dt.time) -> int:
        return self.local_ns(trading_date, time)
