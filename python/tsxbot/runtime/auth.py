"""Who may do what on tsxbot's HTTP APIs and pages: three roles, each with its own key, and
browser sessions started with a key.

- Roles: ``viewer`` (read), ``trader`` (orders, close, flatten), ``admin`` (halt, resume, bots,
  parameters, accounts); a higher role may do what a lower one may.
- Keys: ``TSXBOT_VIEWER_KEY``, ``TSXBOT_TRADER_KEY``, ``TSXBOT_ADMIN_KEY`` from the environment,
  and the internal API key (``TSXBOT_API_KEY`` or ``.tsxbot/internal-api-key``) as admin. The file
  named by ``TSXBOT_KEYS_FILE`` (lines ``TSXBOT_TRADER_KEY=...``) overrides the environment's and
  is re-read when it changes (checked at every request) or on SIGHUP: a key removed from it (or
  set empty) stops working at once, and so does every session started with it.
- Programs present a key in ``X-API-Key``: no session, no CSRF token (a browser cannot send that
  header to another site without CORS, which no tsxbot server allows).
- Browsers log in (``POST /auth/login`` with ``{"key": ...}``; after 10 refused logins from one
  address in a minute, that address waits: 429) and get a session cookie (HttpOnly,
  SameSite=Strict, one per port) and a CSRF token that every state-changing request must send in
  ``X-CSRF-Token``; ``GET /auth/session`` gives the token back to a page that was reloaded (or
  ``loggedIn: false``). No key or token is ever written into a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import hmac
import os
import secrets
import signal
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from aiohttp import web

from tsxbot.config.secrets import Secret
from tsxbot.log import get_logger
from tsxbot.runtime.http import BAD_BODY, decode_body, error_response, json_response

log = get_logger("tsxbot.runtime.auth")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_SECONDS = 12 * 3600.0
MAX_SESSIONS = 1000
MAX_KEY_CHARS = 512
KEYS_FILE_ENV = "TSXBOT_KEYS_FILE"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/auth/login"
LOGOUT_PATH = "/auth/logout"
SESSION_PATH = "/auth/session"
# Logins refused from one address within the window before it must wait (guessing keys).
LOGIN_FAILURES = 10
LOGIN_WINDOW_SECONDS = 60.0


class Role(enum.IntEnum):
    VIEWER = 1
    TRADER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_KEY = web.RequestKey("role", Role)  # the role of the request's key or session
ROLE_ENV = {
    Role.VIEWER: "TSXBOT_VIEWER_KEY",
    Role.TRADER: "TSXBOT_TRADER_KEY",
    Role.ADMIN: "TSXBOT_ADMIN_KEY",
}


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def parse_keys_file(text: str) -> dict[str, str]:
    """``NAME=value`` lines (``#`` comments, blank lines, optional quotes and ``export``)."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name] = value
    return found


@dataclass(frozen=True)
class Grant:
    role: Role
    key_id: bytes  # sha256 of the key: what a session remembers, never the key itself


class Keyring:
    """The keys in force. ``grant(key)`` is the role a key gives (None: no such key)."""

    def __init__(
        self, internal: Secret | None, env: Mapping[str, str] | None = None, keys_file: Path | None = None
    ) -> None:
        environment = os.environ if env is None else env
        self.internal = internal
        self.env = {name: environment.get(name, "") for name in ROLE_ENV.values()}
        file_name = environment.get(KEYS_FILE_ENV)
        self.keys_file = keys_file if keys_file is not None else (Path(file_name) if file_name else None)
        self._file_stamp: tuple[int, int, int] | None = None
        self._keys: list[tuple[bytes, Role]] = []
        self.reload()
        _KEYRINGS.add(self)

    def _stamp(self) -> tuple[int, int, int] | None:
        if self.keys_file is None:
            return None
        try:
            st = self.keys_file.stat()
        except OSError:
            return (0, 0, 0)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self) -> None:
        """Reads the keys again (the keys file, over the environment's)."""
        values = dict(self.env)
        self._file_stamp = self._stamp()
        if self.keys_file is not None:
            try:
                from_file = parse_keys_file(self.keys_file.read_text())
            except OSError as exc:
                # A missing or unreadable keys file grants nothing beyond the internal key: fail closed.
                log.warning("keys file unreadable: only the internal API key works", error=str(exc))
                values = dict.fromkeys(values, "")
            else:
                values.update({k: v for k, v in from_file.items() if k in values})
        keys = [(_digest(v), role) for role, name in ROLE_ENV.items() if (v := values.get(name, ""))]
        if self.internal:
            keys.append((_digest(self.internal.reveal()), Role.ADMIN))
        self._keys = keys
        log.info("API keys loaded", roles=sorted({r.label for _, r in keys}))

    def _refresh(self) -> None:
        if self.keys_file is not None and self._stamp() != self._file_stamp:
            self.reload()

    def grant(self, key: str) -> Grant | None:
        self._refresh()
        if not key or len(key) > MAX_KEY_CHARS:
            return None
        presented = _digest(key)
        best: Grant | None = None
        for key_id, role in self._keys:  # every key compared, in constant time
            if hmac.compare_digest(key_id, presented) and (best is None or role > best.role):
                best = Grant(role, key_id)
        return best

    def still_valid(self, grant: Grant) -> bool:
        self._refresh()
        return any(hmac.compare_digest(k, grant.key_id) and r == grant.role for k, r in self._keys)


_KEYRINGS: weakref.WeakSet[Keyring] = weakref.WeakSet()


def reload_all_keys() -> None:
    for keyring in list(_KEYRINGS):
        keyring.reload()


