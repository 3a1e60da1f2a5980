"""What the notifier reports: one ``Alert`` per event, with its kind and level.

Levels order as the logging module's (DEBUG < INFO < WARNING < ERROR < CRITICAL); a channel gets
the alerts at or above its ``minLevel`` (and of its ``kinds``, when given).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import msgspec

from tsxbot.messages.payload import Scalar


class EventKind(StrEnum):
    FILL = "FILL"
    TRADE_CLOSED = "TRADE_CLOSED"
    RISK_REJECTION = "RISK_REJECTION"
    TRADING_STATE = "TRADING_STATE"
    CIRCUIT_BREAKER = "CIRCUIT_BREAKER"
    CONNECTION_LOST = "CONNECTION_LOST"
    CONNECTION_RESTORED = "CONNECTION_RESTORED"
    SERVICE_ERROR = "SERVICE_ERROR"
    SERVICE_RECOVERED = "SERVICE_RECOVERED"
    BOT_ERROR = "BOT_ERROR"
    DAILY_SUMMARY = "DAILY_SUMMARY"


LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

DEFAULT_LEVELS: dict[EventKind, str] = {
    EventKind.FILL: "INFO",
    EventKind.TRADE_CLOSED: "INFO",
    EventKind.RISK_REJECTION: "WARNING",
    EventKind.TRADING_STATE: "WARNING",
    EventKind.CIRCUIT_BREAKER: "ERROR",
    EventKind.CONNECTION_LOST: "ERROR",
    EventKind.CONNECTION_RESTORED: "INFO",
    EventKind.SERVICE_ERROR: "ERROR",
    EventKind.SERVICE_RECOVERED: "INFO",
    EventKind.BOT_ERROR: "ERROR",
    EventKind.DAILY_SUMMARY: "INFO",
}

ICONS = {"DEBUG": "·", "INFO": "ℹ️", "WARNING": "⚠️", "ERROR": "🛑", "CRITICAL": "🚨"}


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One event to report. ``key`` identifies the event (a fill id, a rejection): the same key
    within ``alerts.dedupSeconds`` is sent once. ``at`` is the event's own time."""

    kind: EventKind
    title: str
    key: str
    at: dt.datetime
    text: str = ""
    level: str = "INFO"
    fields: dict[str, Scalar] = msgspec.field(default_factory=dict)

    @property
    def severity(self) -> int:
        return LEVELS.get(self.level, 20)


def level_at_least(level: str, minimum: str) -> bool:
    return LEVELS.get(level, 20) >= LEVELS.get(minimum, 20)
