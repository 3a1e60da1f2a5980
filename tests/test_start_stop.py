"""Starting and stopping as a person meets it, as real processes: a signal at any moment ends
every service within its stop timeout; a service that cannot start says why in one line and the
setting to change; the connection manager waits for an exchange that is not up yet."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from support.cm_harness import place
from support.processes import clean_env, tsxbot_cmd
from support.redis_server import free_port
from support.sim import START

KEY = "start-stop-test-key"
# Quick login retries: the circuit breaker's cooldown bounds the wait between attempts.
QUICK_RETRIES = [
    "--set",
    "topstepx.gateway.retryBaseSeconds=0.1",
    "--set",
    "topstepx.gateway.retryCapSeconds=0.5",
    "--set",
    "topstepx.gateway.circuitCooldownSeconds=0.5",
]


@contextlib.contextmanager
def process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """A tsxbot process, stdout and stderr apart; killed on the way out whatever happened."""
    proc = subprocess.Popen(
        [*tsxbot_cmd(), *args, "--set", f"system.logDir={cwd / 'logs'}"],
        cwd=cwd,
        env=env or clean_env(TSXBOT_API_KEY=KEY),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def finish(proc: subprocess.Popen[str], within: float) -> tuple[int, str, str]:
    """Waits for the process to exit by itself; returns (status, stdout, stderr)."""
    started = time.monotonic()
    try:
        out, err = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"still running after {within} s:\n{out}\n{err}") from None
    assert time.monotonic() - started <= within
    return proc.returncode, out, err


def health(port: int, proc: subprocess.Popen[str], *, ready: bool, within: float = 30.0) -> dict[str, object]:
    """Polls /health until it answers with ``ready``; fails when the process exits first."""
    deadline = time.monotonic() + within
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(
                f"exited with {proc.returncode} before /health was ready={ready}:\n{out}{err}"
            )
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            body = response.json()
            last = body
            if body.get("ready") is ready:
                assert response.status_code == (200 if ready else 503)
                return dict(body)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"/health not ready={ready} within {within} s (last: {last})")


def clean_exit(err: str) -> None:
    assert "Task was destroyed" not in err, err
    assert "Traceback" not in err, err


def connection_manager(sim_port: int, cm_port: int, *extra: str) -> list[str]:
    return [
        "connection-manager",
        "--port",
        str(cm_port),
        "--set",
        f"simulator.port={sim_port}",
        *QUICK_RETRIES,
        *extra,
    ]


@pytest.mark.slow
def test_connection_manager_waits_for_the_simulator_then_trades(tmp_path: Path) -> None:
    sim_port, cm_port = free_port(), free_port()
    with process(*connection_manager(sim_port, cm_port), cwd=tmp_path) as cm:
        waiting = health(cm_port, cm, ready=False)
        assert waiting["status"] == "degraded"
        reason = str(waiting["reason"])
        assert re.fullmatch(
            rf"logging in to http://127\.0\.0\.1:{sim_port}: connection refused \(attempt \d+\)", reason
        ) or reason.startswith(f"logging in to http://127.0.0.1:{sim_port} (attempt"), reason
        # Everything but /health says it is not ready yet, plainly.
        refused = httpx.get(f"http://127.0.0.1:{cm_port}/api/positions", headers={"X-API-Key": KEY})
        assert refused.status_code == 503
        assert refused.json()["error"].startswith(f"not ready: logging in to http://127.0.0.1:{sim_port}")
        time.sleep(1.0)  # a few attempts
        assert cm.poll() is None, "the connection manager gave up instead of retrying"
        with process("sim", "--port", str(sim_port), "--start", START, cwd=tmp_path) as sim:
            assert health(cm_port, cm, ready=True, within=30)["status"] == "ok"
            command = {
                "type": "PLACE_ORDER",
                "payload": msgspec.to_builtins(place("late", stop=None, target=None)),
            }
            with httpx.Client(base_url=f"http://127.0.0.1:{cm_port}", headers={"X-API-Key": KEY}) as http:
                placed = http.post("/command", json=command, timeout=15)
                assert placed.status_code == 200, placed.text
                assert placed.json()["ok"] is True, placed.text
                deadline = time.monotonic() + 15
                sizes: list[object] = []
                while time.monotonic() < deadline and not sizes:
                    sizes = [p["netQuantity"] for p in http.get("/api/positions").json()["positions"]]
                    time.sleep(0.1)
                assert sizes == [1]
            cm.send_signal(signal.SIGTERM)
            code, _out, err = finish(cm, 20)
            assert code == 0, err
            clean_exit(err)
            assert f"url=http://127.0.0.1:{sim_port}" in err  # the log names what it tries
            assert "cannot log in to TopStepX yet; retrying" in err
            sim.send_signal(signal.SIGTERM)
            assert finish(sim, 20)[0] == 0


@pytest.mark.slow
@pytest.mark.parametrize("command", ["connection-manager", "run-all"])
def test_a_signal_during_start_stops_everything(tmp_path: Path, command: str) -> None:
    """The connection manager is still logging in (nothing listens where TopStepX should be)."""
    dead, cm_port = free_port(), free_port()
    if command == "run-all":
        args = [
            "run-all",
            "--set",
            "topstepx.target=live",
            "--set",
            f"topstepx.apiUrl=http://127.0.0.1:{dead}",
            "--set",
            f"services.connectionManager.port={cm_port}",
            *QUICK_RETRIES,
        ]
        env = clean_env(TSXBOT_API_KEY=KEY, TOPSTEPX_USERNAME="someone", TOPSTEPX_API_KEY="k" * 20)
    else:
        args, env = connection_manager(dead, cm_port), None
    with process(*args, cwd=tmp_path, env=env) as proc:
        health(cm_port, proc, ready=False)
        proc.send_signal(signal.SIGTERM)
        code, _out, err = finish(proc, 15)
    assert code == 0, err
    clean_exit(err)
    assert "start interrupted by the shutdown" in err
    assert "service stopped" in err and "service=connection-manager" in err
    with socket.socket() as s:  # the port was released
        s.bind(("127.0.0.1", cm_port))


@pytest.mark.slow
def test_a_signal_while_running_and_another_while_stopping(tmp_path: Path) -> None:
    sim_port, cm_port = free_port(), free_port()
    args = [
        "run-all",
        "--set",
        f"simulator.port={sim_port}",
        "--set",
        f"simulator.startTime={START}",
        "--set",
        f"services.connectionManager.port={cm_port}",
    ]
    with process(*args, cwd=tmp_path) as proc:
        health(cm_port, proc, ready=True)
        # An order in flight makes the stop take a while: the exchange answers it in 3 s.
        slow = {"ms": 3000, "path": "/api/Order/place"}
        assert httpx.post(f"http://127.0.0.1:{sim_port}/admin/faults/latency", json=slow).status_code == 200
        command = {
            "type": "PLACE_ORDER",
            "payload": msgspec.to_builtins(place("slow", stop=None, target=None)),
        }
        answers: list[httpx.Response] = []
        sender = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"http://127.0.0.1:{cm_port}/command",
                    json=command,
                    headers={"X-API-Key": KEY},
                    timeout=30,
                )
            )
        )
        sender.start()
        time.sleep(1.0)  # the order reached the exchange, which takes 3 s to answer
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # while stopping
        code, _out, err = finish(proc, 20)
        sender.join(30)
    assert code == 0, err
    clean_exit(err)
    assert re.search(r"already stopping: each service still has its stop timeout .*signal=SIGINT", err), err
    for service in ("connection-manager", "simulator", "bus"):
        assert re.search(rf"service stopped .*service={service}", err), service
    # The order in flight was finished, not abandoned.
    assert len(answers) == 1 and answers[0].json()["ok"] is True, answers


@pytest.mark.slow
def test_a_port_in_use_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = [
            "run-all",
            "--set",
            "simulator.port=0",
            "--set",
            f"simulator.startTime={START}",
            "--set",
            f"services.connectionManager.port={port}",
        ]
        with process(*args, cwd=tmp_path) as proc:
            code, _out, err = finish(proc, 20)
    assert code == 1
    assert err.splitlines()[-1] == (
        f"tsxbot: connection manager cannot listen on 127.0.0.1:{port}: address in use "
        "(set services.connectionManager.port or CONNECTION_MANAGER_PORT)"
    )
    clean_exit(err)
    # Bound before logging in: no hub was ever connected.
    assert "hub connected" not in err
    assert "logged in" not in err
    assert re.search(r"service stopped .*service=simulator", err)


@pytest.mark.slow
def test_refused_credentials_are_one_line_naming_the_setting(tmp_path: Path) -> None:
    sim_port, cm_port = free_port(), free_port()
    sim_args = [
        "sim",
        "--port",
        str(sim_port),
        "--start",
        START,
        "--set",
        "simulator.credentials.apiKey=other",
    ]
    with process(*sim_args, cwd=tmp_path) as sim:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{sim_port}/api/Status/ping", timeout=1)
                break
            time.sleep(0.1)
        with process(*connection_manager(sim_port, cm_port), cwd=tmp_path) as cm:
            code, _out, err = finish(cm, 20)
        sim.send_signal(signal.SIGTERM)
        finish(sim, 20)
    assert code == 1
    last = err.splitlines()[-1]
    assert last.startswith(f"tsxbot: connection manager: http://127.0.0.1:{sim_port} refused the login: "), (
        last
    )
    assert last.endswith("(check simulator.credentials)"), last
    clean_exit(err)


@pytest.mark.slow
def test_an_unreachable_redis_is_one_line_naming_the_url(tmp_path: Path) -> None:
    port = free_port()
    args = [
        "run-all",
        "--redis",
        f"redis://127.0.0.1:{port}/0",
        "--set",
        "bus.startupTimeoutSeconds=1",
        "--set",
        "simulator.port=0",
        "--set",
        f"services.connectionManager.port={free_port()}",
    ]
    with process(*args, cwd=tmp_path) as proc:
        code, _out, err = finish(proc, 20)
    assert code == 1
    last = err.splitlines()[-1]
    assert last.startswith(f"tsxbot: cannot reach redis at redis://127.0.0.1:{port}/0 within 1 s: "), last
    assert last.endswith("(set bus.redisUrl or REDIS_URL; bus.startupTimeoutSeconds)"), last
    assert "service started" not in err  # nothing claimed to have started
    clean_exit(err)


@pytest.mark.slow
def test_the_simulators_port_in_use_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with process("sim", "--port", str(port), "--start", START, cwd=tmp_path) as proc:
            code, _out, err = finish(proc, 20)
    assert code == 1
    assert err.splitlines()[-1] == (
        f"tsxbot: simulator cannot listen on 127.0.0.1:{port}: address in use "
        "(set simulator.port or SIMULATOR_PORT)"
    )
    clean_exit(err)
