"""Running tsxbot commands as real processes: on free ports for every service, the simulated
clock pinned, and never left behind (``running`` kills in ``finally``; the session checks)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from support.redis_server import free_port
from support.sim import START

# Pins the simulated time of any simulator the command starts (tsxbot sim, run-all).
PINNED = ["--set", f"simulator.startTime={START}"]


def tsxbot_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("tsxbot")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tsxbot"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOPSTEP", "TSXBOT", "REDIS"))}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Ports:
    """A free port for every service tsxbot can start (none of the defaults 7400-7800, 3000)."""

    simulator: int
    connection_manager: int
    aggregator_api: int
    aggregator_monitoring: int
    manual_trading: int
    control_panel: int

    @classmethod
    def free(cls) -> Ports:
        """Six different free ports (each is found by binding port 0 and closing it, so two
        asks can be given the same one: asked again until all differ)."""
        ports: list[int] = []
        while len(ports) < 6:
            port = free_port()
            if port not in ports:
                ports.append(port)
        return cls(*ports)

    def overrides(self) -> list[str]:
        """``--set`` options that move every service to its free port."""
        pairs = {
            "simulator.port": self.simulator,
            "services.connectionManager.port": self.connection_manager,
            "services.aggregator.apiPort": self.aggregator_api,
            "services.aggregator.monitoringPort": self.aggregator_monitoring,
            "services.manualTrading.port": self.manual_trading,
            "services.controlPanel.port": self.control_panel,
        }
        return [arg for key, port in pairs.items() for arg in ("--set", f"{key}={port}")]


# The port settings each command binds: a test must move every one off its default (a tsxbot
# already running on this machine must not matter). ``--port`` sets the first.
BOUND_PORTS = {
    "sim": ["simulator.port"],
    "connection-manager": ["services.connectionManager.port"],
    "run-all": [
        "simulator.port",
        "services.connectionManager.port",
        "services.aggregator.apiPort",
        "services.aggregator.monitoringPort",
        "services.manualTrading.port",
        "services.controlPanel.port",
    ],
}


def _check_ports(args: tuple[str, ...]) -> None:
    command = args[0] if args else ""
    given = {a.split("=", 1)[0] for a in args if "=" in a}
    if "--port" in args:
        given.add(BOUND_PORTS.get(command, [""])[0])
    missing = [key for key in BOUND_PORTS.get(command, []) if key not in given]
    if missing:
        raise ValueError(f"tsxbot {command} in a test must move every port off its default: {missing}")


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Starts ``tsxbot args``; prefer ``running``, which never leaves the process behind."""
    _check_ports(args)
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


@contextlib.contextmanager
def running(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``tsxbot args`` as a process, killed on the way out if the test has not stopped it (also
    when the test fails)."""
    process = start(*args, cwd=cwd, env=env)
    try:
        yield process
    finally:
        kill(process)


def kill(process: subprocess.Popen[str]) -> None:
    """Ends ``process`` (SIGTERM, then SIGKILL after 10 s) and reaps it; a no-op once it exited."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@dataclass(frozen=True)
class Child:
    pid: int
    command: str


def tsxbot_children(parent: int | None = None) -> list[Child]:
    """Live (not zombie) tsxbot processes descended from ``parent`` (this process by default).

    Read from ``/proc`` rather than ``ps``: ``ps`` cuts its last column to ``$COLUMNS`` when that
    is set, and a long checkout path then hides the ``tsxbot`` argument (seen in CI)."""
    root = os.getpid() if parent is None else parent
    rows: dict[int, tuple[int, str, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # ended while we looked
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        rows[int(entry.name)] = (int(ppid), state, [a for a in argv if a])
    found: list[Child] = []
    for pid, (_, state, argv) in rows.items():
        if state == "Z" or not _is_tsxbot(argv):
            continue
        ancestor = rows[pid][0]
        while ancestor in rows and ancestor != root:
            ancestor = rows[ancestor][0]
        if ancestor == root and pid != root:
            found.append(Child(pid, " ".join(argv)))
    return found


def check_none_left() -> None:
    """Raises AssertionError naming every tsxbot process still running under this one (after
    killing them): the test session's last check."""
    left = tsxbot_children()
    for child in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
    assert not left, "tsxbot processes left running by the tests (killed now): " + "; ".join(
        f"{c.pid} {c.command}" for c in left
    )


def _is_tsxbot(argv: list[str]) -> bool:
    """``.../bin/tsxbot ...`` (run directly or by its interpreter) or ``python -m tsxbot ...``."""
    return any(Path(arg).name == "tsxbot" for arg in argv[:2]) or argv[1:3] == ["-m", "tsxbot"]


class Output:
    """The merged stdout and stderr of a process, read on a thread so it never blocks: a test
    waits for a line (``wait_for``) and then stops the process (``stop``) with every line kept."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, within: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            if self._process.poll() is not None:
                self._thread.join(2)
                raise AssertionError(f"exited with {self._process.returncode}:\n{self.text}")
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not printed within {within} s:\n{self.text}")

    def stop(self, signal_number: int, within: float = 20.0) -> tuple[int, str]:
        """Sends ``signal_number`` and waits for the exit: the exit code and everything printed."""
        self._process.send_signal(signal_number)
        try:
            self._process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            self._thread.join(5)
            raise AssertionError(f"did not stop within {within} s:\n{self.text}") from None
        self._thread.join(5)
        return self._process.returncode, self.text


def stop(process: subprocess.Popen[str], signal_number: int, within: float = 20.0) -> tuple[int, str]:
    process.send_signal(signal_number)
    try:
        output, _ = process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"did not stop within {within} s:\n{output}") from None
    return process.returncode, output
