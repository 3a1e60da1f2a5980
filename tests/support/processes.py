"""Running tsxbot commands as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


def tsxbot_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("tsxbot")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tsxbot"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOPSTEP", "TSXBOT", "REDIS"))}
    env.update(extra)
    return env


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*tsxbot_cmd(), *args],
        cwd=cwd,
        env=env or clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_http(
    url: str,
    process: subprocess.Popen[str],
    within: float = 30.0,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"process exited with {process.returncode} before {url} answered:\n{output}")
        try:
            response = httpx.get(url, headers=headers, timeout=1)
            if response.status_code < 500:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {within} s")


def stop(process: subprocess.Popen[str], signal_number: int, within: float = 20.0) -> tuple[int, str]:
    process.send_signal(signal_number)
    try:
        output, _ = process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"did not stop within {within} s:\n{output}") from None
    return process.returncode, output
