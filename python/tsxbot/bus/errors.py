"""The bus's typed errors. A caller never has to guess whether a message went out."""

from __future__ import annotations


class BusError(Exception):
    """Base of every bus error."""


class BusClosedError(BusError):
    """The bus (or the subscription) is closed: nothing more can be published or received."""


class BusFullError(BusError):
    """A durable message could not be queued: the bounded buffer stayed full for the whole
    publish timeout (Redis down for that long, or a consumer group that far behind). The message
    was NOT published; the caller decides (retry, halt trading, alert). From ``publish_many``:
    the ``published`` messages of the batch before it were published, it and those after not."""

    def __init__(self, channel: str, buffered: int, timeout_s: float, *, published: int = 0) -> None:
        self.channel = channel
        self.buffered = buffered
        self.timeout_s = timeout_s
        self.published = published
        super().__init__(
            f"durable message on {channel!r} not published: buffer full ({buffered} messages) "
            f"for {timeout_s:g} s"
        )


class BusUsageError(BusError, ValueError):
    """The bus was called wrongly (a durable subscription without a group, a durable message
    without a message id...)."""


class RedisConnectionError(BusError):
    """The Redis connection failed or was lost; the bus reconnects on its own."""


class RedisReplyError(BusError):
    """Redis answered a command with an error (``-ERR ...``)."""

    def __init__(self, command: str, reply: str) -> None:
        self.command = command
        self.reply = reply
        super().__init__(f"redis {command}: {reply}")
