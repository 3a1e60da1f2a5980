"""The bot runtime: one strategy on one instrument, fed from the bus, trading through the
aggregator (``BotService``; ``build_bots`` makes one per enabled ``config/bots/*.yaml``).

The names below are imported on first use: the bot's order building (``tsxbot.bots.orders``)
serves the backtester too, which needs neither the bus nor the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsxbot.bots.factory import build_bots
    from tsxbot.bots.service import BotService

__all__ = ["BotService", "build_bots"]


def __getattr__(name: str) -> Any:
    if name == "build_bots":
        from tsxbot.bots.factory import build_bots

        return build_bots
    if name == "BotService":
        from tsxbot.bots.service import BotService

        return BotService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
