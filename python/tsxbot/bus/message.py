"""What a subscriber receives: the envelope, the channel it came on, and (on durable channels)
the acknowledgement that marks it handled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

from tsxbot.messages import AnyEnvelope, Channel


class Acker(Protocol):
    """Records that a durable message was handled (for its consumer group), so it is neither
    redelivered nor, by its message id, handed to that group again."""

    async def ack(self, message: Message) -> None: ...


class Message:
    """One received message. On a durable channel call ``await message.ack()`` once it is
    handled; until then it stays pending and comes back (``redelivered``) if the consumer stops
    or crashes. On an ephemeral channel ``ack`` does nothing."""

    __slots__ = ("_acker", "channel", "delivery_count", "envelope", "token")

    def __init__(
        self,
        channel: Channel,
        envelope: AnyEnvelope,
        acker: Acker | None = None,
        token: Any = None,
        delivery_count: int = 1,
    ) -> None:
        self.channel = channel
        self.envelope = envelope
        self._acker = acker
        self.token = token  # where the bus finds the message again (stream entry id, sequence)
        self.delivery_count = delivery_count

    @property
    def redelivered(self) -> bool:
        """True when an earlier delivery of this message was never acknowledged (the consumer
        crashed or stopped while handling it): a handler with side effects checks its own
        idempotency key (e.g. the order's custom tag) before acting again."""
        return self.delivery_count > 1

    @property
    def message_id(self) -> str:
        return self.envelope.message_id or ""

    async def ack(self) -> None:
        acker = self._acker
        if acker is not None:
            await acker.ack(self)
            self._acker = None  # a second ack is a no-op

    def __repr__(self) -> str:
        return (
            f"Message({self.channel.name!r}, {self.envelope.type.value}, id={self.message_id!r}, "
            f"delivery={self.delivery_count})"
        )


async def ack_all(messages: Iterable[Message]) -> None:
    """Acknowledges every message together (over Redis one pipeline, not a round trip each);
    returns once all are recorded, raising the first failure (the others still complete)."""
    pending = [message.ack() for message in messages]
    if pending:
        await asyncio.gather(*pending)
