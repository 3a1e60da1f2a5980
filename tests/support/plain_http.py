"""A plain blocking HTTP/1.1 client for the fuzz tests that drive a server from Hypothesis: one
keep-alive connection, reopened when the server closes it; each request written in one piece,
the response read by the standard library's parser (``http.client.HTTPResponse``). Real HTTP on
a real socket, each request with a timeout; a request costs about a third of what it costs
through ``httpx.Client`` (0.5 against 1.4 ms to the simulator), so the same number of generated
requests runs in less time."""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

Headers = Mapping[str, str | bytes]
# What a header value may not hold here: NUL, CR and LF (they would end or corrupt the request;
# h11, under httpx, refuses them too).
ILLEGAL_IN_HEADER = re.compile(rb"[\x00\r\n]")


class IllegalHeader(ValueError):
    """A header value HTTP does not allow: not sent."""


@dataclass(frozen=True)
class Reply:
    status_code: int
    path: str  # the request's path, without its query
    content: bytes
    headers: http.client.HTTPMessage

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise AssertionError(f"{self.path}: {self.status_code} {self.text[:500]}")


class PlainClient:
    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        url = urllib.parse.urlsplit(base_url)
        assert url.scheme == "http" and url.hostname is not None, base_url
        self.address = (url.hostname, url.port or 80)
        self.timeout = timeout
        self._socket: socket.socket | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: Headers | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply:
        sent: dict[str, str | bytes] = dict(headers or {})
        if json is not None:
            content = _json_bytes(json)
            sent.setdefault("Content-Type", "application/json")
        if content is None and method in ("POST", "PUT", "PATCH"):
            content = b""
        target = f"{path}?{urllib.parse.urlencode(params)}" if params else path
        head = [
            f"{method} {target} HTTP/1.1".encode("ascii"),
            b"Host: %s:%d" % (self.address[0].encode(), self.address[1]),
        ]
        for name, value in sent.items():
            raw = value if isinstance(value, bytes) else value.encode("latin-1")
            if ILLEGAL_IN_HEADER.search(raw):
                raise IllegalHeader(f"{name}: {raw!r}")
            head.append(name.encode("ascii") + b": " + raw)
        if content is not None:
            head.append(b"Content-Length: %d" % len(content))
        # One write a request (head and body together): a second small write costs a round trip
        # between this thread and a server on another thread of this process.
        data = b"\r\n".join(head) + b"\r\n\r\n" + (content or b"")
        connection = self._connect()
        connection.settimeout(self.timeout if timeout is None else timeout)
        try:
            connection.sendall(data)
            response = http.client.HTTPResponse(connection, method=method)
            response.begin()
            body = response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        return Reply(response.status, path, body, response.headers)

    def _connect(self) -> socket.socket:
        if self._socket is None:
            self._socket = socket.create_connection(self.address, timeout=self.timeout)
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._socket

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> PlainClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()
