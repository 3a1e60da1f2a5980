"""Exchange time and trading sessions for the Rust core.

Timestamps cross into Rust as integer nanoseconds since the epoch (UTC). Local exchange time
needs the time zone's DST rules: rather than bundle a tz database or a tz crate in the Rust core,
Python hands it the zone's UTC-offset transitions, computed once per zone from ``zoneinfo`` (the
``tzdata`` package), so the Rust side and the rest of tsxbot read the very same rules. The table
covers 1970-2100; a lookup is a binary search over ~260 instants.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from tsxbot._core import SessionCalendar, SessionConfigError, SessionKind
from tsxbot.config.instruments import Instrument
from tsxbot.config.types import parse_time_of_day

__all__ = [
    "SessionCalendar",
    "SessionConfigError",
    "SessionKind",
    "calendar_for",
    "date_from_days",
    "from_ns",
    "to_ns",
    "utc_offset_transitions",
]

_FIRST_YEAR = 1970
_LAST_YEAR = 2100
_NS = 1_000_000_000
_DAY = 86_400


def to_ns(when: dt.datetime) -> int:
    """An aware datetime as integer nanoseconds since the epoch (exact to the microsecond)."""
    if when.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant; attach a time zone")
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * _DAY + delta.seconds) * _NS + delta.microseconds * 1000


def date_from_days(days: int) -> dt.date:
    """A trading date as the Rust core reports it (days since 1970-01-01)."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=days)


def _offset(zone: ZoneInfo, epoch_seconds: int) -> int:
    offset = dt.datetime.fromtimestamp(epoch_seconds, zone).utcoffset()
    assert offset is not None  # a ZoneInfo always answers
    return int(offset.total_seconds())


@cache
def from_ns(ns: int) -> dt.datetime:
    """Integer nanoseconds since the epoch as an aware UTC datetime (to the microsecond)."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)


@cache  # a pure function of the zone; the risk limits and every session calendar share it
def utc_offset_transitions(timezone: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    """``(initial offset seconds, ((utc ns, offset seconds from then on), ...))`` for 1970-2100.

    Found by sampling the zone daily and bisecting each change to the second (zones change their
    offset at most a few times a year, never twice within a day).
    """
    zone = ZoneInfo(timezone)
    start = int(dt.datetime(_FIRST_YEAR, 1, 1, tzinfo=dt.UTC).timestamp())
    end = int(dt.datetime(_LAST_YEAR, 12, 31, tzinfo=dt.UTC).timestamp())
    initial = current = _offset(zone, start)
    transitions: list[tuple[int, int]] = []
    t = start
    while t < end:
        nxt = t + _DAY
        after = _offset(zone, nxt)
        if after != current:
            lo, hi = t, nxt  # offset(lo) == current, offset(hi) == after
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == current:
                    lo = mid
                else:
                    hi = mid
            transitions.append((hi * _NS, after))
            current = after
        t = nxt
    return initial, tuple(transitions)


def _minute(value: str) -> int:
    time = parse_time_of_day(value)
    return time.hour * 60 + time.minute


def calendar_for(instrument: Instrument) -> SessionCalendar:
    """The instrument's ETH/RTH calendar in its exchange time zone (from the instruments table)."""
    return _calendar(
        instrument.sessions.timezone,
        instrument.sessions.eth.open,
        instrument.sessions.eth.close,
        instrument.sessions.rth.open,
        instrument.sessions.rth.close,
        instrument.sessions.trading_days,
    )


@cache
def _calendar(
    timezone: str, eth_open: str, eth_close: str, rth_open: str, rth_close: str, days: str
) -> SessionCalendar:
    initial, transitions = utc_offset_transitions(timezone)
    return SessionCalendar(
        initial,
        list(transitions),
        _minute(eth_open),
        _minute(eth_close),
        _minute(rth_open),
        _minute(rth_close),
        [int(d) for d in days],
    )
