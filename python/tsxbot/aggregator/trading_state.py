"""The account's trading state (NautilusTrader's model): ACTIVE, REDUCING (exits only) or HALTED
(nothing new), each with the causes that hold it there, the circuit breaker, the CME trading day
and the log of risk events (who asked, why).

A state is the strongest of its causes: any HALT cause -> HALTED, else any REDUCE cause ->
REDUCING, else ACTIVE. Causes set by the day's figures (daily loss, profit target) end at the
trading-day roll; a kill-switch halt, the circuit breaker and a reconciliation mismatch end only
when resolved (RESUME, or the positions agreeing again).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tsxbot.messages import TradingStateName
from tsxbot.risk import TradingState

CHICAGO = ZoneInfo("America/Chicago")


def trading_day(now: dt.datetime) -> dt.date:
    """The CME trading day of a moment: it starts at 17:00 Chicago time the evening before."""
    return (now.astimezone(CHICAGO) + dt.timedelta(hours=7)).date()


class Cause(StrEnum):
    KILL_SWITCH = "KILL_SWITCH"  # halt / flatten from the API or a control message
    DAILY_LOSS = "DAILY_LOSS"
    PROFIT_TARGET = "PROFIT_TARGET"
    NEAR_MAX_LOSS = "NEAR_MAX_LOSS"  # within reducingDistance of the trailing MLL floor
    CIRCUIT_BREAKER = "CIRCUIT_BREAKER"
    UNATTRIBUTED = "UNATTRIBUTED"  # a position no bot owns
    RECONCILIATION = "RECONCILIATION"  # our positions disagree with the exchange's
    SESSION_END = "SESSION_END"  # flattened at risk.flattenAt, until the next trading day


# Causes that end at the trading-day roll.
DAILY = (Cause.DAILY_LOSS, Cause.PROFIT_TARGET, Cause.SESSION_END)


@dataclass(frozen=True)
class RiskEvent:
    at: dt.datetime
    kind: str
    message: str
    requested_by: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "message": self.message,
            "requestedBy": self.requested_by,
            "details": self.details,
        }


class AccountState:
    def __init__(self, max_events: int = 1000) -> None:
        self.causes: dict[Cause, str] = {}
        self.halt_causes: set[Cause] = set()
        self.events: deque[RiskEvent] = deque(maxlen=max_events)
        self.recorded = 0  # events recorded so far (the persistence saves the new ones)

    @property
    def state(self) -> TradingState:
        if any(c in self.halt_causes for c in self.causes):
            return TradingState.HALTED
        if self.causes:
            return TradingState.REDUCING
        return TradingState.ACTIVE

    @property
    def state_name(self) -> str:
        return state_name(self.state)

    def set(self, cause: Cause, why: str, *, halt: bool = False) -> bool:
        """Holds the account by ``cause``; True when that is new."""
        new = cause not in self.causes
        self.causes[cause] = why
        if halt:
            self.halt_causes.add(cause)
        return new

    def clear(self, cause: Cause) -> bool:
        self.halt_causes.discard(cause)
        return self.causes.pop(cause, None) is not None

    def record(self, event: RiskEvent) -> None:
        self.events.append(event)
        self.recorded += 1

    def why(self) -> dict[str, str]:
        return {c.value: w for c, w in self.causes.items()}


def state_name(state: TradingState) -> TradingStateName:
    if state == TradingState.HALTED:
        return "HALTED"
    if state == TradingState.REDUCING:
        return "REDUCING"
    return "ACTIVE"


class CircuitBreaker:
    """Trips at ``count`` bad events (rejections, command errors, disconnects) within ``window``
    seconds (by a monotonic clock)."""

    def __init__(self, count: int, window: float) -> None:
        self.count = count
        self.window = window
        self._times: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Records one; True when the breaker trips with it."""
        times = self._times
        times.append(now)
        while times and now - times[0] > self.window:
            times.popleft()
        return len(times) >= self.count

    def reset(self) -> None:
        self._times.clear()

    @property
    def recent(self) -> int:
        return len(self._times)


class ExchangeClock:
    """The exchange's time: the newest timestamp seen on its events (quotes, fills), moving on
    with the machine's clock in between. Before any event it is the machine's clock."""

    def __init__(self) -> None:
        self._offset = dt.timedelta(0)
        self._seen = False

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._offset

    @property
    def known(self) -> bool:
        """An event has set it (before that it is the machine's clock: not to act on)."""
        return self._seen

    def observe(self, at: dt.datetime) -> None:
        """The first event sets the clock; later ones only move it forward."""
        now = dt.datetime.now(dt.UTC)
        if not self._seen or at > now + self._offset:
            self._offset = at - now
            self._seen = True
