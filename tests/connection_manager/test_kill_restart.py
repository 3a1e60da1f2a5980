"""The done-when test: a connection manager killed (SIGKILL, a real process) twice in the middle of
a stream of orders over Redis, with the exchange's clock days away from the host's, loses no
order, doubles none, and publishes every fill exactly once (checked against the simulator's own
order and trade search)."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from support.bus_helpers import bus_config, eventually
from support.processes import clean_env, tsxbot_cmd, wait_http
from support.redis_server import RedisServer, free_port
from support.sim import COMBINE, START
from tsxbot.bus import create_bus
from tsxbot.messages import CommandResult, Envelope, Fill, PlaceOrder, Side, channels

KEY = "kill-test-key"
ORDERS = 30


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process started in the block is killed when it ends, whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def launch(started: list[subprocess.Popen[bytes]], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # a file, not a pipe: a chatty process never blocks on its output
        process = subprocess.Popen(
            [*tsxbot_cmd(), *args], cwd=log.parent, env=clean_env(TSXBOT_API_KEY=KEY), stdout=out, stderr=out
        )
    started.append(process)
    return process


def command(i: int) -> PlaceOrder:
    return PlaceOrder(
        command_id=f"kill-cmd-{i}",
        order_id=f"kill-ord-{i}",
        bot_id="bot_2",
        custom_tag=f"bot_2-kill-{i}",
        symbol="MES",
        side=Side.BUY if i % 2 == 0 else Side.SELL,  # never more than one contract held
        quantity=1,
    )


@pytest.mark.slow
async def test_a_manager_killed_twice_mid_stream_loses_nothing_doubles_nothing(
    tmp_path: Path, redis: RedisServer
) -> None:
    assert dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(START) > dt.timedelta(hours=6), (
        "the exchange's clock must be hours away from the host's"
    )
    sim_port = free_port()
    namespace = f"kill{free_port()}"
    with processes() as started:
        launch(started, tmp_path / "sim.log", "sim", "--port", str(sim_port), "--start", START)
        sim_url = f"http://127.0.0.1:{sim_port}"
        wait_http(f"{sim_url}/api/Status/ping", started[0])

        def manager() -> subprocess.Popen[bytes]:
            port = free_port()
            process = launch(
                started,
                tmp_path / "cm.log",
                "connection-manager",
                "--redis",
                redis.url,
                "--port",
                str(port),
                "--set",
                f"simulator.port={sim_port}",
                "--set",
                f"bus.namespace={namespace}",
                "--set",
                "bus.claimIdleSeconds=1",
            )
            wait_http(
                f"http://127.0.0.1:{port}/health", process
            )  # the manager alone runs on the host's clock
            return process

        bus = create_bus(bus_config("redis", redis.url, namespace), client_name="kill-test")
        await bus.start()
        try:
            observer = await bus.subscribe([channels.CM_ORDER_UPDATES, channels.CM_FILLS], group="observer")
            results: dict[str, CommandResult] = {}
            fills: Counter[int] = Counter()

            async def collect() -> None:
                async for message in observer:
                    payload = message.envelope.payload
                    if isinstance(payload, CommandResult):
                        results[payload.command_id] = payload
                    elif isinstance(payload, Fill):
                        fills[payload.fill_id] += 1
                    await message.ack()

            collector = asyncio.create_task(collect())
            admin = httpx.AsyncClient(base_url=f"{sim_url}/admin", timeout=10)
            # Where each manager dies: its place reached the exchange but the answer was lost, and it
            # is looking the tag up (slowly); the fill's hub event never reached it. The order is on
            # the exchange, the journal says "started", and no one has published the fill.
            faults = [
                (
                    "faults/http",
                    {"path": "/api/Order/place", "status": 503, "count": 1, "afterProcessing": True},
                ),
                ("faults/latency", {"ms": 4000, "path": "/api/Order/search"}),
                ("faults/events", {"hub": "user", "drop": 1.0, "targets": ["GatewayUserTrade"]}),
            ]
            kills = {ORDERS // 3, 2 * ORDERS // 3}
            current = manager()
            for i in range(ORDERS):
                if i in kills:
                    await eventually(lambda i=i: len(results) >= i, within=20, what=f"results before {i}")
                    for path, body in faults:
                        (await admin.post(path, json=body)).raise_for_status()
                await bus.publish(channels.CM_COMMANDS, Envelope.wrap(command(i), "test"))
                await asyncio.sleep(0.1)
                if i in kills:
                    await asyncio.sleep(1.2)
                    current.kill()  # SIGKILL: in the middle of the place
                    current.wait(timeout=10)
                    assert f"kill-cmd-{i}" not in results
                    (await admin.delete("faults")).raise_for_status()
                    current = manager()
            await admin.aclose()
            await eventually(lambda: len(results) == ORDERS, within=60, what="every command's result")

            # The simulator's own record: one order per tag, every one filled.
            async with httpx.AsyncClient(base_url=sim_url, timeout=10) as http:
                login = await http.post("/api/Auth/loginKey", json={"userName": "demo", "apiKey": "demo"})
                auth = {"Authorization": f"Bearer {login.json()['token']}"}
                since = {"accountId": COMBINE, "startTimestamp": "2026-11-01T00:00:00Z"}
                orders = (await http.post("/api/Order/search", json=since, headers=auth)).json()["orders"]
                trades = (await http.post("/api/Trade/search", json=since, headers=auth)).json()["trades"]
            tags = Counter(o["customTag"] for o in orders)
            assert {f"bot_2-kill-{i}" for i in range(ORDERS)} == set(tags), "an order was lost"
            assert max(tags.values()) == 1, f"an order was doubled: {tags.most_common(3)}"
            assert all(o["status"] == 2 for o in orders), [o for o in orders if o["status"] != 2]
            by_tag = {o["customTag"]: o["id"] for o in orders}
            for i in range(ORDERS):
                result = results[f"kill-cmd-{i}"]
                assert result.ok and result.exchange_order_id == by_tag[f"bot_2-kill-{i}"], result
            trade_ids = {t["id"] for t in trades}
            assert len(trade_ids) == ORDERS
            await eventually(lambda: set(fills) == trade_ids, within=30, what="every fill published")
            await asyncio.sleep(1.0)  # a late duplicate would arrive now
            assert set(fills) == trade_ids
            assert max(fills.values()) == 1, f"a fill was published twice: {fills.most_common(3)}"
            collector.cancel()
        finally:
            await bus.close()
        assert current.poll() is None  # the last manager is still running (stopped by the block)
    # Each successor found its predecessor's order by its tag (searched in the exchange's time).
    log = (tmp_path / "cm.log").read_text()
    assert log.count("an earlier attempt of this place had placed it") == 2, log[-3000:]
