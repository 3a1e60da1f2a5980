"""ISO-8601 timestamps as the real API writes them, and lenient parsing of what clients send.

The gateway mixes two styles: ``2025-07-18T21:00:01.268009+00:00`` (REST searches) and
``2024-07-21T13:45:00.123Z`` (realtime samples). ``TimestampStyle`` picks one per surface.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Surface = Literal["rest", "hub"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class TimestampStyle:
    """Formats nanosecond UTC instants for one surface (REST or hub) per the configured style."""

    def __init__(self, style: Literal["mixed", "offset", "zulu"]) -> None:
        self.style = style

    def zulu_for(self, surface: Surface) -> bool:
        if self.style == "mixed":
            return surface == "hub"
        return self.style == "zulu"

    def format(self, ns: int, surface: Surface) -> str:
        return format_ns(ns, zulu=self.zulu_for(surface))


def format_ns(ns: int, *, zulu: bool) -> str:
    """``zulu``: milliseconds and ``Z``; otherwise microseconds and ``+00:00``."""
    seconds, rem = divmod(ns, 1_000_000_000)
    base = _EPOCH + dt.timedelta(seconds=seconds)
    head = (
        f"{base.year:04d}-{base.month:02d}-{base.day:02d}T{base.hour:02d}:{base.minute:02d}:{base.second:02d}"
    )
    if zulu:
        return f"{head}.{rem // 1_000_000:03d}Z"
    return f"{head}.{rem // 1000:06d}+00:00"


def to_ns(when: dt.datetime) -> int:
    """An aware datetime (naive = UTC) as integer nanoseconds since the epoch."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def from_ns(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


def parse_timestamp(text: str) -> dt.datetime:
    """Accepts ``Z``, an offset, no offset at all (read as UTC), and 1 to 9 fractional digits.
    Raises ``ValueError`` for anything else."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python < 3.12 takes at most 6 fractional digits: trim .NET's 7 (or more).
    if "." in value:
        head, _, tail = value.partition(".")
        digits = ""
        rest = tail
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        value = f"{head}.{(digits + '000000')[:6]}{rest}" if digits else head + rest
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
