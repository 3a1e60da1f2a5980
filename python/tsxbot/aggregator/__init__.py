"""The trading aggregator: account risk, the order queue, positions per bot, the kill switch
(``service.py`` has the order path; each other module one part of it)."""

from tsxbot.aggregator.service import Aggregator

__all__ = ["Aggregator"]
