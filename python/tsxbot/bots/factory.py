"""One ``BotService`` per enabled bot of the configuration (``run-all`` runs them as tasks in
one process; ``tsxbot bot --config`` runs one). The loader has already made users' strategy
modules importable (``strategyPaths``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tsxbot.bots.service import BotService
from tsxbot.bus import MessageBus
from tsxbot.config import Config


def build_bots(
    config: Config,
    bus: MessageBus,
    clock: Callable[[], dt.datetime] | None = None,
    only: list[str] | None = None,
) -> list[BotService]:
    ids = [b.id for b in config.enabled_bots] if only is None else only
    return [BotService(config, bot_id, bus, clock=clock) for bot_id in ids]
