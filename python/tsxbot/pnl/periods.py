"""CME trading days, weeks and months, and P&L aggregated over them.

Definition: a fill or trade belongs to the **trading day** of the CME Globex session it happened
in. The session opens at 17:00 Chicago time and closes at 16:00 the next day, so anything from
17:00 CT onwards counts for the next day, and Sunday evening counts for Monday. The trading day
is read from the instrument's session calendar (:mod:`tsxbot.sessions`); outside its sessions
(the daily halt, the weekend) the same 17:00 CT rule applies, rolling Saturday and Sunday to
Monday. A **trading week** is the ISO week (Monday-based) of the trading day; a **trading month**
the calendar month of the trading day. A trade counts for the period its exit fill falls in.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import msgspec

from tsxbot._core import SessionCalendar, SessionKind
from tsxbot.pnl.matching import RoundTrip
from tsxbot.sessions import date_from_days, from_ns

CHICAGO = ZoneInfo("America/Chicago")
DAY_STARTS = dt.time(17, 0)


def trading_day(ts_ns: int, calendar: SessionCalendar | None = None) -> dt.date:
    """The CME trading day of the instant ``ts_ns`` (UTC ns)."""
    if calendar is not None:
        days = calendar.trading_date(ts_ns, SessionKind.ETH)
        if days is not None:
            return date_from_days(days)
    return _trading_day_of_hour(ts_ns // _HOUR_NS)


_HOUR_NS = 3_600_000_000_000


@functools.lru_cache(maxsize=1 << 16)
def _trading_day_of_hour(hour: int) -> dt.date:
    """The trading day of every instant of one UTC hour (Chicago's offsets are whole hours and
    its changes fall on the hour, as does 17:00: one answer per hour, computed once)."""
    local = from_ns(hour * _HOUR_NS).astimezone(CHICAGO)
    day = local.date()
    if local.time() >= DAY_STARTS:
        day += dt.timedelta(days=1)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    return day


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


class PeriodFigures(msgspec.Struct, kw_only=True):
    period: str
    gross: float = 0.0
    fees: float = 0.0
    trades: int = 0
    wins: int = 0
    losses: int = 0

    @property
    def net(self) -> float:
        return self.gross - self.fees


def _aggregate(
    trades: Iterable[RoundTrip], key: str, calendar: SessionCalendar | None
) -> list[PeriodFigures]:
    out: dict[str, PeriodFigures] = {}
    for trade in trades:
        day = trading_day(trade.exit_ns, calendar)
        label = day.isoformat() if key == "day" else week_of(day) if key == "week" else month_of(day)
        figures = out.setdefault(label, PeriodFigures(period=label))
        figures.gross += trade.gross_pnl
        figures.fees += trade.fees
        figures.trades += 1
        figures.wins += trade.net_pnl > 0
        figures.losses += trade.net_pnl < 0
    return [out[label] for label in sorted(out)]


def daily(trades: Iterable[RoundTrip], calendar: SessionCalendar | None = None) -> list[PeriodFigures]:
    return _aggregate(trades, "day", calendar)


def weekly(trades: Iterable[RoundTrip], calendar: SessionCalendar | None = None) -> list[PeriodFigures]:
    return _aggregate(trades, "week", calendar)


def monthly(trades: Iterable[RoundTrip], calendar: SessionCalendar | None = None) -> list[PeriodFigures]:
    return _aggregate(trades, "month", calendar)
