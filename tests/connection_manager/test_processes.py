"""The services as a user runs them: ``run-all`` in one process (stopped with Ctrl-C), and the
simulator and the connection manager as separate processes over Redis."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from support.bus_helpers import bus_config, eventually
from support.cm_harness import place
from support.processes import PINNED, Output, Ports, clean_env, running, stop, wait_http
from support.redis_server import RedisServer
from tsxbot.bus import create_bus
from tsxbot.messages import CommandResult, Envelope, Fill, channels

KEY = "process-test-key"


@pytest.mark.slow
def test_run_all_starts_the_services_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    ports = Ports.free()
    cm_port = ports.connection_manager
    with running(
        "run-all",
        *ports.overrides(),
        *PINNED,
        "--set",
        f"system.logDir={tmp_path / 'logs'}",
        cwd=tmp_path,
        env=clean_env(TSXBOT_API_KEY=KEY),
    ) as process:
        health = wait_http(f"http://127.0.0.1:{cm_port}/health", process)
        assert health.json()["status"] == "ok"
        status = wait_http(f"http://127.0.0.1:{cm_port}/status", process, headers={"X-API-Key": KEY}).json()
        assert status["target"] == "simulator"
        assert status["hubs"]["user"]["state"] == "CONNECTED"
        # The banner comes once every service started (the bots after History's warm-up, the
        # pages after them); its last line says how to stop.
        printed = Output(process)
        printed.wait_for(r"Ctrl-C stops it\.$", within=60)
        code, output = printed.stop(signal.SIGINT)
    assert code == 0, output
    assert "shutdown requested" in output
    lines = output.splitlines()
    for service in ("aggregator", "connection-manager", "simulator", "bus", "'bot bot_1'", "'bot bot_3'"):
        assert any("service stopped" in line and f"service={service}" in line for line in lines), service
    assert "not built yet" not in output
    for bot, strategy, symbol in (
        ("bot_1", "PDH_PDL", "MGC"),
        ("bot_2", "EMA_CROSS", "MES"),
        ("bot_3", "ORB_RUBBER_BAND", "MNQ"),
    ):
        assert f"bot {bot:<15} {strategy} on {symbol} (RUNNING" in output, bot
    assert "Traceback" not in output
    # Each component logs to its own directory, as its own process would.
    logs = tmp_path / "logs"
    for component, sample in (
        ("runall", "service stopped"),
        ("simulator", "simulator"),
        ("connectionmanager", "connected"),
        ("bots", "bot started"),
    ):
        records = [json.loads(line) for p in (logs / component).glob("*.log") for line in p.open()]
        assert records and all(r["component"] == component for r in records), component
        assert any(sample in r["event"] for r in records), (component, [r["event"] for r in records])


@pytest.mark.slow
async def test_connection_manager_process_over_redis(tmp_path: Path, redis: RedisServer) -> None:
    ports = Ports.free()
    sim_port, cm_port = ports.simulator, ports.connection_manager
    namespace = "proc"
    with running("sim", *ports.overrides(), *PINNED, cwd=tmp_path) as sim:
        # The connection manager after the simulator: it logs in at start.
        wait_http(f"http://127.0.0.1:{sim_port}/api/Status/ping", sim)
        with running(
            "connection-manager",
            "--redis",
            redis.url,
            *ports.overrides(),
            "--set",
            f"bus.namespace={namespace}",
            cwd=tmp_path,
            env=clean_env(TSXBOT_API_KEY=KEY),
        ) as cm:
            wait_http(f"http://127.0.0.1:{cm_port}/health", cm)
            bus = create_bus(bus_config("redis", redis.url, namespace), client_name="test")
            await bus.start()
            try:
                observer = await bus.subscribe(
                    [channels.CM_ORDER_UPDATES, channels.CM_FILLS], group="observer"
                )
                await bus.publish(
                    channels.CM_COMMANDS, Envelope.wrap(place("proc1", stop=None, target=None), "test")
                )
                seen: list[object] = []

                async def collect() -> None:
                    async for message in observer:
                        seen.append(message.envelope.payload)
                        await message.ack()

                collector = asyncio.create_task(collect())
                # The fill can come ahead of the command's result (the hub's event is published
                # while the REST answer is still on its way back): wait for both.
                await eventually(
                    lambda: (
                        any(isinstance(p, Fill) for p in seen)
                        and any(isinstance(p, CommandResult) for p in seen)
                    ),
                    within=15,
                    what="fill and command result over Redis",
                )
                collector.cancel()
                result = next(p for p in seen if isinstance(p, CommandResult))
                assert result.ok
            finally:
                await bus.close()
            code, output = stop(cm, signal.SIGTERM)
            assert code == 0, output


def test_live_target_without_credentials_is_refused_by_name(tmp_path: Path) -> None:
    with running(
        "connection-manager", *Ports.free().overrides(), "--set", "topstepx.target=live", cwd=tmp_path
    ) as process:
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "TOPSTEPX_USERNAME" in output
    assert "TOPSTEPX_API_KEY" in output
