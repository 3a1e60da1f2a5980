"""History bars for History/retrieveBars, aggregated from the same minute bars and prints the
live feed plays, so a client's bars and the feed always agree.

Seconds and ticks come from the prints; minutes, hours, days, weeks and months from the minute
bars. Minute and hour buckets are aligned to UTC multiples of their size; a day is a trading
session labelled with its trading date (00:00 UTC); a week starts on the Monday of its trading
dates, a month on the first. With ``session_open`` labels (``exchange.dailyBarTime:
sessionOpen``) a day, week or month is labelled instead with the open time of its first session
(whether the real ``t`` is the open time is unconfirmed). Bars are returned newest first;
``limit`` keeps the most recent.

Any query is answered, and quickly: times and bucket sizes beyond any timestamp (year 1 to 9999,
``unitNumber`` 2147483647) are clamped to what int64 holds, which gives the same bars; second and
tick bars are built from at most the newest ``MAX_PRINT_MINUTES`` trading minutes of the window
(building them from prints costs about a millisecond a minute, and the server waits meanwhile).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np

from tsxbot.gateway.enums import BarUnit
from tsxbot.sim.marketdata.series import MinuteSeries
from tsxbot.sim.sessions import DAY_NS, MINUTE_NS, SessionCalendar
from tsxbot.sim.wire.timestamps import to_ns

SECOND_NS = 1_000_000_000
# Beyond every timestamp (2116), within int64 with room for one more such span.
NS_LIMIT = 2**62
MAX_PRINT_MINUTES = 1_440


@dataclass(frozen=True)
class Bar:
    t: int  # bucket open, UTC ns
    o: int  # prices in ticks
    h: int
    low: int
    c: int
    v: int


@dataclass(frozen=True)
class BarQuery:
    unit: BarUnit
    unit_number: int
    start_ns: int
    end_ns: int
    limit: int
    include_partial: bool
    # Days, weeks, months: labelled with the open of their first session, not 00:00 UTC of the date.
    session_open: bool = False


def _date_label(day: dt.date) -> int:
    return to_ns(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))


def _open_label(calendar: SessionCalendar, first_day: dt.date) -> int:
    """The open of the first session on or after ``first_day`` (a day's own session; a week's
    or a month's first)."""
    day = first_day
    for _ in range(14):
        session = calendar.session_on(day)
        if session is not None:
            return session.open_ns
        day += dt.timedelta(days=1)
    return _date_label(first_day)


def current_minute(series: MinuteSeries, now_ns: int) -> tuple[int, Bar | None]:
    """Index of the minute that contains ``now_ns`` and its partial bar from the prints so far
    (None when no print has happened yet or the market is closed)."""
    i = series.index_at(now_ns)
    if i < 0 or now_ns >= int(series.t[i]) + series.bar_duration(i):
        return i + 1, None
    path = series.ticks(i)
    elapsed = now_ns - int(series.t[i])
    n = int(np.searchsorted(np.asarray(path.offsets), elapsed, side="right"))
    if n == 0:
        return i, None
    prices = path.prices[:n]
    return i, Bar(int(series.t[i]), prices[0], max(prices), min(prices), prices[-1], sum(path.sizes[:n]))


def retrieve(series: MinuteSeries, calendar: SessionCalendar, query: BarQuery, now_ns: int) -> list[Bar]:
    query = replace(query, start_ns=max(query.start_ns, -NS_LIMIT), end_ns=min(query.end_ns, NS_LIMIT))
    end = min(query.end_ns, now_ns + 1)
    if query.start_ns >= end:
        return []
    if query.unit in (BarUnit.SECOND, BarUnit.TICK):
        return _from_prints(series, query, now_ns)
    return _from_minutes(series, calendar, query, now_ns)


def _bucket_keys(t: np.ndarray, query: BarQuery, calendar: SessionCalendar) -> np.ndarray:
    n = query.unit_number
    if query.unit == BarUnit.MINUTE:
        size = min(n * MINUTE_NS, NS_LIMIT)
        return (t // size) * size
    if query.unit == BarUnit.HOUR:
        size = min(n * 3600 * SECOND_NS, NS_LIMIT)
        return (t // size) * size
    # Days, weeks, months: by trading date (a session's minutes share its close date).
    dates = [_trading_date(calendar, int(x)) for x in t]
    labels: list[int] = []
    by_day: dict[dt.date, int] = {}
    for day in dates:
        if query.unit == BarUnit.DAY:
            label_day = day
        elif query.unit == BarUnit.WEEK:
            label_day = day - dt.timedelta(days=day.weekday())
        else:
            label_day = day.replace(day=1)
        label = by_day.get(label_day)
        if label is None:
            label = _open_label(calendar, label_day) if query.session_open else _date_label(label_day)
            by_day[label_day] = label
        labels.append(label)
    keys = np.asarray(labels, dtype=np.int64)
    if n > 1 and len(keys):
        # Group n consecutive days/weeks/months: number the distinct labels and bucket them.
        _, ordinal = np.unique(keys, return_inverse=True)
        first_of_group: dict[int, int] = {}
        out = np.empty_like(keys)
        for idx, (k, o) in enumerate(zip(keys.tolist(), ordinal.tolist(), strict=True)):
            group = o // n
            first_of_group.setdefault(group, k)
            out[idx] = first_of_group[group]
        return out
    return keys


_date_cache: dict[int, dt.date] = {}


def _trading_date(calendar: SessionCalendar, t: int) -> dt.date:
    day_key = t // MINUTE_NS
    found = _date_cache.get(day_key)
    if found is None:
        session = calendar.session_at(t)
        found = session.trading_date if session is not None else calendar.next_session(t).trading_date
        if len(_date_cache) > 500_000:
            _date_cache.clear()
        _date_cache[day_key] = found
    return found


def _from_minutes(series: MinuteSeries, calendar: SessionCalendar, query: BarQuery, now_ns: int) -> list[Bar]:
    cur_i, partial = current_minute(series, now_ns)
    # Complete minutes in a generous window (buckets may start before start_ns).
    lead = DAY_NS * 40 if query.unit >= BarUnit.DAY else min(query.unit_number * 3600 * SECOND_NS, NS_LIMIT)
    lo = int(np.searchsorted(series.t, query.start_ns - lead, side="left"))
    hi = min(cur_i, int(np.searchsorted(series.t, query.end_ns, side="left")))
    t = series.t[lo:hi]
    o, h, low, c, v = series.o[lo:hi], series.h[lo:hi], series.low[lo:hi], series.c[lo:hi], series.v[lo:hi]
    if partial is not None and partial.t < query.end_ns:
        t = np.append(t, partial.t)
        o, h = np.append(o, partial.o), np.append(h, partial.h)
        low, c, v = np.append(low, partial.low), np.append(c, partial.c), np.append(v, partial.v)
    if len(t) == 0:
        return []
    keys = _bucket_keys(t, query, calendar)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.append(starts[1:], len(t)) - 1
    bars = [
        Bar(int(k), int(bo), int(bh), int(bl), int(bc), int(bv))
        for k, bo, bh, bl, bc, bv in zip(
            keys[starts].tolist(),
            o[starts].tolist(),
            np.maximum.reduceat(h, starts).tolist(),
            np.minimum.reduceat(low, starts).tolist(),
            c[ends].tolist(),
            np.add.reduceat(v, starts).tolist(),
            strict=True,
        )
    ]
    if bars and _is_partial(bars[-1].t, query, calendar, now_ns) and not query.include_partial:
        bars.pop()
    bars = [b for b in bars if query.start_ns <= b.t < query.end_ns]
    bars.reverse()
    return bars[: query.limit]


def _is_partial(label: int, query: BarQuery, calendar: SessionCalendar, now_ns: int) -> bool:
    if query.unit == BarUnit.MINUTE:
        return now_ns < label + query.unit_number * MINUTE_NS
    if query.unit == BarUnit.HOUR:
        return now_ns < label + query.unit_number * 3600 * SECOND_NS
    upcoming = calendar.session_at(now_ns) or calendar.next_session(now_ns)
    probe = np.asarray([upcoming.open_ns], dtype=np.int64)
    keys = _bucket_keys(probe, BarQuery(query.unit, 1, 0, 0, 1, True, query.session_open), calendar)
    if query.unit_number == 1:
        return int(keys[0]) == label
    return int(keys[0]) >= label


def _from_prints(series: MinuteSeries, query: BarQuery, now_ns: int) -> list[Bar]:
    """Second or tick bars, built from the newest minute backwards until ``limit`` is met."""
    step = query.unit_number
    i = series.index_at(min(now_ns, query.end_ns - 1))
    out: list[Bar] = []
    open_bucket: list[tuple[int, int, int]] = []  # (ns, price, size) of an unfinished tick bar
    oldest = i - MAX_PRINT_MINUTES
    while i >= 0 and i > oldest and len(out) < query.limit:
        base = int(series.t[i])
        if base + series.bar_duration(i) <= query.start_ns:
            break
        path = series.ticks(i)
        prints = [
            (base + off, p, s)
            for off, p, s in zip(path.offsets, path.prices, path.sizes, strict=True)
            if base + off <= now_ns and query.start_ns <= base + off < query.end_ns
        ]
        prints.reverse()
        if query.unit == BarUnit.SECOND:
            size = step * SECOND_NS
            groups: dict[int, list[tuple[int, int, int]]] = {}
            for ns, p, s in prints:
                groups.setdefault((ns // size) * size, []).append((ns, p, s))
            for label in sorted(groups, reverse=True):
                if label + size > now_ns and not query.include_partial:
                    continue
                bar = _bar(label, list(reversed(groups[label])))
                if out and out[-1].t == label:  # a bucket longer than a minute: join the parts
                    newer = out.pop()
                    bar = Bar(
                        label, bar.o, max(bar.h, newer.h), min(bar.low, newer.low), newer.c, bar.v + newer.v
                    )
                out.append(bar)
        else:
            for item in prints:
                open_bucket.append(item)
                if len(open_bucket) == step:
                    g = list(reversed(open_bucket))
                    out.append(_bar(g[0][0], g))
                    open_bucket = []
        i -= 1
    return out[: query.limit]


def _bar(label: int, prints: list[tuple[int, int, int]]) -> Bar:
    prices = [p for _, p, _ in prints]
    return Bar(label, prices[0], max(prices), min(prices), prices[-1], sum(s for _, _, s in prints))
