"""Durable messages are never dropped at shutdown: what Redis had not confirmed is kept in a local
spill file and sent first at the next start, once each; a Redis that cannot be reached at start
is a start-up error naming its URL."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from support.bus_helpers import bus_config, eventually, nothing_more, order, payload_ids, receive
from support.redis_server import RedisServer, free_port
from tsxbot.bus import RedisBus
from tsxbot.messages import channels
from tsxbot.runtime import StartupError

ORDERS = channels.AGGREGATOR_ORDERS


async def _consume_once(bus: RedisBus, count: int) -> list[str]:
    """Receives ``count`` durable messages as the aggregator's group, acknowledges them, and
    checks nothing else arrives."""
    sub = await bus.subscribe(ORDERS, group="aggregator")
    try:
        got = await receive(sub, count, within=10)
        for message in got:
            await message.ack()
        assert await nothing_more(sub, within=0.5) == []
        return payload_ids(got)
    finally:
        await sub.close()


async def test_unconfirmed_durable_messages_are_spilled_and_sent_once_at_the_next_start(
    persistent_redis: RedisServer, namespace: str, tmp_path: Path
) -> None:
    config = bus_config("redis", persistent_redis.url, namespace, spill_dir=str(tmp_path / "spill"))
    spill_dir = tmp_path / "spill" / namespace
    first = RedisBus(config)
    await first.start()
    assert await _consume_once(first, 0) == []  # the group exists: it reads from its start on
    await asyncio.to_thread(persistent_redis.stop)
    sent = [order(i) for i in range(2)]
    for envelope in sent:
        await first.publish(ORDERS, envelope)
    await first.close(flush_seconds=0.3)

    (spill,) = list(spill_dir.glob("*.jsonl"))
    lines = [json.loads(line) for line in spill.read_text().splitlines()]
    assert [line["stream"] for line in lines] == [f"{namespace}:{ORDERS.name}"] * 2
    assert [line["messageId"] for line in lines] == [e.message_id for e in sent]
    assert [line["envelope"]["payload"]["orderId"] for line in lines] == ["bot_1-0", "bot_1-1"]
    kept = tmp_path / "kept.jsonl"
    shutil.copy(spill, kept)

    await asyncio.to_thread(persistent_redis.restart_stopped)
    second = RedisBus(config)
    await second.start()
    try:
        await eventually(lambda: not spill.exists(), within=10, what="the spill file removed once confirmed")
        assert list(spill_dir.iterdir()) == []
        assert await _consume_once(second, 2) == ["bot_1-0", "bot_1-1"]
    finally:
        await second.close()

    # A copy Redis had taken already (a crash after the re-send, before the file went) is sent
    # again and skipped by the consumers: once each.
    shutil.copy(kept, spill)
    third = RedisBus(config)
    await third.start()
    try:
        await eventually(lambda: not spill.exists(), within=10, what="the spill file removed again")
        assert await _consume_once(third, 0) == []
    finally:
        await third.close()


async def test_a_corrupt_spill_line_is_kept_aside_and_the_rest_is_sent(
    redis: RedisServer, namespace: str, tmp_path: Path
) -> None:
    config = bus_config("redis", "redis://127.0.0.1:1/0", namespace, spill_dir=str(tmp_path / "spill"))
    spill_dir = tmp_path / "spill" / namespace
    # Spill one message the honest way: a bus that never reached Redis.
    unreachable = RedisBus(config)  # never started (it would refuse to: Redis is not there)
    await unreachable.publish(ORDERS, order(7))
    await unreachable.close(flush_seconds=0.1)
    (spill,) = list(spill_dir.glob("*.jsonl"))
    good = spill.read_text()
    spill.write_text('{"stream": "x", "messageId": "m", "envelope": {"type": "NOPE"}}\nnot json\n' + good)

    reachable = RedisBus(bus_config("redis", redis.url, namespace, spill_dir=str(tmp_path / "spill")))
    await reachable.start()
    try:
        await eventually(lambda: not spill.exists(), within=10, what="the spill file removed")
        assert await _consume_once(reachable, 1) == ["bot_1-7"]
    finally:
        await reachable.close()
    aside = list(spill_dir.glob("corrupt-*.jsonl"))
    assert len(aside) == 1
    assert aside[0].read_text().splitlines() == [
        '{"stream": "x", "messageId": "m", "envelope": {"type": "NOPE"}}',
        "not json",
    ]


async def test_an_unreachable_redis_at_start_is_a_startup_error_naming_the_url(
    namespace: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"redis://user:secret@127.0.0.1:{port}/0"
    bus = RedisBus(bus_config("redis", url, namespace, startup_timeout_seconds=0.5))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StartupError) as info:
        await bus.start()
    assert loop.time() - started < 3
    message = str(info.value)
    assert message.startswith(f"cannot reach redis at redis://user:****@127.0.0.1:{port}/0 within 0.5 s: ")
    assert "(set bus.redisUrl or REDIS_URL; bus.startupTimeoutSeconds)" in message
    assert "secret" not in message
    await bus.close()


async def test_two_publishers_sharing_a_spill_directory_keep_both_their_messages(
    redis: RedisServer, namespace: str, tmp_path: Path
) -> None:
    """Two processes started from one directory, both closing while Redis is away: neither
    overwrites what the other kept."""
    config = bus_config("redis", "redis://127.0.0.1:1/0", namespace, spill_dir=str(tmp_path / "spill"))
    for i in (1, 2):
        publisher = RedisBus(config)
        await publisher.publish(ORDERS, order(i))
        await publisher.close(flush_seconds=0.1)
    assert len(list((tmp_path / "spill" / namespace).glob("*.jsonl"))) == 2
    reachable = RedisBus(bus_config("redis", redis.url, namespace, spill_dir=str(tmp_path / "spill")))
    await reachable.start()
    try:
        assert await _consume_once(reachable, 2) == ["bot_1-1", "bot_1-2"]
        await eventually(
            lambda: not list((tmp_path / "spill" / namespace).glob("*.jsonl")), what="spill files removed"
        )
    finally:
        await reachable.close()
