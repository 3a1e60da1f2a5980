"""Gating: may the bot open a position now? (The checks every strategy shares.)

``Gate(settings)`` answers ``check(now_ns, side, open_entries)`` with None (go) or a ``Skip``:

- ``PAUSED``: new entries are paused (exits are still managed);
- ``DIRECTION``: the bot's ``direction`` is the other one;
- ``OUTSIDE_HOURS``: ``now`` is outside ``tradingHours`` (``[start, end)``, its time zone);
- ``AFTER_FLATTEN_TIME``: at or after ``exits.flattenAt`` (until the trading day ends);
- ``MAX_POSITIONS``: ``open_entries`` (entries held now) reached ``risk.maxPositions``;
- ``MAX_SIGNALS_PER_DAY``: ``risk.maxSignalsPerDay`` entries already taken this trading day
  (the count resets at the trading-day boundary of the session calendar: 17:00 CT for CME);
- ``COOLDOWN``: less than ``signalCooldownMinutes`` since the last exit.

``record_entry(now_ns)`` counts an entry; ``roll(now_ns)`` moves to ``now``'s trading day (a bot
calls it on every bar: its status shows the new day's count from the roll on);
``record_exit(now_ns)`` starts the cooldown;
``flatten_due(now_ns)`` says the time exit is due. ``now`` is a bar's close, never the wall clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tsxbot.config.bot_config import BotConfig
from tsxbot.config.instruments import Instrument
from tsxbot.sessions import SessionCalendar
from tsxbot.strategy.clock import ExchangeClock, minutes
from tsxbot.strategy.signals import Reason, Side
from tsxbot.strategy.skip import Skip, SkipKind

__all__ = ["Gate"]

_NS = 1_000_000_000


class Gate:
    def __init__(self, config: BotConfig, instrument: Instrument, calendar: SessionCalendar) -> None:
        self.config = config
        self.clock = ExchangeClock(calendar)
        exchange_timezone = instrument.sessions.timezone
        self._session_open = minutes(instrument.sessions.eth.open)
        hours = config.trading_hours
        self._hours = (minutes(hours.start), minutes(hours.end))
        # Trading hours in another zone than the exchange's are read with zoneinfo.
        self._hours_zone = None if hours.timezone == exchange_timezone else ZoneInfo(hours.timezone)
        flatten = config.exits.flatten_at
        self._flatten = None if flatten is None else minutes(flatten)
        # flatten_due's last answer and the span [from, until) of UTC ns it holds for.
        self._due = False
        self._due_from = self._due_until = 0
        self._cooldown_ns = round(config.signal_cooldown_minutes * 60 * _NS)
        self.paused = False
        self.trading_date: int | None = None
        self.entries_today = 0
        self.last_exit_ns: int | None = None

    def roll(self, now_ns: int) -> None:
        """Starts a new trading day's count when ``now_ns`` belongs to another trading day."""
        day = self.clock.trading_date(now_ns)
        if day is not None and day != self.trading_date:
            self.trading_date = day
            self.entries_today = 0

    def _in_hours(self, now_ns: int) -> bool:
        start, end = self._hours
        if self._hours_zone is None:
            return self.clock.in_window(now_ns, start, end)
        local = dt.datetime.fromtimestamp(now_ns / _NS, self._hours_zone)
        minute = local.hour * 60 + local.minute
        return start <= minute < end if start <= end else (minute >= start or minute < end)

    def flatten_due(self, now_ns: int) -> bool:
        """At or after ``exits.flattenAt`` on this trading day (until the session closes).

        Asked on every bar a position is held: the answer is kept with the span of time it holds
        for (up to the next flattenAt, session open or midnight in exchange time, or an earlier
        change of the UTC offset), so a bar inside that span compares two integers."""
        if self._flatten is None:
            return False
        if self._due_from <= now_ns < self._due_until:
            return self._due
        return self._flatten_span(now_ns)

    def _flatten_span(self, now_ns: int) -> bool:
        """Whether the time exit is due at ``now_ns``, kept for ``[now_ns, until)``: the minute of
        the day (exchange time, as ``ExchangeClock.minute_of_day``) stays on the same side of
        flattenAt and the session open until the next of them or midnight, unless the UTC offset
        changes first (DST): then until that change (a zone changes at most once a day)."""
        flatten = self._flatten
        assert flatten is not None
        session_open = self._session_open
        calendar = self.clock.calendar
        offset = calendar.utc_offset(now_ns)
        local = now_ns // _NS + offset
        minute = (local % 86_400) // 60
        # From flattenAt until the next session opens (CME: 17:00 CT).
        due = flatten <= minute < session_open if flatten < session_open else minute >= flatten
        change = min(m for m in (flatten, session_open, 1440) if m > minute)
        until = (local - local % 86_400 + change * 60 - offset) * _NS
        if calendar.utc_offset(until - 1) != offset:
            # The offset changes before then: the first ns at the new offset (bisected).
            same, other = now_ns, until - 1
            while other - same > 1:
                middle = (same + other) // 2
                if calendar.utc_offset(middle) == offset:
                    same = middle
                else:
                    other = middle
            until = other
        self._due, self._due_from, self._due_until = due, now_ns, until
        return due

    def check(self, now_ns: int, side: Side, open_entries: int, reason: Reason) -> Skip | None:
        self.roll(now_ns)
        config = self.config
        if self.paused:
            return Skip(kind=SkipKind.PAUSED, detail="new entries are paused", reason=reason)
        if config.direction != "both" and config.direction != side:
            return Skip(
                kind=SkipKind.DIRECTION,
                detail=f"a {side} signal; the bot trades {config.direction} only",
                reason=reason,
            )
        if not self._in_hours(now_ns):
            hours = config.trading_hours
            return Skip(
                kind=SkipKind.OUTSIDE_HOURS,
                detail=f"outside tradingHours {hours.start}-{hours.end} {hours.timezone}",
                reason=reason,
            )
        if self.flatten_due(now_ns):
            return Skip(
                kind=SkipKind.AFTER_FLATTEN_TIME,
                detail=f"at or after exits.flattenAt {config.exits.flatten_at}",
                reason=reason,
            )
        if open_entries >= config.risk.max_positions:
            return Skip(
                kind=SkipKind.MAX_POSITIONS,
                detail=f"{open_entries} position(s) open, risk.maxPositions is {config.risk.max_positions}",
                reason=reason,
            )
        if self.entries_today >= config.risk.max_signals_per_day:
            return Skip(
                kind=SkipKind.MAX_SIGNALS_PER_DAY,
                detail=f"{self.entries_today} entries today, risk.maxSignalsPerDay is "
                f"{config.risk.max_signals_per_day}",
                reason=reason,
            )
        if self.last_exit_ns is not None and now_ns - self.last_exit_ns < self._cooldown_ns:
            left = (self._cooldown_ns - (now_ns - self.last_exit_ns)) / _NS / 60
            return Skip(
                kind=SkipKind.COOLDOWN,
                detail=f"{left:.1f} of signalCooldownMinutes {config.signal_cooldown_minutes:g} left "
                "since the last exit",
                reason=reason,
            )
        return None

    def record_entry(self, now_ns: int) -> None:
        self.roll(now_ns)
        self.entries_today += 1

    def record_exit(self, now_ns: int) -> None:
        self.last_exit_ns = now_ns
