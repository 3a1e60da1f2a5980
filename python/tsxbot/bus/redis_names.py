"""Where the Redis bus keeps things: every name under the configured namespace."""

from __future__ import annotations

from tsxbot.messages import Channel


class RedisNames:
    """``<ns>:<channel>`` is the stream of a durable channel and the pub/sub channel of an
    ephemeral one; ``<ns>:handled:<group>:<channel>`` the message ids a group has handled (a
    sorted set scored by time); ``<ns>:published:<channel>`` the message ids appended to a
    durable stream lately (``redis_append``); ``<ns>:dead-letter`` the malformed durable
    messages."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.dead_letter = f"{namespace}:dead-letter".encode()
        self._keys: dict[str, bytes] = {}

    def key(self, channel: Channel) -> bytes:
        key = self._keys.get(channel.name)
        if key is None:
            key = self._keys[channel.name] = f"{self.namespace}:{channel.name}".encode()
        return key

    def handled(self, channel: Channel, group: str) -> bytes:
        return f"{self.namespace}:handled:{group}:{channel.name}".encode()

    def published(self, stream: bytes) -> bytes:
        """The message ids appended to durable stream ``stream`` lately (see ``redis_append``)."""
        channel = stream.removeprefix(f"{self.namespace}:".encode())
        return b"%s:published:%s" % (self.namespace.encode(), channel)


# The one field of a stream entry: the encoded envelope.
DATA_FIELD = b"d"
# Present (``1``) on an entry whose message id was new to its stream when appended.
FIRST_FIELD = b"f"
# Present (``1``) on an entry appended in one transaction with entries of other streams: a reader
# woken by it reads the others at once (see ``redis_subscription``).
WITH_OTHERS_FIELD = b"m"
DEAD_LETTER_MAX_LEN = 10_000
