"""The journal: one claimer per key, across buses (processes, over Redis); results survive what
the bus survives; an unreachable Redis is a typed error, never a claim by default."""

from __future__ import annotations

import asyncio

import pytest

from bus.conftest import MakeBus
from support.bus_helpers import bus_config
from support.redis_server import RedisServer
from tsxbot.bus import JournalUnavailableError, MemoryBus, RedisBus
from tsxbot.bus.journal import MemoryJournal
from tsxbot.bus.resp import RedisAddress, RespConnection, pack


async def test_the_first_claim_wins_and_later_ones_see_started_then_the_result(make_bus: MakeBus) -> None:
    bus = await make_bus()
    journal = bus.journal("commands")
    first = await journal.claim("cmd-1")
    assert first.new and first.result is None
    again = await journal.claim("cmd-1")
    assert (again.new, again.result) == (False, None)  # started, not finished
    await journal.finish("cmd-1", b'{"ok":true}')
    done = await journal.claim("cmd-1")
    assert (done.new, done.result) == (False, b'{"ok":true}')
    assert (await journal.claim("cmd-2")).new  # keys are independent
    assert bus.journal("commands") is journal
    other = await bus.journal("other").claim("cmd-1")
    assert other.new  # journals are independent


async def test_a_started_marker_or_an_empty_result_is_refused(make_bus: MakeBus) -> None:
    journal = (await make_bus()).journal("commands")
    await journal.claim("k")
    with pytest.raises(ValueError, match="not a journal result"):
        await journal.finish("k", b"")
    with pytest.raises(ValueError, match="not a journal result"):
        await journal.finish("k", b"started:abc")


async def test_over_redis_one_claimer_among_concurrent_processes(redis: RedisServer, namespace: str) -> None:
    config = bus_config("redis", redis.url, namespace)
    buses = [RedisBus(config, client_name=f"p{i}") for i in range(5)]
    try:
        claims = await asyncio.gather(*(b.journal("commands").claim("cmd-x") for b in buses))
        assert sorted(c.new for c in claims) == [False, False, False, False, True]
        winner = buses[[c.new for c in claims].index(True)]
        await winner.journal("commands").finish("cmd-x", b"result")
        # A new process (a restart) finds the result.
        later = RedisBus(config, client_name="later")
        buses.append(later)
        assert (await later.journal("commands").claim("cmd-x")).result == b"result"
        raw = await RespConnection.open(RedisAddress.parse(redis.url), connect_seconds=2)
        try:
            ttl = await raw.call("TTL", f"{namespace}:journal:commands:cmd-x")
            assert 0 < ttl <= config.dedupe_window_seconds  # kept for the dedupe window, not forever
        finally:
            await raw.close()
    finally:
        for bus in buses:
            await bus.close(flush_seconds=1)


async def test_over_redis_the_journal_survives_a_restart(
    persistent_redis: RedisServer, namespace: str
) -> None:
    bus = RedisBus(bus_config("redis", persistent_redis.url, namespace))
    try:
        journal = bus.journal("commands")
        assert (await journal.claim("a")).new
        assert (await journal.claim("b")).new
        await journal.finish("b", b"done")
        await asyncio.to_thread(persistent_redis.restart)
        after = await journal.claim("a")
        assert (after.new, after.result) == (False, None)
        assert (await journal.claim("b")).result == b"done"
    finally:
        await bus.close(flush_seconds=1)


async def test_over_redis_unreachable_is_a_typed_error_after_the_timeout(
    persistent_redis: RedisServer, namespace: str
) -> None:
    bus = RedisBus(bus_config("redis", persistent_redis.url, namespace, durable_publish_timeout_seconds=0.5))
    try:
        await asyncio.to_thread(persistent_redis.stop)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(JournalUnavailableError, match="unreachable"):
            await bus.journal("commands").claim("cmd-1")
        assert loop.time() - started < 3
        await asyncio.to_thread(persistent_redis.restart_stopped)
        assert (await bus.journal("commands").claim("cmd-1")).new  # nothing was claimed meanwhile
    finally:
        await bus.close(flush_seconds=1)


async def test_the_in_process_journal_is_bounded() -> None:
    assert isinstance(MemoryBus().journal("commands"), MemoryJournal)
    journal = MemoryJournal(kept=3)
    for key in "abcd":
        assert (await journal.claim(key)).new
    assert (await journal.claim("a")).new  # the oldest was forgotten
    assert not (await journal.claim("d")).new


async def test_a_record_is_updated_field_by_field_replaced_whole_and_survives_a_restart(
    make_bus: MakeBus,
) -> None:
    bus = await make_bus()
    journal = bus.journal("state")
    assert await journal.load_record("s") == {}
    await journal.update_record("s", {"core": b"1", "order:a": b"A", "order:b": b"B"}, [])
    await journal.update_record("s", {"core": b"2", "order:c": b"C"}, ["order:a", "order:zz"])
    assert await journal.load_record("s") == {"core": b"2", "order:b": b"B", "order:c": b"C"}
    await journal.update_record("s", {"core": b"3"}, [], replace=True)
    assert await journal.load_record("s") == {"core": b"3"}
    assert await bus.journal("other").load_record("s") == {}  # journals are independent
    await journal.update_record("s", {}, ["core"])
    assert await journal.load_record("s") == {}


async def test_over_redis_a_record_has_no_expiry_and_survives_a_restart(
    persistent_redis: RedisServer, namespace: str
) -> None:
    bus = RedisBus(bus_config("redis", persistent_redis.url, namespace, dedupe_window_seconds=1))
    try:
        journal = bus.journal("state")
        await journal.update_record("s", {"core": b"halted", "fill:1:2": b"1"}, [])
        await asyncio.to_thread(persistent_redis.restart)
        assert await journal.load_record("s") == {"core": b"halted", "fill:1:2": b"1"}
        raw = await RespConnection.open(RedisAddress("127.0.0.1", persistent_redis.port), connect_seconds=2)
        try:
            (ttl,) = await raw.pipeline([pack(b"TTL", f"{namespace}:record:state:s")])
        finally:
            await raw.close()
        assert ttl == -1  # (a claim here would expire after 1 s)
    finally:
        await bus.close(flush_seconds=1)
