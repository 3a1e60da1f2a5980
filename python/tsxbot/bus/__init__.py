"""The message bus every component talks over: in-process (``run-all``) or Redis, one interface.

    bus = create_bus(config.global_config.bus, client_name="aggregator")
    await bus.start()
    await bus.publish(channels.CM_COMMANDS, Envelope.wrap(place_order, "aggregator"))

    sub = await bus.subscribe([channels.AGGREGATOR_ORDERS, channels.CM_FILLS], group="aggregator")
    async for message in sub:
        handle(message.envelope)
        await message.ack()          # durable channels: handled, never redelivered

See ``bus.py`` for the delivery rules, ``BENCHMARKS.md`` for what it sustains.
"""

from tsxbot.bus.bus import MessageBus
from tsxbot.bus.errors import (
    BusClosedError,
    BusError,
    BusFullError,
    BusUsageError,
    RedisConnectionError,
    RedisReplyError,
)
from tsxbot.bus.factory import create_bus
from tsxbot.bus.journal import Claim, Journal, JournalUnavailableError
from tsxbot.bus.memory import MemoryBus
from tsxbot.bus.message import Message, ack_all
from tsxbot.bus.metrics import BusMetrics, SubscriptionMetrics
from tsxbot.bus.redis_bus import RedisBus
from tsxbot.bus.subscription import Subscription

__all__ = [
    "BusClosedError",
    "BusError",
    "BusFullError",
    "BusMetrics",
    "BusUsageError",
    "Claim",
    "Journal",
    "JournalUnavailableError",
    "MemoryBus",
    "Message",
    "MessageBus",
    "RedisBus",
    "RedisConnectionError",
    "RedisReplyError",
    "Subscription",
    "SubscriptionMetrics",
    "ack_all",
    "create_bus",
]
