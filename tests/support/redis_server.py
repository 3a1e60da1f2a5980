"""A real redis-server for tests: ``REDIS_URL`` when set, else one started on a free port in a
temporary directory (never the machine's shared 6379)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    url: str
    host: str
    port: int
    process: subprocess.Popen[bytes] | None  # None when REDIS_URL points at an outside server

    def stop(self) -> None:
        """Stops the server (for restart tests); only for servers this module started."""
        if self.process is None:
            raise RuntimeError("cannot stop a Redis given by REDIS_URL")
        self.process.terminate()
        self.process.wait(timeout=10)

    def restart(self) -> None:
        if self.process is None:
            raise RuntimeError("cannot restart a Redis given by REDIS_URL")
        if self.process.poll() is None:
            self.stop()
        self.process = subprocess.Popen(
            self.process.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_server_env()
        )
        _wait_ready(self.host, self.port, self.process)

    restart_stopped = restart  # after ``stop()``: starts it again


def _server_env() -> dict[str, str]:
    """The environment without libfaketime (tests/test_faked_clock.py fakes the clock of the tests
    and of the tsxbot processes they start): redis-server does not run under it."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


def _wait_ready(host: str, port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with status {process.returncode} before answering PING")
        if _ping(host, port):
            return
        time.sleep(0.02)
    raise RuntimeError(f"redis-server on {host}:{port} did not answer PING within {timeout} s")


@contextlib.contextmanager
def redis_server(*, appendonly: bool = False, private: bool = False) -> Iterator[RedisServer]:
    """``appendonly``: data survives ``restart()`` (AOF, fsync on every write). ``private``: always
    start a server, even when REDIS_URL is set (for tests that stop and restart it)."""
    url = None if private else os.environ.get("REDIS_URL")
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        yield RedisServer(url, parsed.hostname or "127.0.0.1", parsed.port or 6379, None)
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL"
        )
    with tempfile.TemporaryDirectory(prefix="tsxbot-redis-") as tmp:
        port = free_port()
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if appendonly else "no",
            "--appendfsync",
            "always",
            "--dir",
            tmp,
            "--logfile",
            str(Path(tmp) / "redis.log"),
            "--daemonize",
            "no",
        ]
        process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_server_env()
        )
        server = RedisServer(f"redis://127.0.0.1:{port}/0", "127.0.0.1", port, process)
        try:
            _wait_ready("127.0.0.1", port, process)
            yield server
        finally:
            if server.process is not None and server.process.poll() is None:
                server.process.terminate()
                try:
                    server.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.process.kill()
