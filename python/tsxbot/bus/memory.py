"""The in-process bus (``run-all``'s embedded default): the same semantics as the Redis bus with
no I/O. Envelopes pass through as objects (never encoded): treat them as immutable.

- Ephemeral: each subscription has a bounded deque; a slow consumer loses the oldest (counted).
- Durable: a ``MemoryStream`` per channel with consumer groups, pending lists, redelivery and
  deduplication by message id; publishers wait (then ``BusFullError``) while a group is
  ``consumerBufferSize`` messages behind, so memory stays bounded and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tsxbot.bus.bus import MessageBus, durable_message_id, subscription_channels, subscription_name
from tsxbot.bus.errors import BusClosedError, BusFullError
from tsxbot.bus.journal import Journal, MemoryJournal
from tsxbot.bus.memory_stream import GroupReader, MemoryStream
from tsxbot.bus.message import Message
from tsxbot.bus.metrics import BusMetrics, PublisherCounters
from tsxbot.bus.subscription import MalformedHandler, Subscription
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import AnyEnvelope, Channel


class MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, channels: tuple[Channel, ...], name: str, capacity: int) -> None:
        super().__init__(channels, name=name, capacity=capacity)
        self._bus = bus
        self.readers: list[GroupReader] = []

    def _refill(self) -> None:
        room = self.capacity - len(self._durable)
        for reader in self.readers:
            if room <= 0:
                break
            batch = reader.group.take(reader, room)
            if batch:
                self._durable.extend(batch)
                room -= len(batch)

    async def _on_close(self) -> None:
        # What was taken from the groups but not handed out goes back with the unacknowledged.
        self._durable.clear()
        self._bus._detach(self)


class MemoryBus(MessageBus):
    backend = "memory"

    def __init__(self, config: BusConfig | None = None) -> None:
        self.config = config or BusConfig()
        self._ephemeral: dict[str, list[MemorySubscription]] = {}
        self._streams: dict[str, MemoryStream] = {}
        self._subscriptions: list[MemorySubscription] = []
        self._journals: dict[str, MemoryJournal] = {}
        self._counters = PublisherCounters()
        self._closed = False

    async def start(self) -> None:
        if self._closed:
            raise BusClosedError("the bus is closed")

    async def publish(self, channel: Channel, envelope: AnyEnvelope) -> None:
        if channel.durable:
            await self.publish_many(channel, (envelope,))
            return
        # Every print and quote comes this way: no batch built for one message.
        if self._closed:
            raise BusClosedError("the bus is closed")
        self._counters.published += 1
        self._fan_out(channel, envelope)

    async def publish_many(self, channel: Channel, envelopes: Sequence[AnyEnvelope]) -> None:
        if self._closed:
            raise BusClosedError("the bus is closed")
        if not channel.durable:
            self._counters.published += len(envelopes)
            for envelope in envelopes:
                self._fan_out(channel, envelope)
            return
        message_ids = [durable_message_id(channel, envelope) for envelope in envelopes]
        stream = self._stream(channel)
        # Nothing else runs between two appends: each takes one place of the room left.
        room = stream.backlog_limit - stream.backlog()
        for published, (envelope, message_id) in enumerate(zip(envelopes, message_ids, strict=True)):
            if room <= 0:
                timeout = self.config.durable_publish_timeout_seconds
                if not await stream.wait_for_space(timeout):
                    self._counters.full_errors += 1
                    raise BusFullError(channel.name, stream.backlog(), timeout, published=published)
                if self._closed:
                    raise BusClosedError("the bus is closed")
                room = stream.backlog_limit - stream.backlog()
            self._counters.published += 1
            stream.append(envelope, message_id)
            room -= 1

    def _fan_out(self, channel: Channel, envelope: AnyEnvelope) -> None:
        """An ephemeral message to whoever is subscribed now."""
        subscriptions = self._ephemeral.get(channel.name)
        if subscriptions:
            message = Message(channel, envelope)
            for subscription in subscriptions:
                subscription._push_ephemeral(message)

    async def flush(self) -> None:
        """Nothing to wait for: ``publish`` hands every message over before it returns."""

    async def subscribe(
        self,
        channels: Channel | Iterable[Channel],
        *,
        group: str | None = None,
        consumer: str | None = None,
        on_malformed: MalformedHandler | None = None,
    ) -> Subscription:
        if self._closed:
            raise BusClosedError("the bus is closed")
        listed, group, consumer = subscription_channels(channels, group, consumer)
        subscription = MemorySubscription(
            self, listed, subscription_name(listed, group, consumer), self.config.consumer_buffer_size
        )
        subscription.on_malformed = on_malformed  # (typed in-process messages are never malformed)
        for channel in listed:
            if channel.durable:
                assert group is not None and consumer is not None
                stream_group = self._stream(channel).group(group)
                reader = GroupReader(stream_group, consumer, subscription)
                stream_group.readers.append(reader)
                subscription.readers.append(reader)
                # Like reading a Redis consumer's pending list first: what this consumer had
                # received but not acknowledged before it restarted comes again.
                stream_group.release(consumer)
            else:
                self._ephemeral.setdefault(channel.name, []).append(subscription)
        self._subscriptions.append(subscription)
        return subscription

    def journal(self, name: str) -> Journal:
        return self._journals.setdefault(name, MemoryJournal())

    def metrics(self) -> BusMetrics:
        c = self._counters
        return BusMetrics(
            backend=self.backend,
            connected=not self._closed,
            published=c.published,
            written=c.published,
            publish_buffer_depth=max((s.backlog() for s in self._streams.values()), default=0),
            publish_buffer_capacity=self.config.consumer_buffer_size,
            publish_dropped=0,
            publish_full_errors=c.full_errors,
            reconnects=0,
            subscriptions=tuple(s.metrics() for s in self._subscriptions),
        )

    async def close(self, *, flush_seconds: float | None = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.close()

    def _stream(self, channel: Channel) -> MemoryStream:
        stream = self._streams.get(channel.name)
        if stream is None:
            stream = self._streams[channel.name] = MemoryStream(
                channel,
                max_len=self.config.stream_max_len,
                backlog_limit=self.config.consumer_buffer_size,
                dedupe_window_s=self.config.dedupe_window_seconds,
            )
        return stream

    def _detach(self, subscription: MemorySubscription) -> None:
        for channel in subscription.channels:
            listed = self._ephemeral.get(channel.name)
            if listed and subscription in listed:
                listed.remove(subscription)
        for reader in subscription.readers:
            group = reader.group
            if reader in group.readers:
                group.readers.remove(reader)
            group.release(reader.consumer)
            group.stream.trim()
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
