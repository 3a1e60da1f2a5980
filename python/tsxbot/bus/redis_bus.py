"""The bus over Redis: pub/sub for ephemeral channels, streams with consumer groups for durable
ones. Connections: one for publishing, one for acknowledgements, and per subscription one for
pub/sub and one for reading streams. Every connection reconnects on its own (exponential backoff
with jitter); see ``redis_publisher`` and ``redis_subscription`` for what happens to messages,
and ``redis_trim`` for when entries leave a durable stream.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

from tsxbot.bus.backoff import Backoff
from tsxbot.bus.bus import MessageBus, durable_message_id, subscription_channels, subscription_name
from tsxbot.bus.errors import BusClosedError, RedisConnectionError, RedisReplyError
from tsxbot.bus.journal import Journal, RedisJournal
from tsxbot.bus.metrics import BusMetrics
from tsxbot.bus.redis_acks import AckWriter
from tsxbot.bus.redis_names import RedisNames
from tsxbot.bus.redis_publisher import RedisPublisher
from tsxbot.bus.redis_subscription import RedisSubscription
from tsxbot.bus.resp import RedisAddress, RespConnection, pack, reply_error
from tsxbot.bus.subscription import MalformedHandler, Subscription
from tsxbot.config.global_config import BusConfig
from tsxbot.log import get_logger
from tsxbot.messages import AnyEnvelope, Channel
from tsxbot.runtime.service import StartupError

log = get_logger("tsxbot.bus.redis")


def shown_url(url: str) -> str:
    """The Redis URL as it may be printed: a password masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}****@{host}", parts.path, parts.query, parts.fragment))


class RedisBus(MessageBus):
    backend = "redis"

    def __init__(self, config: BusConfig, *, client_name: str | None = None) -> None:
        self.config = config
        self._address = RedisAddress.parse(config.redis_url)
        self._names = RedisNames(config.namespace)
        self._client_name = client_name or f"{config.namespace}-{os.getpid()}"
        self._publisher = RedisPublisher(self._address, config, self._names, f"{self._client_name}-pub")
        self._acks = AckWriter(self._address, config, f"{self._client_name}-ack")
        self._subscriptions: list[RedisSubscription] = []
        self._journals: dict[str, RedisJournal] = {}
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if self._closed:
            raise BusClosedError("the bus is closed")
        if not self._started:
            await self._wait_for_redis()
            self._started = True
            self._publisher.resend_spilled()
            self._publisher.start()
            self._acks.start()

    async def _wait_for_redis(self) -> None:
        """Redis must answer within ``startupTimeoutSeconds``: a wrong URL is a start-up error
        naming it, not a bus that says it started and buffers until shutdown."""
        timeout = self.config.startup_timeout_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        backoff = Backoff(self.config.reconnect_initial_seconds, self.config.reconnect_max_seconds)
        while True:
            remaining = deadline - loop.time()
            try:
                conn = await RespConnection.open(
                    self._address,
                    connect_seconds=max(0.05, min(self.config.connect_timeout_seconds, remaining)),
                    name=f"{self._client_name}-check",
                )
            except (RedisConnectionError, RedisReplyError) as exc:
                error = exc.reply if isinstance(exc, RedisReplyError) else str(exc)
                delay = backoff.next_delay()
                if loop.time() + delay >= deadline:
                    raise StartupError(
                        f"cannot reach redis at {shown_url(self.config.redis_url)} within {timeout:g} s: "
                        f"{error} (set bus.redisUrl or REDIS_URL; bus.startupTimeoutSeconds)"
                    ) from None
                log.warning("waiting for redis", url=shown_url(self.config.redis_url), error=error)
                await asyncio.sleep(delay)
                continue
            await conn.close()
            return

    async def publish(self, channel: Channel, envelope: AnyEnvelope) -> None:
        if channel.durable:
            durable_message_id(channel, envelope)
        await self._publisher.publish_many(channel, (envelope,))

    async def publish_many(self, channel: Channel, envelopes: Sequence[AnyEnvelope]) -> None:
        if channel.durable:
            for envelope in envelopes:
                durable_message_id(channel, envelope)
        await self._publisher.publish_many(channel, envelopes)

    async def flush(self) -> None:
        await self._publisher.flush()

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
        await self.start()
        listed, group, consumer = subscription_channels(channels, group, consumer)
        subscription = RedisSubscription(
            address=self._address,
            config=self.config,
            names=self._names,
            channels=listed,
            name=subscription_name(listed, group, consumer),
            group=group,
            consumer=consumer,
            acks=self._acks,
            client_name=f"{self._client_name}-sub",
            on_close=self._detach,
        )
        # Set before it starts: its first read is this consumer's pending entries.
        subscription.on_malformed = on_malformed
        self._subscriptions.append(subscription)
        await subscription.start()
        return subscription

    async def remove_group(self, group: str, channels: Iterable[Channel], *, recreate: bool = False) -> None:
        """Forgets consumer group ``group`` of these durable channels (``XGROUP DESTROY`` and its
        handled ids), for a reader that exists only while its process runs (run-all's console):
        a group nobody reads any more would keep the streams from being trimmed. ``recreate``:
        then creates it again at the end of each stream, so it reads only what comes next."""
        commands = []
        for channel in channels:
            key = self._names.key(channel)
            commands.append(pack(b"XGROUP", b"DESTROY", key, group))  # refused when no stream: fine
            commands.append(pack(b"DEL", self._names.handled(channel, group)))
            if recreate:
                commands.append(pack(b"XGROUP", b"CREATE", key, group, b"$", b"MKSTREAM"))
        conn = await RespConnection.open(
            self._address,
            connect_seconds=self.config.connect_timeout_seconds,
            name=f"{self._client_name}-admin",
        )
        try:
            replies = await conn.pipeline_within(commands, self.config.command_timeout_seconds)
        finally:
            await conn.close()
        if recreate:  # only a failed CREATE matters (DESTROY fails when there is nothing to remove)
            for reply in replies[2::3]:
                if (error := reply_error(reply)) is not None:
                    raise RedisReplyError("XGROUP CREATE", error)

    def journal(self, name: str) -> Journal:
        journal = self._journals.get(name)
        if journal is None:
            client = f"{self._client_name}-journal"
            journal = self._journals[name] = RedisJournal(self._address, self.config, name, client)
        return journal

    def metrics(self) -> BusMetrics:
        c = self._publisher.counters
        trimmer = self._publisher.trimmer
        return BusMetrics(
            backend=self.backend,
            connected=c.connected,
            published=c.published,
            written=c.written,
            publish_buffer_depth=self._publisher.depth,
            publish_buffer_capacity=self.config.publish_buffer_size,
            publish_dropped=c.dropped,
            publish_full_errors=c.full_errors,
            reconnects=c.reconnects,
            subscriptions=tuple(s.metrics() for s in self._subscriptions),
            streams_over_limit=trimmer.streams_over_limit,
            stream_limit_warnings=trimmer.stream_limit_warnings,
            lagging_groups=trimmer.lagging_groups,
            unconsumed_trimmed=trimmer.unconsumed_trimmed,
        )

    async def close(self, *, flush_seconds: float | None = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        await self._publisher.close(flush_seconds)
        for subscription in list(self._subscriptions):
            await subscription.close()
        await self._acks.close(flush_seconds)
        for journal in self._journals.values():
            await journal.close()

    def _detach(self, subscription: RedisSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
