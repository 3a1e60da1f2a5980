"""Builds the aggregator from the config (the exchange's clock: the embedded simulator's in
run-all, else the newest timestamp on the exchange's own events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tsxbot.aggregator.service import Aggregator
from tsxbot.bus import MessageBus
from tsxbot.config import Config
from tsxbot.connection_manager.factory import internal_api_key


def build_aggregator(
    config: Config, bus: MessageBus, clock: Callable[[], dt.datetime] | None = None
) -> Aggregator:
    """With its HTTP API and monitoring on ``services.aggregator`` (the internal API key is the
    connection manager's: ``TSXBOT_API_KEY`` or ``.tsxbot/internal-api-key``)."""
    return Aggregator(config, bus, clock=clock, api_key=internal_api_key(config))
