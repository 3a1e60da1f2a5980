"""The bot registry: the bots that may trade on this account (the enabled bots of the
configuration), their registration (config hash), heartbeats, and pause state. Orders from a
bot not in it are refused (UNKNOWN_BOT); a bot silent longer than ``heartbeat_timeout`` is
reported stale (its positions stay protected by their exchange-side stops).

The bot ``manual`` (the manual trading page's orders) is always known: it needs no
configuration, registration or heartbeat, and its orders pass the same risk checks
(account limits; no per-bot limits beyond the account's)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from tsxbot.config.bot_config import BotConfig

MANUAL_BOT = "manual"


def config_hash(config: BotConfig) -> str:
    """The hash a bot registers with: its resolved configuration, canonical JSON, SHA-256 (16 hex)."""
    encoded = msgspec.json.encode(msgspec.to_builtins(config), order="sorted")
    return hashlib.sha256(encoded).hexdigest()[:16]


@dataclass
class BotEntry:
    bot_id: str
    symbol: str | None = None
    # The hash of the configuration the aggregator loaded for it, and the one it registered with.
    expected_hash: str | None = None
    config_hash: str | None = None
    registered_at: float | None = None  # monotonic
    last_seen: float | None = None  # monotonic
    paused: bool = False
    pause_reason: str | None = None
    stale_reported: bool = False


class BotRegistry:
    def __init__(
        self,
        bots: Iterable[tuple[str, str | None, str | None]],
        heartbeat_timeout: float,
        require_registration: bool = False,
    ) -> None:
        self._bots = {bot_id: BotEntry(bot_id, symbol, expected) for bot_id, symbol, expected in bots}
        self._bots.setdefault(MANUAL_BOT, BotEntry(MANUAL_BOT))
        self.heartbeat_timeout = heartbeat_timeout
        self.require_registration = require_registration

    def may_trade(self, bot_id: str) -> BotEntry | None:
        """The bot's entry when it may send orders (configured, and registered when required)."""
        entry = self._bots.get(bot_id)
        if entry is None or (
            self.require_registration and entry.registered_at is None and bot_id != MANUAL_BOT
        ):
            return None
        return entry

    def __contains__(self, bot_id: object) -> bool:
        return bot_id in self._bots

    def get(self, bot_id: str) -> BotEntry | None:
        return self._bots.get(bot_id)

    def ids(self) -> list[str]:
        return sorted(self._bots)

    def register(self, bot_id: str, config_hash: str, now: float) -> BotEntry | None:
        entry = self._bots.get(bot_id)
        if entry is None:
            return None
        entry.config_hash = config_hash
        entry.registered_at = now
        entry.last_seen = now
        entry.stale_reported = False
        return entry

    def heartbeat(self, bot_id: str, now: float) -> BotEntry | None:
        entry = self._bots.get(bot_id)
        if entry is not None:
            entry.last_seen = now
            entry.stale_reported = False
        return entry

    def newly_stale(self, now: float) -> list[BotEntry]:
        """Registered bots silent past the timeout, each reported once until it is heard again."""
        stale = []
        for entry in self._bots.values():
            if (
                entry.last_seen is not None
                and now - entry.last_seen > self.heartbeat_timeout
                and not entry.stale_reported
            ):
                entry.stale_reported = True
                stale.append(entry)
        return stale

    def is_stale(self, entry: BotEntry, now: float) -> bool:
        return entry.last_seen is not None and now - entry.last_seen > self.heartbeat_timeout

    def view(self, now: float) -> list[dict[str, Any]]:
        return [
            {
                "botId": e.bot_id,
                "symbol": e.symbol,
                "configHash": e.config_hash,
                "configMatches": None if e.config_hash is None else e.config_hash == e.expected_hash,
                "registered": e.registered_at is not None,
                "secondsSinceHeartbeat": None if e.last_seen is None else round(now - e.last_seen, 3),
                "stale": self.is_stale(e, now),
                "paused": e.paused,
                "pauseReason": e.pause_reason,
            }
            for e in sorted(self._bots.values(), key=lambda e: e.bot_id)
        ]
