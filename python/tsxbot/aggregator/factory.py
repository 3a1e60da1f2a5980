"""Builds the aggregator from the config (the exchange's clock: the embedded simulator's in
run-all, else the newest timestamp on the exchange's own events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tsxbot.aggregator.service import Aggregator
from tsxbot.bus import MessageBus
from tsxbot.config import Config


def build_aggregator(
    config: Config, bus: MessageBus, clock: Callable[[], dt.datetime] | None = None
) -> Aggregator:
    return Aggregator(config, bus, clock=clock)
