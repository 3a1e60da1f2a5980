import os
import socket

from support.redis_server import RedisServer


def _command(server: RedisServer, *parts: str) -> bytes:
    payload = f"*{len(parts)}\r\n" + "".join(f"${len(p)}\r\n{p}\r\n" for p in parts)
    with socket.create_connection((server.host, server.port), timeout=2) as s:
        s.sendall(payload.encode())
        return s.recv(1024)


def test_fixture_gives_a_real_private_redis(redis: RedisServer) -> None:
    assert _command(redis, "PING") == b"+PONG\r\n"
    assert _command(redis, "SET", "tsxbot:test:fixture", "1") == b"+OK\r\n"
    assert _command(redis, "GET", "tsxbot:test:fixture") == b"$1\r\n1\r\n"
    if not os.environ.get("REDIS_URL"):
        # Started by the fixture: never the machine's shared 6379.
        assert redis.port != 6379
        assert redis.process is not None
        assert redis.process.poll() is None
