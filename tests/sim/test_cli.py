"""``tsxbot sim`` and ``tsxbot run-all`` as a person runs them: a real process that prints how
to connect, serves the API, and stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.processes import PINNED, Ports, clean_env, running
from support.sim import START
from tsxbot.cli.run_all import _build
from tsxbot.config import DEFAULTS_DIR, load_config
from tsxbot.connection_manager.factory import MissingCredentialsError
from tsxbot.sim.start_time import REQUIRED_ENV


@contextlib.contextmanager
def _started(*args: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``tsxbot args`` with the packaged config, and its banner (up to "Ctrl-C stops it.")."""
    env = clean_env(TSXBOT_CONFIG_DIR=str(DEFAULTS_DIR))
    with running(*args, "--set", f"system.logDir={tmp_path / 'logs'}", cwd=tmp_path, env=env) as process:
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
        yield process, "".join(lines)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_tsxbot_sim_prints_the_demo_login_serves_and_stops_cleanly(
    tmp_path: Path, stop: signal.Signals
) -> None:
    with _started("sim", "--port", "0", "--seed", "7", "--start", START, tmp_path=tmp_path) as (
        process,
        banner,
    ):
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
        process.send_signal(stop)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    assert "service stopped" in rest


def test_run_all_builds_the_simulator_only_for_the_simulator_target() -> None:
    config = load_config(DEFAULTS_DIR, env={"TSXBOT_API_KEY": "k"})
    services = _build(config)
    bots = ["bot bot_1", "bot bot_2", "bot bot_3"]
    pages = ["control-panel", "manual-trading"]
    assert [s.name for s in services] == [
        "bus",
        "simulator",
        "connection-manager",
        "aggregator",
        *bots,
        *pages,
    ]
    live_env = {"TSXBOT_API_KEY": "k", "TOPSTEPX_USERNAME": "u", "TOPSTEPX_API_KEY": "x"}
    live = load_config(DEFAULTS_DIR, overrides=["topstepx.target=live"], env=live_env)
    assert [s.name for s in _build(live)] == ["bus", "connection-manager", "aggregator", *bots, *pages]
    without_credentials = load_config(DEFAULTS_DIR, overrides=["topstepx.target=live"], env={})
    with pytest.raises(MissingCredentialsError, match="TOPSTEPX_USERNAME"):
        _build(without_credentials)


def test_run_all_runs_the_simulator_until_stopped(tmp_path: Path) -> None:
    # Every service on a free port (not only the simulator): a tsxbot already running on the
    # defaults (7500, 7800...) must not matter, and the process never outlives the test.
    args = ["run-all", *Ports.free().overrides(), *PINNED]
    env = clean_env(TSXBOT_CONFIG_DIR=str(DEFAULTS_DIR))
    with running(*args, "--set", f"system.logDir={tmp_path / 'logs'}", cwd=tmp_path, env=env) as process:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline and "simulator listening" not in seen:
            seen += process.stdout.readline()
        assert "simulator listening" in seen
        assert seen.count("simulated clock starts") == 1, seen
        assert "simulated clock starts at Tue 2026-11-24 09:30 CT" in seen, seen
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, seen + rest


@pytest.mark.parametrize("command", ["sim", "run-all"])
def test_an_unpinned_simulator_process_is_refused_in_the_test_session(tmp_path: Path, command: str) -> None:
    # The test session's environment reaches the processes it starts: a simulator there that
    # would follow the machine's clock (startTime auto, the default) does not start.
    env = clean_env(TSXBOT_CONFIG_DIR=str(DEFAULTS_DIR))
    assert env[REQUIRED_ENV] == "1"
    args = [command, *Ports.free().overrides(), "--set", f"system.logDir={tmp_path / 'logs'}"]
    with running(*args, cwd=tmp_path, env=env) as process:
        output, _ = process.communicate(timeout=60)
    assert process.returncode != 0, output
    assert f"{REQUIRED_ENV} is set" in output and "pin the simulated time" in output, output
