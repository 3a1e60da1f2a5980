"""Processes the tests start never outlive them: ``running`` kills on the way out, even when the
test fails, and the session ends with a check that fails the run if a tsxbot process is left."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.processes import PINNED, check_none_left, kill, running, start, tsxbot_children


def _pids() -> set[int]:
    return {c.pid for c in tsxbot_children()}


def _fail_while_running(tmp_path: Path) -> subprocess.Popen[str]:
    with running("sim", "--port", "0", *PINNED, cwd=tmp_path) as process:
        assert process.pid in _pids()
        raise _TestFailed(process)
    raise AssertionError("unreachable")


class _TestFailed(Exception):
    def __init__(self, process: subprocess.Popen[str]) -> None:
        super().__init__("the test failed")
        self.process = process


def test_running_kills_the_process_when_the_test_fails(tmp_path: Path) -> None:
    with pytest.raises(_TestFailed) as failed:
        _fail_while_running(tmp_path)
    process = failed.value.process
    assert process.returncode is not None
    assert process.pid not in _pids()


def test_the_session_check_fails_on_a_tsxbot_process_left_running_and_ends_it(tmp_path: Path) -> None:
    process = start("sim", "--port", "0", *PINNED, cwd=tmp_path)
    try:
        with pytest.raises(
            AssertionError, match=f"tsxbot processes left running by the tests.*{process.pid}"
        ):
            check_none_left()
        assert process.wait(timeout=10) != 0  # killed by the check
        check_none_left()  # nothing left now
    finally:
        kill(process)


def test_only_tsxbot_processes_count(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        assert other.pid not in _pids()
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (("sim",), "simulator.port"),
        (("connection-manager", "--set", "simulator.port=0"), "services.connectionManager.port"),
        (("run-all", "--set", "simulator.port=0"), "services.aggregator.apiPort"),
    ],
)
def test_a_service_on_a_default_port_is_refused_before_it_starts(
    tmp_path: Path, args: tuple[str, ...], missing: str
) -> None:
    with pytest.raises(ValueError, match=missing):
        start(*args, cwd=tmp_path)


def test_an_orphaned_grandchild_is_still_found_and_ended() -> None:
    # A wrapper that starts a tsxbot-named process and exits leaves an orphan: the session adopts
    # it (conftest.adopt_orphans), so the last check sees it like any child.
    subprocess.run(["bash", "-c", "(exec -a /orphan/bin/tsxbot sleep 60 &)"], check=True)
    orphans = [c for c in tsxbot_children() if c.command.startswith("/orphan/bin/tsxbot")]
    assert len(orphans) == 1, tsxbot_children()
    with pytest.raises(AssertionError, match=f"{orphans[0].pid} /orphan/bin/tsxbot"):
        check_none_left()
    assert not [c for c in tsxbot_children() if c.command.startswith("/orphan/bin/tsxbot")]
