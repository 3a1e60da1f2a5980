"""Secrets come only from the environment (or a ``.env`` file) and are never shown in full."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

MASK = "********"

# Where each secret is read from, first match wins. The *_REAL names are the original spec's.
SECRET_ENV_VARS: dict[str, tuple[str, ...]] = {
    "topstepx_username": ("TOPSTEPX_USERNAME", "TOPSTEP_USERNAME_REAL", "TOPSTEP_USERNAME"),
    "topstepx_api_key": ("TOPSTEPX_API_KEY", "TOPSTEP_API_KEY_REAL", "TOPSTEP_API_KEY"),
    "internal_api_key": ("TSXBOT_API_KEY",),
    # Alerts (``alerts.*``): a bot token and webhook URLs are credentials (whoever holds one posts
    # as the bot or into the channel), so they are secrets too.
    "telegram_bot_token": ("TELEGRAM_BOT_TOKEN",),
    "discord_webhook_url": ("DISCORD_WEBHOOK_URL",),
    "slack_webhook_url": ("SLACK_WEBHOOK_URL",),
    "alert_webhook_url": ("TSXBOT_ALERT_WEBHOOK_URL",),
}


class Secret:
    """A string that prints as a mask; ``reveal()`` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison (for API keys presented by clients)."""
        # surrogateescape: a header that is not valid UTF-8 compares (unequal), never raises.
        return hmac.compare_digest(self._value.encode(), candidate.encode("utf-8", "surrogateescape"))

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and self.matches(other._value)

    def __hash__(self) -> int:
        return hash(Secret)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Secrets:
    topstepx_username: Secret | None = None
    topstepx_api_key: Secret | None = None
    internal_api_key: Secret | None = None
    telegram_bot_token: Secret | None = None
    discord_webhook_url: Secret | None = None
    slack_webhook_url: Secret | None = None
    alert_webhook_url: Secret | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Secrets:
        found: dict[str, Secret | None] = {}
        for field, names in SECRET_ENV_VARS.items():
            value = next((env[n] for n in names if env.get(n)), None)
            found[field] = Secret(value) if value else None
        return cls(**found)

    def masked(self) -> dict[str, dict[str, str]]:
        """For display: which secrets are set and where each is read from, never their values."""
        return {
            field: {"value": MASK if getattr(self, field) else "(not set)", "from": " or ".join(names)}
            for field, names in SECRET_ENV_VARS.items()
        }

    def values(self) -> list[str]:
        """The raw values, for the log redactor only."""
        return [s.reveal() for field in SECRET_ENV_VARS if (s := getattr(self, field))]
