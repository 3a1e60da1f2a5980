"""What the bus reports: buffer depths and capacities, drops, duplicates, redeliveries, decode
errors, reconnects. Counters are plain attributes (cheap on the hot path); ``BusMetrics`` is an
immutable snapshot, flattened by ``as_values`` into a ``Metrics`` payload's ``values``."""

from __future__ import annotations

import msgspec


class SubscriptionCounters:
    """Live counters of one subscription (mutated by the bus, read through ``snapshot``)."""

    __slots__ = (
        "acked",
        "dead_lettered",
        "decode_errors",
        "dropped",
        "duplicates",
        "received",
        "redelivered",
    )

    def __init__(self) -> None:
        self.received = 0  # messages handed to the consumer
        self.dropped = 0  # ephemeral messages dropped because the consumer was too slow
        self.duplicates = 0  # durable messages skipped: that message id was already handled
        self.redelivered = 0  # durable messages delivered again (after a crash before the ack)
        self.acked = 0
        self.decode_errors = 0  # malformed messages on the wire (never handed to the consumer)
        self.dead_lettered = 0  # malformed durable messages moved to the dead-letter stream


class PublisherCounters:
    __slots__ = ("connected", "dropped", "full_errors", "published", "reconnects", "written")

    def __init__(self) -> None:
        self.published = 0  # messages accepted by ``publish``
        self.written = 0  # messages confirmed by Redis (or delivered, in-process)
        self.dropped = 0  # ephemeral messages dropped from a full publish buffer, or lost in a failed write
        self.full_errors = 0  # durable publishes refused with ``BusFullError``
        self.reconnects = 0
        self.connected = True


class SubscriptionMetrics(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    name: str
    channels: tuple[str, ...]
    depth: int
    capacity: int
    received: int
    dropped: int
    duplicates: int
    redelivered: int
    acked: int
    decode_errors: int
    dead_lettered: int


class BusMetrics(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    backend: str
    connected: bool
    published: int
    written: int
    publish_buffer_depth: int
    publish_buffer_capacity: int
    publish_dropped: int
    publish_full_errors: int
    reconnects: int
    subscriptions: tuple[SubscriptionMetrics, ...] = ()
    # Over Redis (see ``redis_trim``): durable streams longer than streamMaxLen because a group is
    # that far behind, how often one went over, the ``<channel>/<group>`` holding each back, and
    # entries trimmed from streams no group reads yet.
    streams_over_limit: int = 0
    stream_limit_warnings: int = 0
    lagging_groups: tuple[str, ...] = ()
    unconsumed_trimmed: int = 0

    def as_values(self) -> dict[str, float]:
        """Flat ``name -> value`` for a ``Metrics`` message (``bus.subscription.<name>.depth``...)."""
        values: dict[str, float] = {
            "bus.connected": 1.0 if self.connected else 0.0,
            "bus.published": self.published,
            "bus.written": self.written,
            "bus.publishBufferDepth": self.publish_buffer_depth,
            "bus.publishBufferCapacity": self.publish_buffer_capacity,
            "bus.publishDropped": self.publish_dropped,
            "bus.publishFullErrors": self.publish_full_errors,
            "bus.reconnects": self.reconnects,
            "bus.streamsOverLimit": self.streams_over_limit,
            "bus.streamLimitWarnings": self.stream_limit_warnings,
            "bus.unconsumedTrimmed": self.unconsumed_trimmed,
        }
        for lagging in self.lagging_groups:
            channel, _, group = lagging.partition("/")  # channel names have no "/"
            values[f"bus.laggingGroup.{channel}.{group}"] = 1.0
        for sub in self.subscriptions:
            for key, value in msgspec.structs.asdict(sub).items():
                if isinstance(value, int):
                    values[f"bus.subscription.{sub.name}.{_camel(key)}"] = value
        return values


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)
