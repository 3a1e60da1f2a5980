"""Trimming the durable streams: an entry leaves a stream only once every consumer group of it
has had it delivered and acknowledged, so a group that falls behind never silently loses one.

Messages are appended with a plain ``XADD`` (no ``MAXLEN``). Every ``streamTrimIntervalSeconds``
the publisher's writer trims each durable stream it has written to (see ``StreamTrimmer.trim``):

- For each group (``XINFO GROUPS``): its bound is the oldest entry it still has pending
  (``XPENDING`` summary, asked afterwards) or, with none pending, its last-delivered-id; then
  ``XTRIM key MINID <smallest bound>`` removes the entries older than every group's bound. Those
  were delivered to every group (by id order they are at or before its last-delivered-id, read
  before the pending list) and none is pending: nothing a group still needs. Trimming is exact
  (not ``~``): what is left is what the slowest group has not acknowledged, so ``XLEN`` measures
  how far behind it is. The cost stays small: whole stream nodes are freed, only the boundary
  node is edited, and it runs every few seconds, not per message.
- A stream longer than ``streamMaxLen`` after trimming means a group is that far behind and the
  stream is growing: logged as an error (when it crosses, then every minute while it lasts, with
  the lagging group, its pending count and lag) and reported in the bus metrics
  (``streamsOverLimit``, ``streamLimitWarnings``, ``laggingGroup.<channel>.<group>``). A group
  nobody reads any more (a renamed service) keeps the stream growing: remove it with
  ``XGROUP DESTROY``.
- A stream with no group at all keeps its newest ``streamMaxLen`` entries (``XTRIM MAXLEN``),
  as on the in-process bus. Nothing tells whether anyone will ever read it (a channel no service
  of this deployment consumes must not grow until Redis runs out of memory), and a group created
  later (at 0) still gets the newest ``streamMaxLen``, far above the flow between a first
  publish and the consumers' start. Entries trimmed so are counted (``unconsumedTrimmed``) and
  logged once per stream. A group created at the very moment a stream without any is trimmed
  may miss entries beyond that limit (as with ``XADD MAXLEN`` before).

Several publishers of one stream each trim it: the rule gives the same answer whoever applies it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tsxbot.bus.resp import RespConnection, pack, reply_error
from tsxbot.config.global_config import BusConfig
from tsxbot.log import get_logger

log = get_logger("tsxbot.bus.redis")

# While a stream stays over the limit, the error is repeated this often.
_REPEAT_WARNING_SECONDS = 60.0

StreamId = tuple[int, int]


def parse_id(raw: bytes) -> StreamId:
    ms, _, seq = raw.partition(b"-")
    return int(ms), int(seq or 0)


def _fields(flat: list[Any]) -> dict[bytes, Any]:
    return {flat[i]: flat[i + 1] for i in range(0, len(flat) - 1, 2)}


class _Group:
    __slots__ = ("bound", "lag", "last_delivered", "name", "pending")

    def __init__(self, info: dict[bytes, Any]) -> None:
        self.name: bytes = info[b"name"]
        self.pending: int = int(info[b"pending"])
        self.last_delivered = parse_id(info[b"last-delivered-id"])
        self.lag: int | None = info.get(b"lag")  # Redis >= 7: entries not delivered yet
        self.bound = self.last_delivered


class StreamTrimmer:
    def __init__(self, config: BusConfig) -> None:
        self._config = config
        self._streams: dict[bytes, str] = {}  # stream key -> channel name
        self._over: dict[bytes, float] = {}  # streams over the limit -> when last logged
        self._lagging: dict[bytes, tuple[str, ...]] = {}
        self._unconsumed_logged: set[bytes] = set()
        self.stream_limit_warnings = 0  # times a stream went over ``streamMaxLen``
        self.unconsumed_trimmed = 0  # entries trimmed from streams without any group

    def add(self, key: bytes, channel_name: str) -> None:
        self._streams[key] = channel_name

    @property
    def streams(self) -> int:
        return len(self._streams)

    @property
    def streams_over_limit(self) -> int:
        return len(self._over)

    @property
    def lagging_groups(self) -> tuple[str, ...]:
        """``<channel>/<group>`` of each group holding back a stream over the limit."""
        return tuple(sorted(name for names in self._lagging.values() for name in names))

    async def trim(self, conn: RespConnection) -> None:
        """One pass over every stream (three pipelined round trips at most). Connection failures
        and timeouts propagate (the writer reconnects); an error reply skips that stream."""
        timeout = self._config.command_timeout_seconds
        keys = list(self._streams)
        infos = await conn.pipeline_within([pack(b"XINFO", b"GROUPS", k) for k in keys], timeout)
        groups: dict[bytes, list[_Group]] = {}
        for key, info in zip(keys, infos, strict=True):
            if (error := reply_error(info)) is not None:
                if "no such key" not in error:  # not written yet, or deleted: nothing to trim
                    log.warning("redis stream trim skipped", stream=key.decode(), error=error)
                continue
            groups[key] = [_Group(_fields(g)) for g in info]
        # Asked after XINFO: an entry not pending now and delivered then is acknowledged for good.
        asked = [(key, g) for key, gs in groups.items() for g in gs if g.pending]
        if asked:
            replies = await conn.pipeline_within(
                [pack(b"XPENDING", key, g.name) for key, g in asked], timeout
            )
            for (key, g), reply in zip(asked, replies, strict=True):
                if (error := reply_error(reply)) is not None:  # NOGROUP: destroyed meanwhile
                    log.warning("redis stream trim skipped", stream=key.decode(), error=error)
                    groups.pop(key, None)
                elif reply[0]:
                    g.bound = min(g.bound, parse_id(reply[1]))
        commands: list[bytes] = []
        for key, gs in groups.items():
            if gs:
                ms, seq = min(g.bound for g in gs)
                commands.append(pack(b"XTRIM", key, b"MINID", f"{ms}-{seq}"))
            else:
                commands.append(pack(b"XTRIM", key, b"MAXLEN", self._config.stream_max_len))
            commands.append(pack(b"XLEN", key))
        if not commands:
            return
        replies = await conn.pipeline_within(commands, timeout)
        for index, (key, gs) in enumerate(groups.items()):
            trimmed, length = replies[2 * index], replies[2 * index + 1]
            if (error := reply_error(trimmed) or reply_error(length)) is not None:
                log.warning("redis stream trim failed", stream=key.decode(), error=error)
                continue
            if gs:
                self._check_length(key, gs, length)
            else:
                self._clear(key)
                if trimmed:
                    self._trimmed_without_group(key, trimmed)

    def _check_length(self, key: bytes, groups: list[_Group], length: int) -> None:
        limit = self._config.stream_max_len
        if length <= limit:
            if key in self._over:
                log.info(
                    "durable stream back under its limit",
                    stream=self._streams[key],
                    length=length,
                    stream_max_len=limit,
                )
            self._clear(key)
            return
        bound = min(g.bound for g in groups)
        holding = [g for g in groups if g.bound == bound]
        channel = self._streams[key]
        self._lagging[key] = tuple(f"{channel}/{g.name.decode()}" for g in holding)
        now = asyncio.get_running_loop().time()
        last = self._over.get(key)
        if last is None:
            self.stream_limit_warnings += 1
        if last is None or now - last >= _REPEAT_WARNING_SECONDS:
            self._over[key] = now
            log.error(
                "a consumer group is far behind: its durable stream grows beyond streamMaxLen "
                "(nothing is dropped; the group must catch up, or be destroyed if nobody reads it)",
                stream=channel,
                length=length,
                stream_max_len=limit,
                groups=[
                    {"group": g.name.decode(), "pending": g.pending, "undelivered": g.lag} for g in holding
                ],
            )

    def _clear(self, key: bytes) -> None:
        self._over.pop(key, None)
        self._lagging.pop(key, None)

    def _trimmed_without_group(self, key: bytes, trimmed: int) -> None:
        self.unconsumed_trimmed += trimmed
        if key not in self._unconsumed_logged:
            self._unconsumed_logged.add(key)
            log.warning(
                "durable stream without any consumer group trimmed to its newest streamMaxLen "
                "(a group created later reads only those)",
                stream=self._streams[key],
                trimmed=trimmed,
                stream_max_len=self._config.stream_max_len,
            )
