"""The small parts of the Redis bus: URLs, command encoding, backoff."""

from __future__ import annotations

import pytest

from support.redis_server import RedisServer
from tsxbot.bus import RedisReplyError
from tsxbot.bus.backoff import Backoff
from tsxbot.bus.resp import RedisAddress, RespConnection, pack


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
