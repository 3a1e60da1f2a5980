"""A signal not taken, and why: a typed reason, a sentence, and the setup's ``Reason``.

A strategy returns ``Skip`` when a setup fires but one of its own filters refuses it; the bot's
shared checks (``tsxbot.strategy.sizing``, ``tsxbot.strategy.gate``) return ``Skip`` for theirs.
Nothing is dropped silently: the bot reports every ``Skip``.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from tsxbot.strategy.signals import Reason

__all__ = ["Skip", "SkipKind"]


class SkipKind(StrEnum):
    # Sizing (tsxbot.strategy.sizing)
    RISK_TOO_WIDE = "RISK_TOO_WIDE"  # the stop is farther than maxRiskPoints
    SIZE_ZERO = "SIZE_ZERO"  # dollar risk buys no contract at that stop
    STOP_WRONG_SIDE = "STOP_WRONG_SIDE"  # a long's stop at/above the entry, a short's at/below
    TARGET_WRONG_SIDE = "TARGET_WRONG_SIDE"
    REWARD_RISK_TOO_LOW = "REWARD_RISK_TOO_LOW"
    # Gating (tsxbot.strategy.gate)
    OUTSIDE_HOURS = "OUTSIDE_HOURS"
    AFTER_FLATTEN_TIME = "AFTER_FLATTEN_TIME"
    MAX_SIGNALS_PER_DAY = "MAX_SIGNALS_PER_DAY"
    COOLDOWN = "COOLDOWN"
    MAX_POSITIONS = "MAX_POSITIONS"
    DIRECTION = "DIRECTION"  # the bot trades only the other direction
    PAUSED = "PAUSED"
    # The strategies' own filters
    AFTER_CUTOFF = "AFTER_CUTOFF"
    RELATIVE_VOLUME = "RELATIVE_VOLUME"
    REGIME = "REGIME"
    VWAP = "VWAP"
    DELTA = "DELTA"
    VOLUME_PROFILE = "VOLUME_PROFILE"
    WICK = "WICK"
    TREND_FILTER = "TREND_FILTER"
    EMA_SPREAD = "EMA_SPREAD"
    PULLBACK_TOO_DEEP = "PULLBACK_TOO_DEEP"
    PULLBACK_TOO_LONG = "PULLBACK_TOO_LONG"
    TOO_EXTENDED = "TOO_EXTENDED"
    ALREADY_TRADED = "ALREADY_TRADED"
    NOT_READY = "NOT_READY"  # indicators or levels still warming up


class Skip(msgspec.Struct, frozen=True, kw_only=True, tag="skip"):
    kind: SkipKind
    detail: str
    reason: Reason
