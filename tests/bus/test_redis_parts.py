"""The small parts of the Redis bus: URLs, command encoding, backoff."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from support.bus_helpers import bus_config
from support.redis_server import RedisServer
from tsxbot.bus import RedisBus, RedisReplyError, resp
from tsxbot.bus.backoff import Backoff
from tsxbot.bus.resp import RedisAddress, RespConnection, pack
from tsxbot.messages import Envelope, Metrics, channels


def test_redis_urls() -> None:
    assert RedisAddress.parse("redis://10.0.0.5:6380/2") == RedisAddress(host="10.0.0.5", port=6380, db=2)
    assert RedisAddress.parse("rediss://u:p%40ss@h") == RedisAddress(
        host="h", username="u", password="p@ss", tls=True
    )
    assert RedisAddress.parse("unix:///run/redis.sock?db=3") == RedisAddress(path="/run/redis.sock", db=3)
    with pytest.raises(ValueError, match="not a redis URL"):
        RedisAddress.parse("http://x")


def test_commands_are_resp_arrays_of_bulk_strings() -> None:
    assert pack("SET", b"k", 12) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n"


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    low = Backoff(0.1, 1.0, rng=lambda: 0.0)
    high = Backoff(0.1, 1.0, rng=lambda: 1.0)
    assert [round(low.next_delay(), 3) for _ in range(6)] == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    assert [round(high.next_delay(), 3) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    low.reset()
    assert low.next_delay() == pytest.approx(0.05)


async def test_replies_and_typed_errors(redis: RedisServer) -> None:
    conn = await RespConnection.open(RedisAddress.parse(redis.url), connect_seconds=2)
    try:
        assert await conn.call("PING") == b"PONG"
        replies = await conn.pipeline([pack("SET", "tsxbot:test:k", "v"), pack("INCR", "tsxbot:test:k")])
        assert replies[0] == b"OK"
        with pytest.raises(RedisReplyError, match="not an integer"):
            await conn.call("INCR", "tsxbot:test:k")
    finally:
        await conn.close()


def record_writes(conn: RespConnection) -> list[bytes]:
    """What ``conn`` writes from now on, each write as it goes to the socket."""
    written: list[bytes] = []
    real_write = conn.write

    def write(data: bytes) -> None:
        written.append(data)
        real_write(data)

    conn.write = write  # type: ignore[method-assign]
    return written


async def test_a_pipeline_with_a_time_limit_is_written_before_it_first_waits(redis: RedisServer) -> None:
    """``pipeline_within`` writes in the calling task (``asyncio.wait_for`` would start a task
    of its own: written a turn of the event loop later, so that a publisher woken by a fill
    wrote it only once the handler had finished its whole batch)."""
    conn = await RespConnection.open(RedisAddress.parse(redis.url), connect_seconds=2)
    written = record_writes(conn)
    try:
        call = asyncio.ensure_future(conn.pipeline_within([pack("PING")], 2.0))
        await asyncio.sleep(0)  # one turn: the call's task has started, and written
        assert written == [pack("PING")]
        assert await call == [b"PONG"]
        with pytest.raises(TimeoutError):  # BLPOP on an empty list outlasts the limit
            await conn.pipeline_within([pack("BLPOP", "tsxbot:test:empty", 5)], 0.05)
    finally:
        await conn.close()


async def test_a_durable_publish_is_written_to_redis_in_the_turn_the_writer_wakes(redis: RedisServer) -> None:
    bus = RedisBus(bus_config("redis", redis.url, f"t{uuid.uuid4().hex[:12]}"))
    await bus.start()
    try:
        await bus.publish(channels.CM_FILLS, Envelope.wrap(Metrics(component="t", values={}), "t"))
        await bus.flush()
        conn = bus._publisher._conn
        assert conn is not None
        written = record_writes(conn)
        await bus.publish(channels.CM_FILLS, Envelope.wrap(Metrics(component="t", values={}), "t"))
        await asyncio.sleep(0)  # the handler yields once (the aggregator after a fill)
        assert len(written) == 1 and b":connection-manager:fills" in written[0]
        await bus.flush()
    finally:
        await bus.close()


async def test_redis_gets_the_cpu_once_a_pipeline_is_in_the_kernel(
    redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tsxbot.handoff``: each urgent pipeline (the default) hands the CPU over once, right
    after its bytes went to the socket (written, nothing left in the transport's buffer), before
    its replies are read; one marked not urgent does not."""
    conn = await RespConnection.open(RedisAddress.parse(redis.url), connect_seconds=2)
    written = record_writes(conn)
    reads: list[None] = []  # one per socket read
    real_fill = conn._fill

    async def fill() -> None:
        await real_fill()
        reads.append(None)

    conn._fill = fill  # type: ignore[method-assign]
    # At each hand-over: (writes so far, bytes still buffered, socket reads so far).
    seen: list[tuple[int, int, int]] = []
    real_hand_over = resp.hand_over

    def hand_over() -> None:
        seen.append((len(written), conn._writer.transport.get_write_buffer_size(), len(reads)))
        real_hand_over()

    monkeypatch.setattr(resp, "hand_over", hand_over)
    try:
        assert await conn.pipeline([pack("SET", "tsxbot:test:h", "v"), pack("GET", "tsxbot:test:h")]) == [
            b"OK",
            b"v",
        ]
        reads_for_the_first = len(reads)
        assert await conn.call("PING") == b"PONG"
        assert reads_for_the_first >= 1
        assert seen == [(1, 0, 0), (2, 0, reads_for_the_first)]
        # A write nobody waits on now (a blocking read re-armed, acknowledgements): no hand-over.
        assert await conn.pipeline([pack("PING")], urgent=False) == [b"PONG"]
        assert len(seen) == 2
    finally:
        await conn.close()
