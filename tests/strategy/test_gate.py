"""Gating: signals per trading day (reset at the trading-day boundary), cooldown after an exit,
positions, trading hours (also in another time zone and over midnight), flattenAt, direction,
pause. Times are Chicago wall times on Wed 2026-06-10 unless said."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from support.strategy_feed import CT, bot, ct, instrument
from tsxbot.sessions import calendar_for
from tsxbot.strategy import Reason, SkipKind
from tsxbot.strategy.gate import Gate

WED, THU = dt.date(2026, 6, 10), dt.date(2026, 6, 11)
WHY = Reason(setup="test")


def gate(**changes: Any) -> Gate:
    mes = instrument("MES")
    return Gate(bot(**changes), mes, calendar_for(mes))


def kind(g: Gate, day: dt.date, hhmm: str, side: str = "long", held: int = 0) -> SkipKind | None:
    skip = g.check(ct(day, hhmm), side, held, WHY)  # type: ignore[arg-type]
    return None if skip is None else skip.kind


def test_signals_per_day_reset_at_the_trading_day_boundary() -> None:
    g = gate(risk={"maxSignalsPerDay": 2})
    assert kind(g, WED, "10:00") is None
    g.record_entry(ct(WED, "10:00"))
    g.record_entry(ct(WED, "10:05"))
    assert kind(g, WED, "10:10") == SkipKind.MAX_SIGNALS_PER_DAY
    assert kind(g, WED, "15:59") == SkipKind.MAX_SIGNALS_PER_DAY
    # 17:00 CT opens Thursday's trading day (CME): the count starts again.
    assert kind(g, WED, "17:00") is None
    g.record_entry(ct(WED, "17:00"))
    assert kind(g, THU, "09:00") is None


def test_cooldown_after_an_exit() -> None:
    g = gate(signalCooldownMinutes=5)
    g.record_exit(ct(WED, "10:00"))
    skip = g.check(ct(WED, "10:04"), "long", 0, WHY)
    assert (
        skip is not None
        and skip.kind == SkipKind.COOLDOWN
        and "1.0 of signalCooldownMinutes 5" in skip.detail
    )
    assert kind(g, WED, "10:05") is None


def test_positions() -> None:
    assert kind(gate(), WED, "10:00", held=1) == SkipKind.MAX_POSITIONS
    assert kind(gate(risk={"maxPositions": 2}), WED, "10:00", held=1) is None


def test_trading_hours_in_exchange_time_another_zone_and_over_midnight() -> None:
    g = gate(tradingHours={"start": "08:30", "end": "15:00"})
    assert kind(g, WED, "08:29") == SkipKind.OUTSIDE_HOURS
    assert kind(g, WED, "08:30") is None
    assert kind(g, WED, "15:00") == SkipKind.OUTSIDE_HOURS
    ny = gate(tradingHours={"start": "09:30", "end": "16:00", "timezone": "America/New_York"})
    assert kind(ny, WED, "08:29") == SkipKind.OUTSIDE_HOURS
    assert kind(ny, WED, "08:30") is None
    night = gate(tradingHours={"start": "18:00", "end": "02:00"})
    assert kind(night, WED, "23:00") is None
    assert kind(night, THU, "03:00") == SkipKind.OUTSIDE_HOURS


def test_flatten_at_refuses_entries_and_is_due_until_the_next_session() -> None:
    g = gate(exits={"flattenAt": "14:55"})
    assert kind(g, WED, "14:54") is None
    assert kind(g, WED, "14:55") == SkipKind.AFTER_FLATTEN_TIME
    assert not g.flatten_due(ct(WED, "14:54"))
    assert g.flatten_due(ct(WED, "14:55")) and g.flatten_due(ct(WED, "15:30"))
    assert not g.flatten_due(ct(WED, "17:00"))


def _due_by_wall_clock(now_ns: int, flatten: int) -> bool:
    """flattenAt read from Chicago wall time with zoneinfo (the reference): due from ``flatten``
    (minutes of the day) until 17:00, or until midnight for a flattenAt at or after 17:00."""
    local = dt.datetime.fromtimestamp(now_ns // 1_000_000_000, CT)
    minute = local.hour * 60 + local.minute
    return flatten <= minute < 17 * 60 if flatten < 17 * 60 else minute >= flatten


def test_flatten_due_kept_between_bars_follows_each_boundary_dst_and_day_roll() -> None:
    """One gate asked minute by minute (as a bot holding a position is, each bar) over days with
    the DST changes (2026-03-08 and 2026-11-01, at 02:00 CT), a weekend and several day rolls:
    each answer is the wall clock's, also at flattenAt, at the session open, at midnight, on
    the minute after a kept answer's span ends; and after going back in time."""
    minute_ns = 60 * 1_000_000_000
    for flatten_at, flatten in (("14:55", 14 * 60 + 55), ("18:30", 18 * 60 + 30)):
        for first in (dt.date(2026, 3, 5), dt.date(2026, 10, 29)):
            g = gate(exits={"flattenAt": flatten_at})
            start = ct(first, "00:00")
            answers = []
            for i in range(6 * 24 * 60):  # six days, every minute
                now = start + i * minute_ns
                answers.append(g.flatten_due(now))
                assert answers[-1] == _due_by_wall_clock(now, flatten), (flatten_at, first, i)
            # Due once a day (the reference could not be fooled by a constant answer).
            assert sum(not before and after for before, after in itertools.pairwise(answers)) == 6
            # Bars at 30 s past the minute, and back in time: the same answers.
            for now in (ct(first, "14:54") + 30 * 10**9, ct(first, "14:55"), ct(first, "16:59")):
                assert g.flatten_due(now) == _due_by_wall_clock(now, flatten)
                assert g.flatten_due(now + 30 * 10**9) == _due_by_wall_clock(now + 30 * 10**9, flatten)


def test_flatten_due_across_the_spring_forward_at_the_exchange_s_wall_time() -> None:
    """A span kept from before the DST change ends at 14:55 CDT (not at 14:55 CST, an hour
    later): a bot first asked on Sunday 01:00 CST is told at 14:55 CDT."""
    sunday = dt.date(2026, 3, 8)
    g = gate(exits={"flattenAt": "14:55"})
    assert not g.flatten_due(ct(sunday, "01:00"))
    assert not g.flatten_due(ct(sunday, "14:54"))
    assert g.flatten_due(ct(sunday, "14:55"))
    fall = dt.date(2026, 11, 1)
    g = gate(exits={"flattenAt": "14:55"})
    assert not g.flatten_due(ct(fall, "00:30"))
    assert not g.flatten_due(ct(fall, "14:54"))
    assert g.flatten_due(ct(fall, "14:55"))
    assert not g.flatten_due(ct(fall, "17:00"))


def test_direction_and_pause() -> None:
    g = gate(direction="long")
    assert kind(g, WED, "10:00", side="short") == SkipKind.DIRECTION
    assert kind(g, WED, "10:00", side="long") is None
    g.paused = True
    assert kind(g, WED, "10:00") == SkipKind.PAUSED
