"""``tsxbot alerts --redis URL`` as its own process, killed with SIGKILL and started again: what
happened while it was dead is reported after the restart, what it had sent is not sent again,
and Telegram commands are read again."""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from support.alerts_rig import fill
from support.alerts_setup import CHAT, env_for
from support.bus_helpers import bus_config, eventually
from support.chat_servers import ChatServers
from support.processes import clean_env, start, stop
from support.redis_server import RedisServer
from tsxbot.bus import create_bus
from tsxbot.messages import channels


def alerts_process(
    tmp_path: Path, redis: RedisServer, namespace: str, servers: ChatServers
) -> subprocess.Popen[str]:
    sets = [
        f"bus.namespace={namespace}",
        f"system.logDir={tmp_path / 'logs'}",
        f"journal.url=sqlite:///{tmp_path / 'journal.db'}",
        "alerts.enabled=true",
        "alerts.telegram.enabled=true",
        f"alerts.telegram.chatIds=[{CHAT}]",
        "alerts.telegram.minLevel=CRITICAL",  # the chat holds command answers only
        f"alerts.telegram.apiUrl={servers.base}",
        "alerts.telegram.pollTimeoutSeconds=1",
        "alerts.webhook.enabled=true",
        "alerts.coalesceSeconds=0.05",
    ]
    env = {
        k: v for k, v in env_for(servers).items() if k in ("TELEGRAM_BOT_TOKEN", "TSXBOT_ALERT_WEBHOOK_URL")
    }
    args = [arg for s in sets for arg in ("--set", s)]
    return start("alerts", "--redis", redis.url, *args, cwd=tmp_path, env=clean_env(**env))


def keys(servers: ChatServers) -> list[str]:
    return [a["key"] for body in servers.webhook for a in body["alerts"]]


@pytest.mark.slow
async def test_kill_9_and_restart(tmp_path: Path, redis: RedisServer, servers: ChatServers) -> None:
    namespace = f"a{uuid.uuid4().hex[:10]}"
    bus = create_bus(bus_config("redis", redis.url, namespace), client_name="test")
    await bus.start()
    first: subprocess.Popen[str] | None = None
    second: subprocess.Popen[str] | None = None
    try:
        first = alerts_process(tmp_path, redis, namespace, servers)
        await eventually(
            lambda: bool(servers.get_updates_offsets), within=30, what="the first process polling"
        )
        await bus.publish(channels.CM_FILLS, fill(1, pnl=25.0))
        await eventually(lambda: "trade:1001:1" in keys(servers), within=15, what="the first fill")
        first.kill()  # SIGKILL: no goodbye
        first.wait(10)
        await bus.publish(channels.CM_FILLS, fill(2))  # while nothing reads
        await bus.flush()

        polls = len(servers.get_updates_offsets)
        second = alerts_process(tmp_path, redis, namespace, servers)
        await eventually(lambda: "fill:1001:2" in keys(servers), within=30, what="the fill sent while dead")
        await eventually(lambda: len(servers.get_updates_offsets) > polls, within=15, what="polling again")
        servers.push_message(CHAT, "/help")
        await eventually(lambda: any("/flatten" in t for t in servers.telegram.get(CHAT, [])), within=15)
        assert keys(servers).count("fill:1001:1") == 1
        assert keys(servers).count("trade:1001:1") == 1
        assert keys(servers).count("fill:1001:2") == 1
        code, output = stop(second, signal.SIGTERM)
        assert code == 0, output
        assert "Traceback" not in output
        assert servers.token not in output  # the token is never printed, nor logged
        logs = [path.read_text() for path in (tmp_path / "logs").rglob("*.log")]
        assert logs and all(servers.token not in text for text in logs)
        assert any("telegram command" in text for text in logs)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        await bus.close(flush_seconds=1.0)
