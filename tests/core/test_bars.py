"""Sessions and the bar aggregator against a zoneinfo-based reference (DST weeks included)."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import reference as ref
from tsxbot.bars import Bar, BarAggregator, SessionKind, bar_message, timeframe_seconds
from tsxbot.config import Instruments, load_config
from tsxbot.sessions import SessionCalendar, calendar_for, date_from_days, to_ns, utc_offset_transitions

MINUTE = 60 * 10**9


@cache
def _instruments() -> Instruments:
    return load_config(None, env={}).instruments


@pytest.fixture(scope="module")
def calendar() -> SessionCalendar:
    return calendar_for(_instruments().get("ES"))


# Weeks around the 2024 DST changes (10 March, 3 November) and an ordinary week.
WEEK_STARTS = [
    dt.datetime(2024, 3, 7, tzinfo=dt.UTC),
    dt.datetime(2024, 10, 31, tzinfo=dt.UTC),
    dt.datetime(2024, 6, 5, tzinfo=dt.UTC),
]


def test_offsets_follow_the_tz_database() -> None:
    initial, transitions = utc_offset_transitions("America/Chicago")
    assert initial == -6 * 3600
    at = dict(transitions)
    spring = to_ns(dt.datetime(2024, 3, 10, 8, 0, tzinfo=dt.UTC))  # 02:00 CST
    fall = to_ns(dt.datetime(2024, 11, 3, 7, 0, tzinfo=dt.UTC))  # 02:00 CDT
    assert at[spring] == -5 * 3600
    assert at[fall] == -6 * 3600


@settings(max_examples=200)
@given(st.sampled_from(WEEK_STARTS), st.integers(min_value=0, max_value=9 * 24 * 60), st.booleans())
def test_calendar_matches_zoneinfo(calendar, start: dt.datetime, minute: int, rth: bool) -> None:  # type: ignore[no-untyped-def]
    ts = to_ns(start) + minute * MINUTE
    kind = SessionKind.RTH if rth else SessionKind.ETH
    want = ref.session(ts, rth)
    if want is None:
        assert calendar.trading_date(ts, kind) is None
        assert calendar.session_bounds(ts, kind) is None
        return
    date, open_, close = want
    assert date_from_days(calendar.trading_date(ts, kind)) == date
    offset = ref.from_ns(ts).astimezone(ref.CHICAGO).utcoffset()
    assert offset is not None
    assert calendar.utc_offset(ts) == offset.total_seconds()
    bounds = calendar.session_bounds(ts, kind)
    assert bounds == (
        ref.to_ns((open_ - offset).replace(tzinfo=dt.UTC)),
        ref.to_ns((close - offset).replace(tzinfo=dt.UTC)),
    )


@st.composite
def trade_tape(draw: st.DrawFn) -> list[tuple[int, float, float, int]]:
    start = to_ns(draw(st.sampled_from(WEEK_STARTS)))
    n = draw(st.integers(min_value=0, max_value=120))
    ts = start
    out = []
    for _ in range(n):
        # Mostly small steps, some jumps over the halt or the weekend, a few steps back (late prints).
        step = draw(
            st.one_of(
                st.integers(0, 5 * MINUTE), st.integers(0, 2 * 24 * 60 * MINUTE), st.integers(-3 * MINUTE, 0)
            )
        )
        ts += step
        out.append(
            (
                ts,
                draw(st.integers(8000, 8100)) * 0.25,
                float(draw(st.integers(0, 20))),
                draw(st.sampled_from([1, -1, 0])),
            )
        )
    return out


def same_bar(got: Bar, want: ref.RefBar) -> None:
    assert (got.start, got.end, got.trading_date) == (want.start, want.end, want.trading_date)
    assert (got.open, got.high, got.low, got.close) == (want.open, want.high, want.low, want.close)
    assert (got.volume, got.buy_volume, got.sell_volume) == (want.volume, want.buy_volume, want.sell_volume)
    assert got.trade_count == want.trade_count
    assert got.delta == want.buy_volume - want.sell_volume


@settings(max_examples=150)
@given(trade_tape(), st.sampled_from([1, 60, 300, 900, 3600, 4 * 3600, 86_400]), st.booleans())
def test_bars_match_reference(calendar, tape, timeframe: int, rth: bool) -> None:  # type: ignore[no-untyped-def]
    agg = BarAggregator(calendar, timeframe, SessionKind.RTH if rth else SessionKind.ETH)
    got = [bar for t in tape if (bar := agg.update(*t)) is not None]
    want, forming, outside, late = ref.bars(tape, timeframe, rth)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        same_bar(g, w)
    assert (agg.current is None) == (forming is None)
    if forming is not None and agg.current is not None:
        same_bar(agg.current, forming)
    assert (agg.outside_session, agg.late) == (outside, late)
    # No fake bars: every bar holds at least one print, and bars never overlap.
    for a, b in itertools.pairwise(got):
        assert a.trade_count > 0 and a.end <= b.start
    # The batch path gives the same bars.
    batch = BarAggregator(calendar, timeframe, SessionKind.RTH if rth else SessionKind.ETH)
    cols = batch.update_many(
        np.array([t[0] for t in tape], dtype=np.int64),
        np.array([t[1] for t in tape], dtype=np.float64),
        np.array([t[2] for t in tape], dtype=np.float64),
        np.array([t[3] for t in tape], dtype=np.int8),
    )
    assert cols["start"].tolist() == [b.start for b in got]
    assert cols["close"].tolist() == [b.close for b in got]
    assert cols["buy_volume"].tolist() == [b.buy_volume for b in got]


def test_flush_closes_a_bar_on_time_and_quotes_follow_the_mid(calendar) -> None:  # type: ignore[no-untyped-def]
    monday_10 = to_ns(dt.datetime(2024, 6, 10, 15, 0, tzinfo=dt.UTC))  # 10:00 CDT
    agg = BarAggregator(calendar, 60)
    assert agg.update_quote(monday_10, 100.0, 100.5) is None
    agg.update_quote(monday_10 + 10**9, 101.0, 101.5)
    assert agg.flush(monday_10 + 59 * 10**9) is None
    bar = agg.flush(monday_10 + MINUTE)
    assert bar is not None
    assert (bar.open, bar.high, bar.close, bar.volume) == (100.25, 101.25, 101.25, 0.0)
    assert agg.current is None


def test_bar_message_and_timeframes(calendar) -> None:  # type: ignore[no-untyped-def]
    assert [timeframe_seconds(t) for t in ("1s", "5m", "1h", "1d")] == [1, 300, 3600, 86_400]
    with pytest.raises(ValueError, match="timeframe"):
        timeframe_seconds("5x")
    with pytest.raises(ValueError, match="timeframe"):
        BarAggregator(calendar, 0)
    ts = to_ns(dt.datetime(2024, 6, 10, 15, 0, 30, tzinfo=dt.UTC))
    agg = BarAggregator(calendar, 60)
    agg.update(ts, 5000.25, 3.0, 1)
    bar = agg.current
    assert bar is not None
    msg = bar_message(bar, "ES", "1m", complete=False)
    assert msg.start == dt.datetime(2024, 6, 10, 15, 0, tzinfo=dt.UTC)
    assert msg.end - msg.start == dt.timedelta(minutes=1)
    assert (msg.volume, msg.buy_volume, msg.delta, msg.complete) == (3, 3, 3, False)


@settings(max_examples=200)
@given(st.sampled_from(WEEK_STARTS), st.integers(min_value=0, max_value=9 * 24 * 60))
def test_eth_sessions_agree_with_the_instruments_table(start: dt.datetime, minute: int) -> None:
    for symbol in ("ES", "MGC", "CL"):
        instrument = _instruments().get(symbol)
        when = start + dt.timedelta(minutes=minute)
        located = calendar_for(instrument).trading_date(to_ns(when), SessionKind.ETH)
        assert (located is not None) == ref.eth_open(instrument, when)
