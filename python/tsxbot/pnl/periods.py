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
import numpy as np
import numpy.typing as npt

from tsxbot._core import SessionCalendar, SessionKind
from tsxbot.pnl.columns import TradeColumns
from tsxbot.pnl.matching import RoundTrip
from tsxbot.sessions import date_from_days

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
    local = dt.datetime.fromtimestamp(hour * 3600, CHICAGO)
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


def trading_day_ordinals(
    ts_ns: npt.NDArray[np.int64], calendar: SessionCalendar | None = None
) -> npt.NDArray[np.int64]:
    """:func:`trading_day` of each instant, as date ordinals (without a calendar: once per UTC
    hour present)."""
    if calendar is not None:
        return np.fromiter(
            (trading_day(ts, calendar).toordinal() for ts in ts_ns.tolist()), np.int64, len(ts_ns)
        )
    hours, at = np.unique(ts_ns // _HOUR_NS, return_inverse=True)
    days = np.fromiter((_trading_day_of_hour(h).toordinal() for h in hours.tolist()), np.int64, len(hours))
    return days[at.reshape(-1)]


def _label(day: dt.date, key: str) -> str:
    return day.isoformat() if key == "day" else week_of(day) if key == "week" else month_of(day)


def _running_sum(values: npt.NDArray[np.float64]) -> float:
    """``total = 0.0; for v in values: total += v`` (the same additions in the same order:
    ``np.add.accumulate`` is sequential, unlike ``np.sum``; + 0.0 gives the loop's +0.0 for an
    all -0.0 run)."""
    return float(np.add.accumulate(values)[-1]) + 0.0


def _aggregate(
    trades: Iterable[RoundTrip] | TradeColumns, key: str, calendar: SessionCalendar | None
) -> list[PeriodFigures]:
    """Each period's figures, its trades summed in the order given."""
    columns = trades if isinstance(trades, TradeColumns) else TradeColumns(trades, exit_order=False)
    if not len(columns):
        return []
    days, day_at = np.unique(columns.trading_days(calendar), return_inverse=True)
    day_labels = [_label(dt.date.fromordinal(d), key) for d in days.tolist()]
    labels = sorted(set(day_labels))
    number = {label: k for k, label in enumerate(labels)}
    period = np.fromiter((number[label] for label in day_labels), np.int64, len(day_labels))[
        day_at.reshape(-1)
    ]
    order = np.argsort(period, kind="stable")  # each period's trades in the order given
    starts = np.flatnonzero(np.diff(period[order], prepend=-1)).tolist()
    ends = [*starts[1:], len(order)]
    gross, fees, net = columns.gross[order], columns.fees[order], columns.net[order]
    wins = np.concatenate(([0], np.cumsum(net > 0))).tolist()
    losses = np.concatenate(([0], np.cumsum(net < 0))).tolist()
    out: list[PeriodFigures] = []
    for label, start, end in zip(labels, starts, ends, strict=True):
        out.append(
            PeriodFigures(
                period=label,
                gross=_running_sum(gross[start:end]),
                fees=_running_sum(fees[start:end]),
                trades=end - start,
                wins=wins[end] - wins[start],
                losses=losses[end] - losses[start],
            )
        )
    return out


def daily(
    trades: Iterable[RoundTrip] | TradeColumns, calendar: SessionCalendar | None = None
) -> list[PeriodFigures]:
    return _aggregate(trades, "day", calendar)


def weekly(
    trades: Iterable[RoundTrip] | TradeColumns, calendar: SessionCalendar | None = None
) -> list[PeriodFigures]:
    return _aggregate(trades, "week", calendar)


def monthly(
    trades: Iterable[RoundTrip] | TradeColumns, calendar: SessionCalendar | None = None
) -> list[PeriodFigures]:
    return _aggregate(trades, "month", calendar)
