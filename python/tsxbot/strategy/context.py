"""What a strategy reads besides its bars: the ``Context`` the bot (or the backtester) keeps.

- ``instrument`` (tick size, point value), ``calendar`` (``tsxbot.sessions``) and ``clock``
  (``ExchangeClock``: exchange minute of the day, trading date);
- ``now``: the close of the bar being handled (integer ns), the strategy's only clock;
- ``position``: the bot's own position (``Position``);
- the order flow of the session, fed with every print before the strategy sees a bar (Rust):
  ``vwap`` (``VWAP``), ``profile`` (``VolumeProfile`` at tick resolution: ``poc``,
  ``value_area``, ``hvn``, ``lvn``) and ``delta`` (``CumulativeDelta``: ``value``, and ``divergence`` as of
  the bar just closed; the bar's own delta is ``bar.delta``), reset at the session boundary of
  ``flow_session``.

- ``levels``: the previous ETH trading day's high, low and close (``levels.previous``, a
  ``DayLevels``; kept up to date by the engine before each bar; for another window, such as the
  regular session, a strategy keeps its own ``SessionLevels``).

The flow and the levels are kept only for a strategy that declares it reads them
(``Strategy.needs``, both by default): ``Context(..., needs=frozenset())`` leaves them out (no
work on each print and bar), and reading one then raises ``NotKept`` naming the need to declare.

A strategy never writes to the context; the engine (``tsxbot.strategy.engine``) does.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from tsxbot.config.instruments import Instrument
from tsxbot.indicators import VWAP, CumulativeDelta, VolumeProfile
from tsxbot.sessions import SessionCalendar, SessionKind, calendar_for
from tsxbot.strategy.clock import ExchangeClock
from tsxbot.strategy.levels import SessionLevels
from tsxbot.strategy.position import Position

__all__ = ["ALL_NEEDS", "Context", "Need", "NotKept"]

# What of the context the engine keeps up to date: ``flow`` (vwap, profile, delta) and ``levels``.
Need = Literal["flow", "levels"]
ALL_NEEDS: frozenset[Need] = frozenset(("flow", "levels"))


class NotKept(AttributeError):
    """A strategy read a part of the context it did not declare in ``Strategy.needs``."""


class _NotKept:
    """Stands for a part of the context that is not kept: any use names the need to declare."""

    __slots__ = ("_need", "_what")

    def __init__(self, what: str, need: Need) -> None:
        self._what = what
        self._need = need

    def __getattr__(self, name: str) -> Any:
        raise NotKept(
            f"ctx.{self._what} is not kept for this strategy: add {self._need!r} to its "
            f"Strategy.needs (now without it) to read ctx.{self._what}.{name}"
        )


class Context:
    __slots__ = (
        "calendar",
        "clock",
        "delta",
        "flow_session",
        "instrument",
        "keeps_flow",
        "keeps_levels",
        "levels",
        "now",
        "position",
        "profile",
        "tick_size",
        "timeframe_seconds",
        "vwap",
    )

    def __init__(
        self,
        instrument: Instrument,
        *,
        timeframe_seconds: int,
        flow_session: SessionKind = SessionKind.ETH,
        value_area_fraction: float = 0.7,
        delta_lookback: int = 5,
        calendar: SessionCalendar | None = None,
        needs: frozenset[Need] = ALL_NEEDS,
    ) -> None:
        self.instrument = instrument
        self.calendar = calendar if calendar is not None else calendar_for(instrument)
        self.clock = ExchangeClock(self.calendar)
        self.tick_size = instrument.tick_size
        self.timeframe_seconds = timeframe_seconds
        self.flow_session = flow_session
        self.now = 0
        self.position = Position()
        self.keeps_flow = "flow" in needs
        self.keeps_levels = "levels" in needs
        if self.keeps_flow:
            self.vwap = VWAP(self.calendar, flow_session)
            self.profile = VolumeProfile(
                instrument.tick_size, self.calendar, flow_session, value_area_fraction=value_area_fraction
            )
            self.delta = CumulativeDelta(delta_lookback, self.calendar, flow_session)
        else:
            self.vwap = cast(VWAP, _NotKept("vwap", "flow"))
            self.profile = cast(VolumeProfile, _NotKept("profile", "flow"))
            self.delta = cast(CumulativeDelta, _NotKept("delta", "flow"))
        self.levels = (
            SessionLevels(self.clock)
            if self.keeps_levels
            else cast(SessionLevels, _NotKept("levels", "levels"))
        )

    def add_print(self, ts_ns: int, price: float, size: float, aggressor: int) -> None:
        """One trade into the session's VWAP, volume profile and cumulative delta (when kept)."""
        if not self.keeps_flow:
            return
        self.vwap.update(ts_ns, price, size)
        self.profile.update(ts_ns, price, size)
        self.delta.update(ts_ns, price, size, aggressor)

    def minute(self) -> int:
        """``now`` as the minute of the day in exchange time (08:30 -> 510)."""
        return self.clock.minute_of_day(self.now)

    def trading_date(self) -> int | None:
        """``now``'s trading date (days since 1970; ``tsxbot.sessions.date_from_days``)."""
        return self.clock.trading_date(self.now)

    def ticks(self, count: float) -> float:
        """``count`` ticks in points."""
        return count * self.tick_size
