"""Exchange time read off a bar's timestamp (never the wall clock).

``ExchangeClock(calendar)``: ``minute_of_day(ts_ns)`` (0..1439 in the instrument's exchange time,
DST from the session calendar), ``trading_date(ts_ns)`` (days since 1970, the ETH trading day a
moment belongs to, None outside a session) and ``in_window(ts_ns, start, end)`` for ``"HH:MM"``
windows (a window whose end is before its start runs over midnight).
"""

from __future__ import annotations

from tsxbot.config.types import parse_time_of_day
from tsxbot.sessions import SessionCalendar, SessionKind

__all__ = ["ExchangeClock", "minutes"]

_NS = 1_000_000_000


def minutes(time_of_day: str) -> int:
    """``"08:30"`` -> 510."""
    t = parse_time_of_day(time_of_day)
    return t.hour * 60 + t.minute


class ExchangeClock:
    """Each answer is kept for the last moment asked (a bar's close is asked several times: the
    levels, the gate, the day roll)."""

    __slots__ = ("_date", "_date_ns", "_minute", "_minute_ns", "calendar")

    def __init__(self, calendar: SessionCalendar) -> None:
        self.calendar = calendar
        self._date_ns: int | None = None
        self._date: int | None = None
        self._minute_ns: int | None = None
        self._minute = 0

    def minute_of_day(self, ts_ns: int) -> int:
        if ts_ns != self._minute_ns:
            local = ts_ns // _NS + self.calendar.utc_offset(ts_ns)
            self._minute = (local % 86_400) // 60
            self._minute_ns = ts_ns
        return self._minute

    def trading_date(self, ts_ns: int) -> int | None:
        if ts_ns != self._date_ns:
            self._date = self.calendar.trading_date(ts_ns, SessionKind.ETH)
            self._date_ns = ts_ns
        return self._date

    def in_window(self, ts_ns: int, start: int, end: int) -> bool:
        """Whether ``ts_ns`` falls in ``[start, end)`` (minutes of the day, exchange time)."""
        minute = self.minute_of_day(ts_ns)
        if start <= end:
            return start <= minute < end
        return minute >= start or minute < end
