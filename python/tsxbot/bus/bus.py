"""The one interface every service talks to, whichever bus runs underneath.

- ``await bus.publish(channel, envelope)``: the channel (from ``tsxbot.messages.channels``) says
  how it is delivered. Ephemeral: to whoever is subscribed now, may be dropped when a consumer or
  the connection cannot keep up. Durable: kept until every consumer group has acknowledged it,
  handled once per group by message id; when the bus cannot take it (Redis down longer than the
  bounded buffer lasts, or a group that far behind) ``publish`` waits, then raises
  ``BusFullError``: never a silent loss.
- ``await bus.publish_many(channel, envelopes)``: the same as publishing each in turn (same
  order, same guarantees), in one call: the in-process bus checks the consumers' room once, the
  Redis bus encodes them into its buffer and wakes its writer once (one pipelined batch). A durable
  batch's message ids are all checked before any is published; when one cannot be published
  (``BusFullError``), the ones before it were (``error.published``), it and those after not.
- ``await bus.subscribe(channels, group=..., consumer=...)``: one subscription for any number of
  channels, ephemeral and durable mixed. Durable channels need a consumer ``group`` (the service:
  ``connection-manager``, ``aggregator``, ``bot_1``): each message goes to one consumer of each
  group, and a restarted consumer of the group resumes where the group was.
- ``bus.journal(name)``: a small record per key, as durable as the bus's durable messages (see
  ``journal.py``): how a service remembers what it did across a crash.
- ``await bus.flush()``: returns once everything published so far is delivered (in-process) or
  confirmed by Redis. ``await bus.close()`` flushes, then closes every subscription.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

from tsxbot.bus.errors import BusUsageError
from tsxbot.bus.journal import Journal
from tsxbot.bus.metrics import BusMetrics
from tsxbot.bus.subscription import MalformedHandler, Subscription
from tsxbot.messages import AnyEnvelope, Channel
from tsxbot.messages.channels import _checked


class MessageBus(ABC):
    backend: str = "abstract"

    @abstractmethod
    async def start(self) -> None:
        """Connects (Redis) and starts background work. ``publish`` buffers before it."""

    async def publish(self, channel: Channel, envelope: AnyEnvelope) -> None:
        await self.publish_many(channel, (envelope,))

    @abstractmethod
    async def publish_many(self, channel: Channel, envelopes: Sequence[AnyEnvelope]) -> None:
        """``envelopes`` published on ``channel`` in order, as ``publish`` one after another."""

    @abstractmethod
    async def flush(self) -> None:
        """Waits until every message published before the call is delivered (in-process) or
        confirmed by Redis. Bound it with ``asyncio.timeout`` where waiting forever is wrong."""

    @abstractmethod
    async def subscribe(
        self,
        channels: Channel | Iterable[Channel],
        *,
        group: str | None = None,
        consumer: str | None = None,
        on_malformed: MalformedHandler | None = None,
    ) -> Subscription:
        """A subscription to ``channels`` (durable ones need a ``group``). ``on_malformed`` is
        awaited for each durable message that cannot be decoded, before it is dead-lettered
        (set here, before the first read, so it also sees this consumer's pending entries)."""

    @abstractmethod
    def journal(self, name: str) -> Journal:
        """The journal ``name`` (one per use: ``commands``), closed with the bus."""

    @abstractmethod
    def metrics(self) -> BusMetrics: ...

    @abstractmethod
    async def close(self, *, flush_seconds: float | None = 10.0) -> None:
        """Flushes (for at most ``flush_seconds``), stops background work, closes every
        subscription; durable messages it could not flush are logged as an error, by count.
        Durable messages still unacknowledged stay pending for their groups."""

    async def __aenter__(self) -> MessageBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def subscription_channels(
    channels: Channel | Iterable[Channel], group: str | None, consumer: str | None
) -> tuple[tuple[Channel, ...], str | None, str | None]:
    """Checks a subscribe call: channels (deduplicated, in order), group and consumer names."""
    listed = (channels,) if isinstance(channels, Channel) else tuple(channels)
    unique = tuple(dict.fromkeys(listed))
    if not unique:
        raise BusUsageError("subscribe needs at least one channel")
    if any(ch.durable for ch in unique):
        if group is None:
            names = ", ".join(ch.name for ch in unique if ch.durable)
            raise BusUsageError(f"durable channels ({names}) need a consumer group")
        group = _name("consumer group", group)
        consumer = _name("consumer", consumer or group)
    return unique, group, consumer


def subscription_name(channels: tuple[Channel, ...], group: str | None, consumer: str | None) -> str:
    if group is not None:
        return group if consumer in (None, group) else f"{group}.{consumer}"
    return channels[0].name if len(channels) == 1 else f"{channels[0].name}+{len(channels) - 1}"


def durable_message_id(channel: Channel, envelope: AnyEnvelope) -> str:
    message_id = envelope.message_id
    if not message_id:
        raise BusUsageError(
            f"a durable message ({envelope.type.value} on {channel.name}) needs a messageId: "
            "build it with Envelope.wrap"
        )
    return message_id


def _name(kind: str, value: str) -> str:
    try:
        return _checked(kind, value)
    except ValueError as exc:
        raise BusUsageError(str(exc)) from None
