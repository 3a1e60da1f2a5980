"""``tsxbot sim`` and ``tsxbot run-all`` as a person runs them: a real process that prints how
to connect, serves the API, and stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.redis_server import free_port
from tsxbot.cli.run_all import _build
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.connection_manager.factory import MissingCredentialsError


def _start(*args: str, tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSXBOT_", "TOPSTEP"))}
    env["TSXBOT_CONFIG_DIR"] = str(DEFAULTS_DIR)
    process = subprocess.Popen(
        [sys.executable, "-m", "tsxbot", *args, "--set", f"system.logDir={tmp_path / 'logs'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops it."):
            break
    return process, "".join(lines)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_tsxbot_sim_prints_the_demo_login_serves_and_stops_cleanly(
    tmp_path: Path, stop: signal.Signals
) -> None:
    process, banner = _start(
        "sim", "--port", "0", "--seed", "7", "--start", "2026-11-24T15:30:00Z", tmp_path=tmp_path
    )
    try:
        assert "userName='demo' apiKey='demo'" in banner, banner
        assert "1001 50KTC-V2-1001-0001 (combine, autoOco)" in banner
        url = re.search(r"TopStepX simulator on (http://\S+)", banner)
        assert url is not None
        with httpx.Client(base_url=url.group(1)) as http:
            token = http.post("/api/Auth/loginKey", json={"userName": "demo", "apiKey": "demo"}).json()[
                "token"
            ]
            accounts = http.post(
                "/api/Account/search",
                json={"onlyActiveAccounts": True},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert [a["id"] for a in accounts.json()["accounts"]] == [1001, 1002]
    finally:
        process.send_signal(stop)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    assert "service stopped" in rest


def test_run_all_builds_the_simulator_only_for_the_simulator_target() -> None:
    config = load_config(DEFAULTS_DIR, env={"TSXBOT_API_KEY": "k"})
    services = _build(config)
    assert [s.name for s in services] == ["bus", "simulator", "connection-manager", "aggregator"]
    live_env = {"TSXBOT_API_KEY": "k", "TOPSTEPX_USERNAME": "u", "TOPSTEPX_API_KEY": "x"}
    live = load_config(DEFAULTS_DIR, overrides=["topstepx.target=live"], env=live_env)
    assert [s.name for s in _build(live)] == ["bus", "connection-manager", "aggregator"]
    without_credentials = load_config(DEFAULTS_DIR, overrides=["topstepx.target=live"], env={})
    with pytest.raises(MissingCredentialsError, match="TOPSTEPX_USERNAME"):
        _build(without_credentials)


def test_run_all_runs_the_simulator_until_stopped(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tsxbot",
            "run-all",
            "--set",
            "simulator.port=0",
            "--set",
            f"system.logDir={tmp_path / 'logs'}",
            "--set",
            f"services.aggregator.apiPort={free_port()}",
            "--set",
            f"services.aggregator.monitoringPort={free_port()}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("TSXBOT_")},
            "TSXBOT_CONFIG_DIR": str(DEFAULTS_DIR),
        },
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline and "simulator listening" not in seen:
            seen += process.stdout.readline()
        assert "simulator listening" in seen
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, seen + rest
