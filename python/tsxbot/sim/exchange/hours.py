"""When the simulated TopStepX accepts orders, defined once: inside a session of the exchange's
calendar (CME Globex, 17:00-16:00 CT, closed at weekends) and, with
``exchange.rejectAfterFlatten``, not from TopStepX's auto-flatten (``exchange.autoFlattenAt``,
15:10 CT) until the next session opens.

The exchange refuses an order outside these hours (code 5, with a message naming the simulated
time), and ``simulator.startTime: auto`` uses them to pick a moment when orders are accepted.
"""

from __future__ import annotations

import datetime as dt

from tsxbot.config.instruments import Instruments
from tsxbot.config.simulator import ExchangeSettings
from tsxbot.config.types import parse_time_of_day
from tsxbot.sim.sessions import Session, SessionCalendar

# How people write the exchange time zones the instruments table uses.
_ZONE_LABELS = {"America/Chicago": "CT", "America/New_York": "ET"}


class TradingHours:
    def __init__(self, calendar: SessionCalendar, settings: ExchangeSettings) -> None:
        self.calendar = calendar
        self.flatten_at = parse_time_of_day(settings.auto_flatten_at) if settings.auto_flatten_at else None
        self.reject_after_flatten = settings.reject_after_flatten

    @classmethod
    def reference(cls, instruments: Instruments, settings: ExchangeSettings) -> TradingHours:
        """The hours the simulator's exchange keeps: its first enabled instrument's calendar (the
        exchange's reference market)."""
        first = next((i for i in instruments if i.enabled), None)
        if first is None:
            raise ValueError("the simulator needs at least one enabled instrument")
        return cls(SessionCalendar(first.sessions), settings)

    @property
    def zone(self) -> str:
        return _ZONE_LABELS.get(self.calendar.tz.key, self.calendar.tz.key)

    def flatten_ns(self, session: Session) -> int | None:
        """TopStepX's auto-flatten instant in ``session``, or None without one."""
        if self.flatten_at is None:
            return None
        return self.calendar.at_local_time(session.trading_date, self.flatten_at)

    def after_flatten(self, ns: int) -> bool:
        """Orders are refused because TopStepX's trading day has ended (or not yet begun)."""
        if self.flatten_at is None or not self.reject_after_flatten:
            return False
        session = self.calendar.session_at(ns)
        if session is None:
            return True
        flatten = self.flatten_ns(session)
        return flatten is not None and ns >= flatten

    def accepts_orders(self, ns: int) -> bool:
        return self.calendar.session_at(ns) is not None and not self.after_flatten(ns)

    def latest_regular_open(self, ns: int) -> int:
        """The regular open (RTH, 08:30 CT) of the latest trading day at or before ``ns`` at
        which orders are accepted (today's while today's session is still running)."""
        current = self.calendar.session_at(ns)
        candidates = [current] if current is not None else []
        candidates += reversed(self.calendar.sessions_before(ns, 10))
        for session in candidates:
            if session.rth_open_ns <= ns and self.accepts_orders(session.rth_open_ns):
                return session.rth_open_ns
        raise ValueError("no regular open accepting orders in the last ten trading days (check the hours)")

    def local(self, ns: int) -> dt.datetime:
        return self.calendar.local_datetime(ns)

    def weekday_time(self, ns: int) -> str:
        """``Fri 16:36 CT``"""
        return f"{self.local(ns):%a %H:%M} {self.zone}"

    def day_and_time(self, ns: int) -> str:
        """``Fri 2026-12-04 08:30 CT``"""
        return f"{self.local(ns):%a %Y-%m-%d %H:%M} {self.zone}"

    def closed_hours(self) -> str:
        """``15:10-17:00 CT and at weekends``"""
        closes = self.flatten_at if self.flatten_at is not None and self.reject_after_flatten else None
        start = closes or self.calendar.close
        return f"{start:%H:%M}-{self.calendar.open:%H:%M} {self.zone} and at weekends"

    def refusal(self, ns: int) -> str:
        """The errorMessage of an order refused for trading hours (code 5)."""
        local = self.local(ns)
        return (
            f"Outside trading hours: simulated time is {local:%Y-%m-%d %H:%M} {self.zone} ({local:%a});"
            f" the market is closed {self.closed_hours()} (set simulator.startTime)"
        )
