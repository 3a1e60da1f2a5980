"""``alerts`` in ``config/global.yaml``: which events go to which channel (Telegram, Discord,
Slack, a generic JSON webhook), at which level, how fast, and who may send commands.

Tokens and webhook URLs are secrets: only from the environment (``TELEGRAM_BOT_TOKEN``,
``DISCORD_WEBHOOK_URL``, ``SLACK_WEBHOOK_URL``, ``TSXBOT_ALERT_WEBHOOK_URL``), never from a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from tsxbot.config.types import NonNegativeFloat, PositiveFloat, PositiveInt, TimeOfDay, TimeZoneName


class _Section(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """camelCase keys, unknown keys refused, immutable (as every config section)."""


AlertLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# Every kind of event the notifier reports (``tsxbot.alerts.events.EventKind``).
AlertKind = Literal[
    "FILL",
    "TRADE_CLOSED",
    "RISK_REJECTION",
    "TRADING_STATE",
    "CIRCUIT_BREAKER",
    "CONNECTION_LOST",
    "CONNECTION_RESTORED",
    "SERVICE_ERROR",
    "SERVICE_RECOVERED",
    "BOT_ERROR",
    "DAILY_SUMMARY",
]


class RouteConfig(_Section, frozen=True):
    """One channel: on or off, the lowest level it gets, optionally only some kinds, its pace."""

    enabled: bool = False
    min_level: AlertLevel = "INFO"
    # Only these kinds (unset: every kind at or above minLevel).
    kinds: list[AlertKind] | None = None
    # Messages per minute at most (a token bucket; what waits meanwhile is coalesced).
    max_per_minute: PositiveInt = 20


class TelegramConfig(RouteConfig, frozen=True):
    # Chats that receive alerts (a user's id for a private chat, a group's negative id).
    chat_ids: list[int] = msgspec.field(default_factory=list)
    # Chats whose commands are obeyed (unset: chatIds). Anything else is logged and ignored.
    allowed_chat_ids: list[int] | None = None
    # Read commands (/status, /halt, /flatten ...) by long polling getUpdates.
    commands: bool = True
    api_url: str = "https://api.telegram.org"
    poll_timeout_seconds: PositiveInt = 30
    # A /flatten must be confirmed within this long.
    confirm_seconds: PositiveFloat = 60.0

    @property
    def allowed(self) -> frozenset[int]:
        return frozenset(self.chat_ids if self.allowed_chat_ids is None else self.allowed_chat_ids)


class LevelsConfig(_Section, frozen=True):
    """A level per kind of event, over the defaults (``tsxbot.alerts.events.DEFAULT_LEVELS``)."""

    fill: AlertLevel | None = None
    trade_closed: AlertLevel | None = None
    risk_rejection: AlertLevel | None = None
    trading_state: AlertLevel | None = None
    circuit_breaker: AlertLevel | None = None
    connection_lost: AlertLevel | None = None
    connection_restored: AlertLevel | None = None
    service_error: AlertLevel | None = None
    service_recovered: AlertLevel | None = None
    bot_error: AlertLevel | None = None
    daily_summary: AlertLevel | None = None

    def chosen(self) -> dict[str, AlertLevel]:
        """``{"FILL": "DEBUG", ...}`` for the kinds given."""
        return {
            name.upper(): value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not None
        }


class AlertsConfig(_Section, frozen=True):
    """The notifier (``tsxbot alerts``; ``run-all`` runs it when ``enabled``)."""

    enabled: bool = False
    # A level per kind (fill, tradeClosed, riskRejection ...), over the defaults.
    levels: LevelsConfig = msgspec.field(default_factory=LevelsConfig)
    # Alerts arriving within this window are sent as one message per channel.
    coalesce_seconds: PositiveFloat = 1.0
    # The same event (by its key: a fill id, a rejection) within this long is sent once.
    dedup_seconds: NonNegativeFloat = 300.0
    # Alerts waiting per channel; beyond it the oldest is dropped (counted and logged).
    queue_capacity: PositiveInt = 1000
    # A failed send is retried this many times, waiting retryBase * 2^n (at most retryCap) or
    # the channel's own retry_after, whichever is longer; then dropped and logged.
    retry_attempts: PositiveInt = 5
    retry_base_seconds: PositiveFloat = 1.0
    retry_cap_seconds: PositiveFloat = 60.0
    request_timeout_seconds: PositiveFloat = 10.0
    # The daily summary, by the exchange's clock in ``timezone`` (the CME's session close by
    # default); unset: none.
    daily_summary_at: TimeOfDay | None = "16:00"
    timezone: TimeZoneName = "America/Chicago"
    # How often the aggregator's API is checked (GET /status) to notice it going down (its
    # trading state comes on the bus, account:trading-state).
    aggregator_poll_seconds: PositiveFloat = 1.0
    # No status from the connection manager for this long: the connection is reported lost.
    connection_stale_seconds: PositiveFloat = 20.0
    telegram: TelegramConfig = msgspec.field(default_factory=TelegramConfig)
    discord: RouteConfig = msgspec.field(default_factory=lambda: RouteConfig(max_per_minute=30))
    slack: RouteConfig = msgspec.field(default_factory=lambda: RouteConfig(max_per_minute=60))
    webhook: RouteConfig = msgspec.field(default_factory=lambda: RouteConfig(max_per_minute=60))

    @property
    def routes(self) -> dict[str, RouteConfig]:
        return {
            "telegram": self.telegram,
            "discord": self.discord,
            "slack": self.slack,
            "webhook": self.webhook,
        }

    def problems(self) -> Iterable[tuple[str, str]]:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.enabled and not any(r.enabled for r in self.routes.values()):
            yield (
                "enabled",
                "alerts are enabled but no channel is: set alerts.telegram.enabled, alerts.discord.enabled, "
                "alerts.slack.enabled or alerts.webhook.enabled",
            )
        telegram = self.telegram
        if telegram.enabled and not telegram.chat_ids and not telegram.allowed:
            yield (
                "telegram.chatIds",
                "Telegram is enabled but no chat id is given (see the README: five steps)",
            )
        if not telegram.api_url.startswith(("http://", "https://")):
            yield "telegram.apiUrl", f"expected an http(s):// URL, got {telegram.api_url!r}"
        if self.retry_cap_seconds < self.retry_base_seconds:
            yield "retryCapSeconds", "is smaller than retryBaseSeconds"
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            yield (
                "timezone",
                f"unknown time zone {self.timezone!r} (use an IANA name such as America/Chicago)",
            )
