"""A real PostgreSQL server for tests: Debian's binaries (``initdb`` and ``postgres`` from
``/usr/lib/postgresql/*/bin``, or on PATH; ``make postgres`` installs them), a new cluster in a
temporary directory, listening on 127.0.0.1 on a free port (never the machine's 5432). Run as
root, the server runs as the ``postgres`` system user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.redis_server import _server_env, free_port

USER = "tsxbot"


def _bindir() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    if on_path is not None:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    raise RuntimeError(
        "PostgreSQL is not installed (no initdb and postgres in /usr/lib/postgresql/*/bin or on PATH):"
        " run `make postgres` (apt-get install postgresql)"
    )


@dataclass
class PostgresServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database on the server; its SQLAlchemy URL."""
        import psycopg

        name = f"journal_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host=self.host, port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _ready(host: str, port: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(host=host, port=port, user=USER, dbname="postgres", connect_timeout=1):
            return True
    except psycopg.OperationalError:
        return False


def _run_as() -> dict[str, int]:
    """As root: the ``postgres`` system user's uid and gid (for subprocess ``user``/``group``)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@contextlib.contextmanager
def postgres_server(timeout: float = 30.0) -> Iterator[PostgresServer]:
    bindir = _bindir()
    run_as = _run_as()
    tmp = Path(tempfile.mkdtemp(prefix="tsxbot-postgres-"))
    if run_as:
        os.chown(tmp, run_as["user"], run_as["group"])
    data, log = tmp / "data", tmp / "postgres.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            check=True, capture_output=True, env=_server_env(), cwd=tmp, **run_as,
        )  # fmt: skip
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                 "-k", str(tmp), "-c", "fsync=off", "-c", "full_page_writes=off"],
                stdout=out, stderr=subprocess.STDOUT, env=_server_env(), cwd=tmp, **run_as,
            )  # fmt: skip
        server = PostgresServer("127.0.0.1", port, process, log)
        deadline = time.monotonic() + timeout
        while not _ready(server.host, port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres on 127.0.0.1:{port} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
