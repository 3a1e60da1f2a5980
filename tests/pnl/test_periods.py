"""CME trading days (17:00 CT), weeks and months."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from support.strategy_feed import instrument
from tsxbot.pnl import RoundTrip, daily, monthly, trading_day, weekly
from tsxbot.pnl.periods import CHICAGO
from tsxbot.sessions import calendar_for, to_ns

ES_CAL = calendar_for(instrument("ES"))


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return to_ns(dt.datetime(y, mo, d, h, mi, tzinfo=CHICAGO))


def test_the_day_turns_at_17_00_chicago() -> None:
    for cal in (ES_CAL, None):
        # Thursday 2026-03-05 16:59 CT is Thursday's; 17:00 is Friday's.
        assert trading_day(at(2026, 3, 5, 15, 59), cal) == dt.date(2026, 3, 5)
        assert trading_day(at(2026, 3, 5, 17, 0), cal) == dt.date(2026, 3, 6)
        # Sunday evening counts for Monday.
        assert trading_day(at(2026, 3, 8, 18, 0), cal) == dt.date(2026, 3, 9)
    # The daily halt and the weekend follow the same rule.
    assert trading_day(at(2026, 3, 5, 16, 30), ES_CAL) == dt.date(2026, 3, 5)
    assert trading_day(at(2026, 3, 6, 17, 30), ES_CAL) == dt.date(2026, 3, 9)
    assert trading_day(at(2026, 3, 7, 12, 0), ES_CAL) == dt.date(2026, 3, 9)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31)))
def test_the_session_calendar_and_the_rule_agree(naive: dt.datetime) -> None:
    ts = to_ns(naive.replace(tzinfo=dt.UTC))
    assert trading_day(ts, ES_CAL) == trading_day(ts, None)


def rt(exit_ns: int, net: float) -> RoundTrip:
    return RoundTrip(
        bot_id="b", strategy="s", account_id=1, symbol="ES", direction=1, quantity=1, max_position=1,
        entry_price=1.0, exit_price=1.0, entry_ns=exit_ns - 1, exit_ns=exit_ns, gross_pnl=net + 1.0,
        fees=1.0, mae=0.0, mfe=0.0, initial_risk=None, fill_ids=("x",),
    )  # fmt: skip


def test_daily_weekly_monthly() -> None:
    trades = [
        rt(at(2026, 3, 5, 10), 100.0),  # Thu
        rt(at(2026, 3, 5, 18), -40.0),  # Fri's session
        rt(at(2026, 3, 6, 9), 10.0),  # Fri
        rt(at(2026, 3, 29, 18), 5.0),  # Sunday evening: Monday 30 March, ISO week 14
        rt(at(2026, 3, 31, 17, 30), 7.0),  # Tuesday evening: Wednesday 1 April
    ]
    d = daily(trades, ES_CAL)
    assert [(p.period, p.trades, round(p.net, 2)) for p in d] == [
        ("2026-03-05", 1, 100.0),
        ("2026-03-06", 2, -30.0),
        ("2026-03-30", 1, 5.0),
        ("2026-04-01", 1, 7.0),
    ]
    assert [(p.period, round(p.net, 2)) for p in weekly(trades)] == [("2026-W10", 70.0), ("2026-W14", 12.0)]
    assert [(p.period, round(p.net, 2), p.wins, p.losses) for p in monthly(trades)] == [
        ("2026-03", 75.0, 3, 1),
        ("2026-04", 7.0, 1, 0),
    ]


def test_the_trading_day_of_every_quarter_hour_of_a_year_across_both_dst_changes() -> None:
    """The trading day is computed once per UTC hour (Chicago's offsets are whole hours): it is
    the trading day of the instant itself, at every quarter hour and the nanosecond before it."""
    from tsxbot.pnl.periods import DAY_STARTS
    from tsxbot.sessions import from_ns

    def direct(ts_ns: int) -> dt.date:
        local = from_ns(ts_ns).astimezone(CHICAGO)
        day = local.date() + dt.timedelta(days=1 if local.time() >= DAY_STARTS else 0)
        while day.isoweekday() > 5:
            day += dt.timedelta(days=1)
        return day

    start = to_ns(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    quarter = 15 * 60 * 10**9
    for k in range(366 * 96):
        for ts in (start + k * quarter, start + k * quarter - 1):
            assert trading_day(ts) == direct(ts), from_ns(ts)
