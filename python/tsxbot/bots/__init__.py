"""The bot runtime: one strategy on one instrument, fed from the bus, trading through the
aggregator (``BotService``; ``build_bots`` makes one per enabled ``config/bots/*.yaml``)."""

from tsxbot.bots.factory import build_bots
from tsxbot.bots.service import BotService

__all__ = ["BotService", "build_bots"]
