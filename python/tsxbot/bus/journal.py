"""A journal: a small record per key, kept where the bus keeps its durable messages (in the
process for the in-process bus, in Redis for the Redis bus), so it survives what they survive.

The connection manager journals each order command: ``claim`` before it touches the exchange,
``finish`` with the result after. A copy of the command handled later (a redelivery after a
crash, a second manager) then finds the result, or finds the command started and never finished:
its outcome is unknown, and a command that is not safe to repeat (a partial close) is not run
again.

    claim = await journal.claim(command_id)
    if claim.new: ...run it...; await journal.finish(command_id, encoded_result)
    elif claim.result is not None: ...the earlier result...
    else: ...started earlier, never finished...

A record (``load_record`` / ``update_record``) is a service's own state as named fields (a Redis
hash): an update sets and removes fields in one atomic step, so a service saves only what changed
since its last save. Records never expire: they stay until the service supersedes them.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass

from tsxbot.bus.backoff import Backoff
from tsxbot.bus.errors import BusError, RedisConnectionError, RedisReplyError
from tsxbot.bus.resp import RedisAddress, RespConnection, pack, reply_error
from tsxbot.config.global_config import BusConfig
from tsxbot.log import get_logger

log = get_logger("tsxbot.bus.redis")

# What a claimed, unfinished entry holds: this prefix and the claimer's token (so a claim retried
# after a lost reply recognises its own). A finished entry holds its result instead.
_STARTED = b"started:"
_MULTI = pack(b"MULTI")
_EXEC = pack(b"EXEC")


class JournalUnavailableError(BusError):
    """The journal could not be reached in time: the caller must not act as if it had claimed."""


@dataclass(frozen=True)
class Claim:
    new: bool  # this caller claimed the key first: go ahead
    result: bytes | None = None  # an earlier claimer's finished result (None: never finished)


class Journal(ABC):
    @abstractmethod
    async def claim(self, key: str) -> Claim: ...

    @abstractmethod
    async def finish(self, key: str, result: bytes) -> None:
        """Records the result of a claimed key (``result`` must not be empty)."""

    @abstractmethod
    async def load_record(self, key: str) -> dict[str, bytes]:
        """The fields of a record (empty when there is none)."""

    @abstractmethod
    async def update_record(
        self, key: str, changed: dict[str, bytes], removed: list[str], *, replace: bool = False
    ) -> None:
        """Sets ``changed`` and removes ``removed`` in one atomic step; ``replace``: every other
        field goes too (the record becomes exactly ``changed``)."""

    @abstractmethod
    async def close(self) -> None:
        """Releases connections; the records stay (for as long as the bus keeps them)."""


class MemoryJournal(Journal):
    """In the process: it lives and dies with the in-process bus. Bounded by count."""

    def __init__(self, kept: int = 100_000) -> None:
        self._kept = kept
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._records: dict[str, dict[str, bytes]] = {}

    async def claim(self, key: str) -> Claim:
        value = self._entries.get(key)
        if value is None:
            self._entries[key] = _STARTED
            while len(self._entries) > self._kept:
                self._entries.popitem(last=False)
            return Claim(new=True)
        return Claim(new=False, result=_finished(value))

    async def finish(self, key: str, result: bytes) -> None:
        _check_result(result)
        self._entries[key] = result

    async def load_record(self, key: str) -> dict[str, bytes]:
        return dict(self._records.get(key, {}))

    async def update_record(
        self, key: str, changed: dict[str, bytes], removed: list[str], *, replace: bool = False
    ) -> None:
        record = self._records.setdefault(key, {})
        if replace:
            record.clear()
        for name in removed:
            record.pop(name, None)
        record.update(changed)

    async def close(self) -> None:
        """Nothing to release: the records live as long as the process."""


class RedisJournal(Journal):
    """``<ns>:journal:<name>:<key>`` strings, kept for the bus's ``dedupeWindowSeconds``; records
    are ``<ns>:record:<name>:<key>`` hashes without an expiry.
    ``claim`` is one ``SET NX`` with a token (atomic across processes); a lost connection is retried with
    backoff for at most ``durablePublishTimeoutSeconds``, then ``JournalUnavailableError``."""

    def __init__(self, address: RedisAddress, config: BusConfig, name: str, client_name: str) -> None:
        self._address = address
        self._config = config
        self._prefix = f"{config.namespace}:journal:{name}:"
        self._record_prefix = f"{config.namespace}:record:{name}:"
        self._client_name = client_name
        self._conn: RespConnection | None = None
        self._lock = asyncio.Lock()

    async def claim(self, key: str) -> Claim:
        redis_key = self._prefix + key
        ttl = self._config.dedupe_window_seconds
        mine = _STARTED + uuid.uuid4().hex.encode()
        _, value = await self._call(
            [pack(b"SET", redis_key, mine, b"NX", b"EX", ttl), pack(b"GET", redis_key)]
        )
        if value == mine:  # ours (also when a first attempt's reply was lost and this is the retry)
            return Claim(new=True)
        return Claim(new=False, result=_finished(value or b""))

    async def finish(self, key: str, result: bytes) -> None:
        _check_result(result)
        ttl = self._config.dedupe_window_seconds
        await self._call([pack(b"SET", self._prefix + key, result, b"EX", ttl)])

    async def load_record(self, key: str) -> dict[str, bytes]:
        (reply,) = await self._call([pack(b"HGETALL", self._record_prefix + key)])
        values = list(reply or [])
        return {
            bytes(name).decode(): bytes(value) for name, value in zip(values[::2], values[1::2], strict=True)
        }

    async def update_record(
        self, key: str, changed: dict[str, bytes], removed: list[str], *, replace: bool = False
    ) -> None:
        redis_key = self._record_prefix + key
        commands = [_MULTI]
        if replace:
            commands.append(pack(b"DEL", redis_key))
        if removed and not replace:
            commands.append(pack(b"HDEL", redis_key, *removed))
        if changed:
            commands.append(pack(b"HSET", redis_key, *(part for item in changed.items() for part in item)))
        commands.append(_EXEC)
        replies = await self._call(commands)
        for reply in replies[-1] or []:
            if (error := reply_error(reply)) is not None:
                raise RedisReplyError("journal record", error)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _call(self, commands: list[bytes]) -> list[bytes | None]:
        config = self._config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + config.durable_publish_timeout_seconds
        backoff = Backoff(config.reconnect_initial_seconds, config.reconnect_max_seconds)
        async with self._lock:  # one connection, one pipeline at a time
            while True:
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await RespConnection.open(
                            self._address,
                            connect_seconds=config.connect_timeout_seconds,
                            name=self._client_name,
                        )
                    replies = await self._conn.pipeline_within(commands, config.command_timeout_seconds)
                    for reply in replies:
                        if (error := reply_error(reply)) is not None:
                            raise RedisReplyError("journal", error)
                    return replies
                except asyncio.CancelledError:
                    # Replies may still be on their way: this connection is out of step now.
                    if self._conn is not None:
                        await self._conn.close()
                        self._conn = None
                    raise
                except (RedisConnectionError, RedisReplyError, TimeoutError) as exc:
                    if self._conn is not None:
                        await self._conn.close()
                        self._conn = None
                    delay = backoff.next_delay()
                    if loop.time() + delay > deadline:
                        raise JournalUnavailableError(
                            f"journal {self._prefix!r} unreachable for "
                            f"{config.durable_publish_timeout_seconds:g} s: {exc or type(exc).__name__}"
                        ) from None
                    log.warning(
                        "redis journal call failed, retrying",
                        journal=self._prefix,
                        error=str(exc) or type(exc).__name__,
                        retry_in_s=round(delay, 3),
                    )
                    await asyncio.sleep(delay)


def _finished(value: bytes) -> bytes | None:
    return None if not value or value.startswith(_STARTED) else value


def _check_result(result: bytes) -> None:
    if not result or result.startswith(_STARTED):
        raise ValueError(f"not a journal result: {result[:20]!r} (empty, or the started marker)")
