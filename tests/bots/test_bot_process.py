"""``tsxbot bot --config config/bots/bot_2.yaml --redis URL`` as its own process, with the
simulator, the connection manager and the aggregator as theirs: it registers, warms up from
History over Redis, runs, obeys its control channel and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from support.bot_system import config_dir, scripted_bot
from support.bus_helpers import bus_config, eventually
from support.processes import PINNED, Ports, clean_env, running, stop, wait_http
from support.redis_server import RedisServer
from tsxbot.bus import create_bus
from tsxbot.config import DEFAULTS_DIR
from tsxbot.messages import BotCommand, BotControl, BotState, BotStatus, Envelope, channels

KEY = "bot-process-key"
TESTS_DIR = str(Path(__file__).resolve().parent.parent)


@pytest.mark.slow
async def test_bot_process_over_redis(tmp_path: Path, redis: RedisServer) -> None:
    ports = Ports.free()
    namespace = "botproc"
    common = ["--redis", redis.url, *ports.overrides(), "--set", f"bus.namespace={namespace}"]
    env = clean_env(TSXBOT_API_KEY=KEY)
    bus = create_bus(bus_config("redis", redis.url, namespace), client_name="test")
    await bus.start()
    statuses: list[BotStatus] = []
    watcher = await bus.subscribe(channels.bot_status("bot_2"))

    async def collect() -> None:
        async for message in watcher:
            if isinstance(message.envelope.payload, BotStatus):
                statuses.append(message.envelope.payload)

    collector = asyncio.create_task(collect())
    try:
        with running("sim", *ports.overrides(), *PINNED, cwd=tmp_path) as sim:
            wait_http(f"http://127.0.0.1:{ports.simulator}/api/Status/ping", sim)
            with (
                running("connection-manager", *common, cwd=tmp_path, env=env) as cm,
                running("aggregator", *common, cwd=tmp_path, env=env) as agg,
            ):
                wait_http(f"http://127.0.0.1:{ports.connection_manager}/health", cm)
                # (its /health says "degraded" until it hears from the exchange)
                wait_http(f"http://127.0.0.1:{ports.aggregator_api}/status", agg, headers={"X-API-Key": KEY})
                with running(
                    "bot",
                    "--config",
                    str(DEFAULTS_DIR / "bots" / "bot_2.yaml"),
                    *common,
                    cwd=tmp_path,
                    env=env,
                ) as bot:
                    await eventually(
                        lambda: any(s.state is BotState.RUNNING for s in statuses), within=30, what="RUNNING"
                    )
                    states = [s.state for s in statuses]
                    assert states.index(BotState.WARMING_UP) < states.index(BotState.RUNNING)
                    running_status = next(s for s in statuses if s.state is BotState.RUNNING)
                    # Warmed on History: the EMA strategy's indicators have values.
                    assert running_status.strategy_state, running_status
                    async with httpx.AsyncClient() as http:
                        bots = (
                            await http.get(
                                f"http://127.0.0.1:{ports.aggregator_api}/bots", headers={"X-API-Key": KEY}
                            )
                        ).json()
                    assert any(b["botId"] == "bot_2" and b.get("registered", True) for b in bots["bots"]), (
                        bots
                    )
                    await bus.publish(
                        channels.bot_control("bot_2"),
                        Envelope.wrap(
                            BotControl(command_id="p1", bot_id="bot_2", command=BotCommand.PAUSE), "test"
                        ),
                    )
                    await eventually(
                        lambda: statuses[-1].state is BotState.PAUSED, within=15, what="PAUSED over Redis"
                    )
                    code, output = stop(bot, signal.SIGTERM)
                    assert code == 0, output
                    assert "bot stopped" in output and "Traceback" not in output
                for process in (agg, cm):
                    code, output = stop(process, signal.SIGTERM)
                    assert code == 0, output
    finally:
        collector.cancel()
        await bus.close()


def test_bot_command_names_a_missing_or_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tsxbot.cli import main

    assert main(["bot", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert f"bot config {tmp_path / 'nope.yaml'} not found" in capsys.readouterr().err
    stray = tmp_path / "elsewhere" / "bots" / "bot_9.yaml"
    stray.parent.mkdir(parents=True)
    stray.write_text("bot: {id: bot_9, name: x}\n")
    code = main(["bot", "--config", str(stray), "--config-dir", str(DEFAULTS_DIR)])
    assert code == 2
    assert "is not a bot of the config directory" in capsys.readouterr().err


@pytest.mark.slow
async def test_a_bot_process_killed_mid_trade_gets_it_back_and_never_takes_it_again(
    tmp_path: Path, redis: RedisServer
) -> None:
    """The simulator at 10x (a bar every 6 s), every service its own process over Redis. The
    scripted bot enters at 09:34 CT (24 s after the simulator starts: the other services start
    first, which took 11 s under load, and a bar before the bot runs is warm-up, never traded),
    is killed with SIGKILL holding the position, and started again: it gets the position and its
    stop back from the aggregator and takes no new entry."""
    ports = Ports.free()
    namespace = "botkill"
    directory = config_dir(tmp_path, {"bot_s": scripted_bot(enter_at="09:34", stop_points=12.0)})
    settings = ["--config-dir", str(directory), "--set", "simulator.speed=10"]
    common = ["--redis", redis.url, *ports.overrides(), "--set", f"bus.namespace={namespace}", *settings]
    # The scripted strategy lives in tests/support (loaded by dotted path, as a user's would be).
    env = clean_env(TSXBOT_API_KEY=KEY, PYTHONPATH=f"{os.environ.get('PYTHONPATH', '')}:{TESTS_DIR}")
    bus = create_bus(bus_config("redis", redis.url, namespace), client_name="test")
    await bus.start()
    statuses: list[BotStatus] = []
    watcher = await bus.subscribe(channels.bot_status("bot_s"))

    async def collect() -> None:
        async for message in watcher:
            if isinstance(message.envelope.payload, BotStatus):
                statuses.append(message.envelope.payload)

    collector = asyncio.create_task(collect())
    bot_args = ["bot", "--config", str(directory / "bots" / "bot_s.yaml"), *common]
    try:
        with running("sim", *ports.overrides(), *PINNED, *settings, cwd=tmp_path, env=env) as sim:
            wait_http(f"http://127.0.0.1:{ports.simulator}/api/Status/ping", sim)
            with (
                running("connection-manager", *common, cwd=tmp_path, env=env) as cm,
                running("aggregator", *common, cwd=tmp_path, env=env) as agg,
            ):
                wait_http(f"http://127.0.0.1:{ports.connection_manager}/health", cm)
                wait_http(f"http://127.0.0.1:{ports.aggregator_api}/status", agg, headers={"X-API-Key": KEY})
                with running(*bot_args, cwd=tmp_path, env=env) as first:
                    await eventually(
                        lambda: any(s.position > 0 and s.working_stop for s in statuses),
                        within=60,
                        what="the entry and its stop",
                    )
                    held = next(s for s in statuses if s.position > 0 and s.working_stop)
                    first.kill()  # SIGKILL: no goodbye
                    first.wait(timeout=10)
                statuses.clear()
                with running(*bot_args, cwd=tmp_path, env=env) as second:
                    await eventually(
                        lambda: any(
                            s.state is BotState.RUNNING and s.position == held.position for s in statuses
                        ),
                        within=30,
                        what="the position back",
                    )
                    restored = next(s for s in statuses if s.position == held.position)
                    assert restored.working_stop == held.working_stop
                    await asyncio.sleep(15)  # a few more bars (at 10x)
                    async with httpx.AsyncClient() as http:
                        orders = (
                            await http.get(
                                f"http://127.0.0.1:{ports.aggregator_api}/orders",
                                params={"botId": "bot_s"},
                                headers={"X-API-Key": KEY},
                            )
                        ).json()["orders"]
                    entries = [o for o in orders if o["side"] == "BUY"]
                    assert len(entries) == 1, orders
                    assert statuses[-1].position in (held.position, 0)  # held, or its stop/target hit
                    code, output = stop(second, signal.SIGTERM)
                    assert code == 0, output
                for process in (agg, cm):
                    stop(process, signal.SIGTERM)
    finally:
        collector.cancel()
        await bus.close()
