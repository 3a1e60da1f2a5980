"""The tests that start tsxbot processes, run with the machine's clock faked (libfaketime) to the
times that used to break them: a Saturday, and a weekday at 15:30 CT (after TopStepX's 15:10 end
of day). Nothing may depend on the time of day."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support.processes import clean_env, kill, tsxbot_cmd
from support.sim import ES
from tsxbot.sim.start_time import REQUIRED_ENV

FAKETIME = shutil.which("faketime")
ROOT = Path(__file__).resolve().parent.parent
SUBSET = ["tests/connection_manager/test_processes.py", "tests/sim/test_cli.py"]


def _unfaked_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (the environment) without libfaketime: this run may itself be under it."""
    env = dict(os.environ) if base is None else base
    return {k: v for k, v in {**env, **extra}.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


def _offset(fake: str) -> tuple[float, str]:
    """The faked instant and libfaketime's offset to it from the real clock (read by a process
    outside libfaketime, in case this run is faked already). An offset ("+N" seconds), not a
    start time ("@..."): every process started under it shares one faked clock that advances (a
    start time restarts the clock in each new process). Monotonic clocks are shifted by the same
    offset (FAKETIME_DONT_FAKE_MONOTONIC breaks Python's time.sleep with libfaketime 0.9.10:
    EINVAL from clock_nanosleep)."""
    target = dt.datetime.fromisoformat(fake).replace(tzinfo=dt.UTC).timestamp()
    real = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=_unfaked_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return target, f"{int(target - float(real.stdout)):+d}"


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Starts ``args`` in its own process group (ended whole, with any tsxbot it started)."""
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float) -> tuple[int, str]:
    """Waits for ``process``; killed with its group if not done within ``timeout`` seconds."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"not done within {timeout} s:\n{output[-4000:]}") from None
    return process.returncode, output


def _run(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    return _finish(_start(args, env), timeout)


FAKE_TIMES = {"saturday": "2026-12-05 18:00:00", "weekday-1530-CT": "2026-12-03 21:30:00"}
# UTC: Sat 12:00 CT; Thu 15:30 CT
FAKES = pytest.mark.parametrize("fake", list(FAKE_TIMES.values()), ids=list(FAKE_TIMES))
NEEDS_FAKETIME = pytest.mark.skipif(
    FAKETIME is None, reason="needs the faketime binary (make test installs it)"
)


@dataclass
class FakedRun:
    """The process tests (``SUBSET``) in a pytest of their own under one faked clock."""

    target: float  # the faked instant
    offset: str  # libfaketime's offset to it
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def faked_runs() -> Iterator[dict[str, FakedRun]]:
    """Both faked clocks' runs of the process tests, started at once (they mostly wait on the
    processes they start: side by side they take about as long as the longer one); each test
    below checks its own. Both process groups are ended whole at the end, whatever happened."""
    assert FAKETIME is not None
    env = _unfaked_env(TZ="UTC")
    runs: dict[str, FakedRun] = {}
    try:
        for fake in FAKE_TIMES.values():
            target, offset = _offset(fake)
            args = [
                FAKETIME,
                "-f",
                offset,
                sys.executable,
                "-m",
                "pytest",
                *SUBSET,
                "-q",
                "-p",
                "no:cacheprovider",
            ]
            runs[fake] = FakedRun(target, offset, _start(args, env))
        yield runs
    finally:
        for run in runs.values():
            if run.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(run.process.pid, signal.SIGKILL)
                run.process.communicate()


@pytest.mark.slow
@NEEDS_FAKETIME
@FAKES
def test_the_process_tests_pass_with_the_machine_clock_faked(
    fake: str, faked_runs: dict[str, FakedRun]
) -> None:
    assert FAKETIME is not None
    run = faked_runs[fake]
    env = _unfaked_env(TZ="UTC")
    probe_code = "import time; a = time.time(); time.sleep(1.2); print(a, time.time())"
    code, output = _run([FAKETIME, "-f", run.offset, sys.executable, "-c", probe_code], env, 60)
    assert code == 0, output
    first, second = (float(x) for x in output.split())
    assert abs(first - run.target) < 120, "the clock is not faked"
    assert second - first >= 1.0, "the faked clock does not advance"
    code, output = _finish(run.process, 900)
    assert code == 0, output[-6000:]
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None and int(passed.group(1)) >= 8, output[-2000:]
    assert "skipped" not in output, output[-2000:]


@pytest.mark.slow
@NEEDS_FAKETIME
@FAKES
def test_tsxbot_sim_with_the_default_start_takes_an_order_while_the_market_is_closed(
    fake: str, tmp_path: Path
) -> None:
    """What a user meets: ``tsxbot sim`` with ``startTime: auto`` at a weekend or after 15:10 CT
    starts at the latest regular open, says so, and fills a market order. (The test session's
    pin requirement is lifted for this process only: its clock is the faked one.)"""
    assert FAKETIME is not None
    _, offset = _offset(fake)
    env = {k: v for k, v in _unfaked_env(clean_env(TZ="UTC")).items() if k != REQUIRED_ENV}
    args = [FAKETIME, "-f", offset, *tsxbot_cmd(), "sim", "--port", "0", "--set", f"system.logDir={tmp_path}"]
    # faketime runs tsxbot as its own child: a group of its own, ended whole below.
    process = subprocess.Popen(
        args,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        seen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Ctrl-C stops it." not in seen:
            seen += process.stdout.readline()
        picked = "Fri 2026-12-04 08:30 CT" if fake.startswith("2026-12-05") else "Thu 2026-12-03 08:30 CT"
        assert seen.count("simulated clock starts") == 1, seen
        assert "market closed now" in seen and f"simulated clock starts at {picked}" in seen, seen
        url = re.search(r"TopStepX simulator on (http://\S+)", seen)
        assert url is not None, seen
        with httpx.Client(base_url=url.group(1), timeout=10) as http:
            login = http.post("/api/Auth/loginKey", json={"userName": "demo", "apiKey": "demo"}).json()
            headers = {"Authorization": f"Bearer {login['token']}"}
            order = {"accountId": 1001, "contractId": ES, "type": 2, "side": 0, "size": 1}
            placed = http.post("/api/Order/place", json=order, headers=headers).json()
        assert placed["success"], placed
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        kill(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
