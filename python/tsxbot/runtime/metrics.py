"""A service's counters on the bus: ``Metrics`` messages on ``system:metrics`` every few seconds,
so one monitoring endpoint (the aggregator's ``/metrics``) shows every service, in one process or
many over Redis."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from typing import Any

from tsxbot.bus import MessageBus
from tsxbot.log import get_logger
from tsxbot.messages import Envelope, Metrics, channels

log = get_logger("tsxbot.runtime")
METRICS_INTERVAL_SECONDS = 5.0


def numeric_leaves(tree: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite numbers (and booleans, as 0/1) of a nested status document, named by their dotted
    path (``counters.commands``); everything else is left out."""
    out: dict[str, float] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(numeric_leaves(value, f"{name}."))
        elif isinstance(value, bool):
            out[name] = 1.0 if value else 0.0
        elif isinstance(value, int | float) and math.isfinite(value):
            out[name] = float(value)
    return out


async def publish_metrics_periodically(
    bus: MessageBus,
    component: str,
    values: Callable[[], Mapping[str, float]],
    interval: float = METRICS_INTERVAL_SECONDS,
) -> None:
    """Publishes ``values()`` as ``Metrics`` from ``component`` now and every ``interval`` seconds,
    until cancelled. Metrics may be dropped (an ephemeral channel); a failure is logged, never
    fatal."""
    while True:
        try:
            payload = Metrics(component=component, values=dict(values()))
            await bus.publish(channels.SYSTEM_METRICS, Envelope.wrap(payload, component))
        except Exception as exc:  # metrics must never take a service down
            log.warning("metrics not published", component=component, error=repr(exc))
        await asyncio.sleep(interval)
