"""``tsxbot aggregator`` as its own process, killed with SIGKILL with a position open, and its
state snapshot then lost (deleted from Redis): the restarted process takes the day back from its
journal alone. Its day's P&L (less the open position's), the trailing drawdown floor and the
bot's position are what they were before the crash, at once; the bus's replay adds no journal
row twice and loses none; and the journal's realized P&L net of fees equals the simulator
account's balance change to the cent.

The process, the bot's orders and the reads of the journal are those of
``tests/aggregator/test_journal_process.py`` (the same crash with the snapshot kept):
``support.agg_process``."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from support.agg_process import (
    api,
    assert_journal_is_the_day,
    journal_day,
    long_position,
    out_and_in_again,
    out_and_stop,
    sim_balance,
)
from support.redis_server import RedisServer
from support.sim import SimHandle


def delete_snapshot(redis: RedisServer, namespace: str) -> int:
    """Deletes the aggregator's saved state (``<ns>:record:aggregator:state``); how many keys went."""
    key = f"{namespace}:record:aggregator:state".encode()
    command = b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key)
    with socket.create_connection((redis.host, redis.port), timeout=5) as connection:
        connection.sendall(command)
        reply = connection.recv(64)
    assert reply.startswith(b":"), reply
    return int(reply[1:].strip())


def risk_view(status: dict[str, Any]) -> dict[str, float]:
    pnl, floor = status["pnl"], status["limits"]["trailingDrawdown"]["floor"]
    return {"day_less_open": round(pnl["daily"] - pnl["open"], 2), "floor": floor}


@pytest.mark.slow
async def test_kill_9_and_the_snapshot_lost_the_day_comes_back_from_the_journal(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    async with long_position(tmp_path, redis, sim) as crash:
        h = crash.h
        await out_and_in_again(h)

        async def fills_balance_seen() -> dict[str, float]:
            # The balance after the third fill has reached the process (its day is the journal's).
            for _ in range(100):
                status = await api(crash.process, "/status")
                if status["pnl"]["balance"] == await sim_balance(sim):
                    return risk_view(status)
                await asyncio.sleep(0.1)
            raise AssertionError("the aggregator never saw the balance after the third fill")

        before = await fills_balance_seen()
        crash.kill()  # SIGKILL, a position open
        assert delete_snapshot(redis, h.cm.namespace) == 1
        keys, trades, _ = journal_day(tmp_path / "tsxbot-journal.db")
        assert (len(keys), trades) == (3, 1)

        crash.restart()
        # At once, before any new balance: the day less the open position's, and the floor.
        after = risk_view(await crash.status_until(lambda _s: True))
        assert after == before
        assert (await api(crash.process, "/status"))["counters"][
            "fills"
        ] == 0  # nothing replayed applied again
        # bot_2 is still long 1 (from the journal): its exit is an exit, and flattens it.
        end_balance = await out_and_stop(crash)
    assert_journal_is_the_day(crash, end_balance)
