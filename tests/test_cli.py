"""The installed ``tsxbot`` command, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tsxbot
from support.processes import PINNED, Ports
from tsxbot.config import DEFAULTS_DIR


def tsxbot_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("tsxbot")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tsxbot"]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOPSTEP", "TSXBOT", "REDIS"))}
    return subprocess.run(
        [*tsxbot_cmd(), *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(DEFAULTS_DIR, tmp_path / "config", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_version(workdir: Path) -> None:
    result = run("--version", cwd=workdir)
    assert result.returncode == 0
    assert result.stdout.strip().startswith(f"tsxbot {tsxbot.__version__} (core ")


def test_config_check_prints_resolved_config_with_secrets_masked(workdir: Path) -> None:
    env = {
        "TOPSTEPX_USERNAME": "trader42",
        "TOPSTEPX_API_KEY": "pk_live_abcdef123456",
        "TSXBOT_API_KEY": "int-key-987",
    }
    result = run("config", "check", "--set", "bots.bot_1.risk.maxDailyLoss=300", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr
    assert "configuration OK: 3 bots" in result.stdout
    assert "maxDailyLoss: 300.0" in result.stdout
    for secret in env.values():
        assert secret not in result.stdout + result.stderr
    assert "********" in result.stdout


def test_config_check_refuses_a_live_target_without_credentials(workdir: Path) -> None:
    result = run("config", "check", cwd=workdir, env={"TSXBOT_TARGET": "live"})
    assert result.returncode == 2
    assert "TOPSTEPX_API_KEY" in result.stderr
    assert "configuration OK" not in result.stdout
    ok = run(
        "config",
        "check",
        cwd=workdir,
        env={"TSXBOT_TARGET": "live", "TOPSTEPX_USERNAME": "trader42", "TOPSTEPX_API_KEY": "pk_abc"},
    )
    assert ok.returncode == 0, ok.stderr


def test_config_check_reports_every_problem_and_exits_2(workdir: Path) -> None:
    bot = workdir / "config" / "bots" / "bot_2.yaml"
    bot.write_text(bot.read_text().replace("fastPeriod: 9", "fastPeriod: 0"))
    glob = workdir / "config" / "global.yaml"
    glob.write_text(glob.read_text().replace("  port: 7800", "  port: -1"))
    result = run("config", "check", cwd=workdir)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "2 configuration problems" in result.stderr
    assert "config/bots/bot_2.yaml:" in result.stderr
    assert "strategy.params.fastPeriod" in result.stderr
    assert "config/global.yaml:" in result.stderr
    assert "simulator.port" in result.stderr


def test_config_check_without_local_config_uses_the_packaged_example(tmp_path: Path) -> None:
    result = run("config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "configuration OK: 3 bots" in result.stdout


def test_unknown_subcommand_is_an_error(workdir: Path) -> None:
    result = run("teleport", cwd=workdir)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_run_all_with_a_broken_config_exits_2(workdir: Path) -> None:
    # Free ports and a pinned clock, as for any run-all a test starts (this one must not start).
    result = run("run-all", *Ports.free().overrides(), *PINNED, "--set", "bus.backend=kafka", cwd=workdir)
    assert result.returncode == 2
    assert "bus.backend" in result.stderr


def test_config_check_says_where_the_internal_api_key_comes_from(workdir: Path) -> None:
    first = run("config", "check", cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "value: '(generated at first start: .tsxbot/internal-api-key)'" in first.stdout
    assert "(not set)" not in first.stdout.split("internal_api_key:")[1].split("\n")[1]
    key_file = workdir / ".tsxbot" / "internal-api-key"
    key_file.parent.mkdir()
    key_file.write_text("k" * 32 + "\n")
    stored = run("config", "check", cwd=workdir)
    assert "value: (from .tsxbot/internal-api-key)" in stored.stdout
    assert "k" * 32 not in stored.stdout
    from_env = run("config", "check", cwd=workdir, env={"TSXBOT_API_KEY": "int-key-987"})
    assert "from: TSXBOT_API_KEY or .tsxbot/internal-api-key" in from_env.stdout
    assert "int-key-987" not in from_env.stdout


def test_set_without_equals_is_reported_once_plainly(workdir: Path) -> None:
    result = run("config", "check", "--set", "nokeyvalue", "--set", "a..b=1", cwd=workdir)
    assert result.returncode == 2
    assert "  --set nokeyvalue: expected key.path=value, e.g. " in result.stderr
    assert result.stderr.count("nokeyvalue") == 1
    assert "  --set a..b=1: empty part in key path 'a..b'" in result.stderr
