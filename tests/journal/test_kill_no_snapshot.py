"""``tsxbot aggregator`` as its own process, killed with SIGKILL with a position open, and its
state snapshot then lost (deleted from Redis): the restarted process takes the day back from its
journal alone. Its day's P&L (less the open position's), the trailing drawdown floor and the
bot's position are what they were before the crash, at once; the bus's replay adds no journal
row twice and loses none; and the journal's realized P&L net of fees equals the simulator
account's balance change to the cent.

The process, the bot's orders and the reads of the journal are those of
``tests/aggregator/test_journal_process.py`` (the same crash with the snapshot kept)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from aggregator.test_journal_process import balance, journal_day, status
from support.agg_harness import AggHarness
from support.agg_process import AggProcess, enter
from support.bus_helpers import eventually
from support.cm_harness import Harness
from support.processes import stop
from support.redis_server import RedisServer
from support.sim import SimHandle
from tsxbot.messages import Fill, PositionUpdate, Side


def delete_snapshot(redis: RedisServer, namespace: str) -> int:
    """Deletes the aggregator's saved state (``<ns>:record:aggregator:state``); how many keys went."""
    key = f"{namespace}:record:aggregator:state".encode()
    command = b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key)
    with socket.create_connection((redis.host, redis.port), timeout=5) as connection:
        connection.sendall(command)
        reply = connection.recv(64)
    assert reply.startswith(b":"), reply
    return int(reply[1:].strip())


async def risk_view(api_port: int) -> dict[str, float] | None:
    try:
        body = await status(api_port)
    except httpx.HTTPError:
        return None
    pnl, floor = body["pnl"], body["limits"]["trailingDrawdown"]["floor"]
    return {"day_less_open": round(pnl["daily"] - pnl["open"], 2), "floor": floor}


@pytest.mark.slow
async def test_kill_9_and_the_snapshot_lost_the_day_comes_back_from_the_journal(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    namespace = f"k{uuid.uuid4().hex[:10]}"
    h = AggHarness(Harness(sim, "redis", redis.url, namespace))
    first: subprocess.Popen[str] | None = None
    second: subprocess.Popen[str] | None = None
    journal = tmp_path / "tsxbot-journal.db"
    try:
        await h.cm.start_manager()
        await h._listen("bot_2")
        start_balance = await balance(sim)
        process = AggProcess(tmp_path, redis.url, h)
        api_port = process.api_port
        first = process.start()
        await enter(h, first)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        await h.submit("bot_2", order_id="x1", side=Side.SELL)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
        await h.submit("bot_2", order_id="second", stop_loss_ticks=16, take_profit_ticks=48)
        await eventually(
            lambda: h.of("bot_2", PositionUpdate)[-1].net_quantity == 1, within=15, what="the second entry"
        )
        await eventually(lambda: len(h.of("bot_2", Fill)) == 3, within=15, what="three fills")

        async def fills_balance_seen() -> dict[str, float]:
            # The balance after the third fill has reached the process (its day is the journal's).
            for _ in range(100):
                view = await risk_view(api_port)
                if view is not None and (await status(api_port))["pnl"]["balance"] == await balance(sim):
                    return view
                await asyncio.sleep(0.1)
            raise AssertionError("the aggregator never saw the balance after the third fill")

        before = await fills_balance_seen()
        first.kill()  # SIGKILL, a position open
        first.wait(10)
        assert delete_snapshot(redis, h.cm.namespace) == 1
        keys, trades, _ = journal_day(journal)
        assert (len(keys), trades) == (3, 1)

        second = process.start()
        after = None
        for _ in range(150):
            assert second.poll() is None, second.stdout.read() if second.stdout else ""
            after = await risk_view(api_port)
            if after is not None:
                break
            await asyncio.sleep(0.2)
        # At once, before any new balance: the day less the open position's, and the floor.
        assert after == before
        body = await status(api_port)
        assert body["counters"]["fills"] == 0  # nothing replayed was applied again
        # bot_2 is still long 1 (from the journal): its exit is an exit, and flattens it.
        await h.submit("bot_2", order_id="x2", side=Side.SELL)
        await eventually(
            lambda: len({f.fill_id for f in h.of("bot_2", Fill)}) == 4, within=15, what="4 fills"
        )
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0, within=15)
        end_balance = await balance(sim)
        code, output = stop(second, signal.SIGTERM)
        assert code == 0, output
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        await h.close()

    keys, trades, net = journal_day(journal)
    assert keys == {str(f.fill_id) for f in h.of("bot_2", Fill)}  # each fill once, none lost
    assert trades == 2
    assert net == pytest.approx(round(end_balance - start_balance, 2), abs=0.001)