def reload_keys_on_sighup() -> None:
    """SIGHUP re-reads every keyring's keys (idempotent; a no-op off the main thread)."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, reload_all_keys)


@dataclass
class Session:
    grant: Grant
    csrf: str
    expires: float


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    key: str


def required_role_by_method(request: web.Request) -> Role:
    """The default rule: reading needs a viewer, anything else an admin."""
    return Role.VIEWER if request.method in SAFE_METHODS else Role.ADMIN


@dataclass
class Auth:
    """The middleware and login routes of one server. ``public(request)``: served to anyone
    (health, static files, the login itself); ``required(request)``: the role a request needs;
    ``query_key_paths``: where a key may come as ``?apiKey=`` (WebSocket clients that cannot set
    headers)."""

    keyring: Keyring
    public: Callable[[web.Request], bool] = lambda _r: False
    required: Callable[[web.Request], Role] = required_role_by_method
    query_key_paths: frozenset[str] = frozenset()
    session_seconds: float = SESSION_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    sessions: dict[str, Session] = field(default_factory=dict)
    # Refused logins by remote address (monotonic times, newest last).
    failures: dict[str, list[float]] = field(default_factory=dict)

    def install(self, app: web.Application) -> None:
        """Adds the login routes; the middleware goes first in the application's list."""
        app.router.add_post(LOGIN_PATH, self.login)
        app.router.add_post(LOGOUT_PATH, self.logout)
        app.router.add_get(SESSION_PATH, self.session)

    @staticmethod
    def cookie_name(request: web.Request) -> str:
        """One cookie per port: cookies ignore ports, and each service keeps its own sessions."""
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        port = sock[1] if isinstance(sock, tuple) and len(sock) >= 2 else 0
        return f"tsxbot_session_{port}"

    def _session(self, request: web.Request) -> tuple[str, Session] | None:
        token = request.cookies.get(self.cookie_name(request))
        if not token:
            return None
        found = self.sessions.get(token)
        if found is None:
            return None
        if found.expires <= self.monotonic() or not self.keyring.still_valid(found.grant):
            del self.sessions[token]  # expired, or its key was revoked
            return None
        return token, found

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in (LOGIN_PATH, SESSION_PATH) or self.public(request):
            return await handler(request)
        presented = request.headers.get("X-API-Key")
        if presented is None and request.path in self.query_key_paths:
            presented = request.query.get("apiKey")
        if presented is not None:
            grant = self.keyring.grant(presented)
            if grant is None:
                return error_response(401, "missing or invalid X-API-Key")
        else:
            found = self._session(request)
            if found is None:
                return error_response(401, "log in first (no session), or send X-API-Key")
            grant = found[1].grant
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), found[1].csrf.encode()):
                    return error_response(403, f"missing or wrong {CSRF_HEADER}")
            if request.headers.get("Upgrade", "").lower() == "websocket" and not _same_origin(request):
                return error_response(403, "WebSocket from another origin")
        needed = Role.VIEWER if request.path == LOGOUT_PATH else self.required(request)
        if grant.role < needed:
            return error_response(403, f"needs the {needed.label} role (this key is {grant.role.label})")
        request[ROLE_KEY] = grant.role
        return await handler(request)

    async def login(self, request: web.Request) -> web.Response:
        try:
            raw = await request.read()
            body = decode_body(raw, LoginRequest)
        except web.HTTPException as exc:
            return error_response(exc.status, f"invalid request body: {exc.reason}")
        except BAD_BODY as exc:
            return error_response(400, f'send {{"key": "..."}}: {exc}')
        remote = request.remote or "?"
        now = self.monotonic()
        recent = [t for t in self.failures.get(remote, []) if now - t < LOGIN_WINDOW_SECONDS]
        if len(recent) >= LOGIN_FAILURES:
            wait = LOGIN_WINDOW_SECONDS - (now - recent[0])
            return error_response(429, f"too many refused logins from {remote}: try again in {wait:.0f} s")
        grant = self.keyring.grant(body.key)
        if grant is None:
            self.failures[remote] = [*recent, now]
            if len(self.failures) > MAX_SESSIONS:  # bounded: forget the oldest address
                del self.failures[next(iter(self.failures))]
            log.warning("login refused", remote=remote)
            return error_response(401, "unknown key")
        self.failures.pop(remote, None)
        self._prune()
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.sessions[token] = Session(grant, csrf, self.monotonic() + self.session_seconds)
        log.info("logged in", role=grant.role.label, remote=request.remote)
        response = json_response({"role": grant.role.label, "csrfToken": csrf})
        response.set_cookie(
            self.cookie_name(request),
            token,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=int(self.session_seconds),
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        # Behind the middleware (session and CSRF checked): ends this session.
        found = self._session(request)
        if found is not None:
            self.sessions.pop(found[0], None)
        response = json_response({"loggedOut": True})
        response.del_cookie(self.cookie_name(request), path="/")
        return response

    async def session(self, request: web.Request) -> web.Response:
        # 200 either way: a page asking whether it is logged in is not an error (the browser would
        # log a 401 as one).
        found = self._session(request)
        if found is None:
            return json_response({"loggedIn": False})
        return json_response(
            {"loggedIn": True, "role": found[1].grant.role.label, "csrfToken": found[1].csrf}
        )

    def _prune(self) -> None:
        now = self.monotonic()
        for token in [t for t, s in self.sessions.items() if s.expires <= now]:
            del self.sessions[token]
        while len(self.sessions) >= MAX_SESSIONS:  # the oldest go first
            del self.sessions[next(iter(self.sessions))]


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser
    return origin.removeprefix("http://").removeprefix("https://") == request.host
