"""Rate limits, shared by the gateway (client side) and the simulator (server side)."""

from __future__ import annotations

import msgspec

from tsxbot.config.types import PositiveFloat, PositiveInt


class RateLimit(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """At most ``requests`` in any ``period_seconds`` (the simulator can also count it as a token
    bucket of that size and rate: ``simulator.rateLimits.algorithm``)."""

    requests: PositiveInt
    period_seconds: PositiveFloat
