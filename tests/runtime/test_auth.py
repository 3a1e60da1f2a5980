"""The one auth module (``tsxbot.runtime.auth``) on a real aiohttp server: roles by key, browser
sessions (HttpOnly, SameSite=Strict cookie) with a CSRF token on every state-changing request,
keys re-read when the keys file changes or on SIGHUP (a revoked key and its sessions stop at
once), and thousands of generated hostile login/session/CSRF requests: never a 5xx, never let
in, and a good request right after still works."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsxbot.config.secrets import Secret
from tsxbot.runtime.auth import SAFE_METHODS, Auth, Keyring, Role, reload_keys_on_sighup
from tsxbot.runtime.http import HttpServer, json_response

INTERNAL = "internal-key-0123456789"
VIEWER = "viewer-key-0123456789ab"
TRADER = "trader-key-0123456789ab"
ADMIN = "admin-key-0123456789abc"


def required(request: web.Request) -> Role:
    if request.method in SAFE_METHODS:
        return Role.VIEWER
    return Role.TRADER if request.path == "/trade" else Role.ADMIN


class App:
    def __init__(self, keys_file: Path) -> None:
        env = {"TSXBOT_VIEWER_KEY": VIEWER, "TSXBOT_ADMIN_KEY": ADMIN}
        self.auth = Auth(
            Keyring(Secret(INTERNAL), env, keys_file), public=lambda r: r.path == "/health", required=required
        )
        self.actions: list[str] = []
        app = web.Application(middlewares=[self.auth.middleware])
        self.auth.install(app)
        app.router.add_get("/health", self.ok)
        app.router.add_get("/state", self.ok)
        app.router.add_post("/trade", self.act)
        app.router.add_post("/halt", self.act)
        self.server = HttpServer(app, "127.0.0.1", 0, "test app")

    async def ok(self, _request: web.Request) -> web.Response:
        return json_response({"ok": True})

    async def act(self, request: web.Request) -> web.Response:
        self.actions.append(request.path)
        return json_response({"done": request.path})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    keys = tmp_path / "keys"
    keys.write_text(f"# rotated by the operator\nTSXBOT_TRADER_KEY={TRADER}\n")
    served = App(keys)
    await served.server.start()
    try:
        yield served
    finally:
        await served.server.stop()


async def login(http: httpx.AsyncClient, key: str) -> str:
    response = await http.post("/auth/login", json={"key": key})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrfToken"]
    return csrf


async def test_each_key_gives_its_role_and_the_internal_key_is_an_admin(app: App) -> None:
    async with httpx.AsyncClient(base_url=app.url) as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/state")).status_code == 401
        assert (await http.get("/state", headers={"X-API-Key": "nope"})).status_code == 401
        for key, trade, halt in (
            (VIEWER, 403, 403),
            (TRADER, 200, 403),
            (ADMIN, 200, 200),
            (INTERNAL, 200, 200),
        ):
            headers = {"X-API-Key": key}
            assert (await http.get("/state", headers=headers)).status_code == 200
            assert (await http.post("/trade", headers=headers)).status_code == trade, key
            refused = await http.post("/halt", headers=headers)
            assert refused.status_code == halt, key
        assert (
            "needs the admin role (this key is viewer)"
            in (await http.post("/halt", headers={"X-API-Key": VIEWER})).json()["error"]
        )
    assert app.actions == ["/trade", "/trade", "/halt", "/trade", "/halt"]


async def test_a_session_needs_its_csrf_token_for_every_state_changing_request(app: App) -> None:
    async with httpx.AsyncClient(base_url=app.url) as http:
        assert (await http.post("/auth/login", json={"key": "wrong"})).status_code == 401
        response = await http.post("/auth/login", json={"key": TRADER})
        assert response.status_code == 200
        assert response.json()["role"] == "trader"
        cookie = response.headers["set-cookie"]
        assert f"tsxbot_session_{app.server.port}=" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert TRADER not in cookie and TRADER not in response.text
        csrf = response.json()["csrfToken"]

        assert (await http.get("/state")).status_code == 200  # reading needs no token
        assert (await http.post("/trade")).status_code == 403  # no token
        assert (await http.post("/trade", headers={"X-CSRF-Token": csrf[:-1] + "x"})).status_code == 403
        assert (await http.post("/trade", headers={"X-CSRF-Token": csrf})).status_code == 200
        assert (await http.post("/halt", headers={"X-CSRF-Token": csrf})).status_code == 403  # role
        assert (await http.get("/auth/session")).json() == {
            "loggedIn": True,
            "role": "trader",
            "csrfToken": csrf,
        }

        assert (await http.post("/auth/logout")).status_code == 403  # logging out is guarded too
        assert (await http.post("/auth/logout", headers={"X-CSRF-Token": csrf})).status_code == 200
        http.cookies.clear()
        assert (await http.get("/state")).status_code == 401
        assert (await http.get("/auth/session")).json() == {"loggedIn": False}
    async with httpx.AsyncClient(base_url=app.url) as other:  # no session: refused
        assert (await other.post("/trade", headers={"X-CSRF-Token": csrf})).status_code == 401
    assert app.actions == ["/trade"]


async def test_a_key_removed_from_the_keys_file_stops_working_at_once_with_its_sessions(
    app: App, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    async with httpx.AsyncClient(base_url=app.url) as http:
        csrf = await login(http, TRADER)
        assert (await http.post("/trade", headers={"X-CSRF-Token": csrf})).status_code == 200
        rotated = "trader-key-rotated-0123"
        keys.write_text(f"TSXBOT_TRADER_KEY={rotated}\n")
        assert (await http.post("/trade", headers={"X-CSRF-Token": csrf})).status_code == 401
        assert (await http.get("/state")).status_code == 401
        assert (await http.get("/state", headers={"X-API-Key": TRADER})).status_code == 401
        assert (await http.post("/trade", headers={"X-API-Key": rotated})).status_code == 200
        keys.write_text("TSXBOT_VIEWER_KEY=\n")  # the environment's viewer key revoked
        assert (await http.get("/state", headers={"X-API-Key": VIEWER})).status_code == 401
        keys.unlink()  # no file: only the internal key works (fail closed)
        assert (await http.get("/state", headers={"X-API-Key": ADMIN})).status_code == 401
        assert (await http.get("/state", headers={"X-API-Key": INTERNAL})).status_code == 200


async def test_guessing_keys_is_slowed_per_address(app: App) -> None:
    clock = [1000.0]
    app.auth.monotonic = lambda: clock[0]
    async with httpx.AsyncClient(base_url=app.url) as http:
        for _ in range(10):
            assert (await http.post("/auth/login", json={"key": "guess"})).status_code == 401
        waiting = await http.post("/auth/login", json={"key": TRADER})  # even the right key waits
        assert waiting.status_code == 429
        assert "too many refused logins from 127.0.0.1: try again in 60 s" in waiting.json()["error"]
        assert (await http.get("/state", headers={"X-API-Key": TRADER})).status_code == 200  # keys still work
        clock[0] += 60.0
        assert (await http.post("/auth/login", json={"key": TRADER})).status_code == 200
        assert app.auth.failures == {}  # a good login forgets the refusals


async def test_sighup_rereads_the_keys(app: App, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    before = keys.stat()
    reload_keys_on_sighup()
    try:
        async with httpx.AsyncClient(base_url=app.url) as http:
            same_length = "trader-key-ZZZZZZZZZZZZ"
            assert len(same_length) == len(TRADER)
            with keys.open("r+") as handle:  # same inode, same size, same mtime: the stat cannot see it
                handle.write(f"# rotated by the operator\nTSXBOT_TRADER_KEY={same_length}\n")
            os.utime(keys, ns=(before.st_atime_ns, before.st_mtime_ns))
            assert (await http.get("/state", headers={"X-API-Key": TRADER})).status_code == 200
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(100):
                await asyncio.sleep(0.01)
                if (await http.get("/state", headers={"X-API-Key": TRADER})).status_code == 401:
                    break
            assert (await http.get("/state", headers={"X-API-Key": TRADER})).status_code == 401
            assert (await http.get("/state", headers={"X-API-Key": same_length})).status_code == 200
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


# --- fuzz -----------------------------------------------------------------------------------------

texts = st.one_of(st.text(max_size=80), st.sampled_from(["", " ", "\x00", "null", TRADER + "x", "é" * 600]))
login_bodies = st.one_of(
    st.binary(max_size=200),
    texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(
        lambda v: b'{"key": ' + v.encode() + b"}",
        st.sampled_from(["1", "null", "[]", "{}", '"x"', '"' + "a" * 600 + '"', "1e400", '"\\ud800"']),
    ),
    st.just(b'{"key": "' + TRADER.encode() + b'", "extra": 1}'),
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(
    str.strip
)


@st.composite
def hostile(draw: st.DrawFn) -> tuple[str, str, bytes, dict[str, str], dict[str, str]]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    path = draw(
        st.sampled_from(["/auth/login", "/auth/logout", "/auth/session", "/trade", "/halt", "/state"])
    )
    body = draw(login_bodies)
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["X-CSRF-Token"] = draw(header_values)
    if draw(st.booleans()):
        headers["X-API-Key"] = draw(header_values)
    cookies = {}
    if draw(st.booleans()):
        cookies[draw(st.sampled_from(["tsxbot_session_0", "tsxbot_session", "x"]))] = draw(header_values)
    return method, path, body, headers, cookies


def fuzz(url: str, port: int, legit_csrf: str, legit_token: str, tally: dict[str, int]) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:

        @settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(hostile())
        def one(case: tuple[str, str, bytes, dict[str, str], dict[str, str]]) -> None:
            method, path, body, headers, cookies = case
            if cookies and "tsxbot_session_0" in cookies:
                cookies = {f"tsxbot_session_{port}": cookies.pop("tsxbot_session_0")}
            http.cookies.clear()
            for name, value in cookies.items():
                http.cookies.set(name, value)
            response = http.request(method, path, content=body, headers=headers)
            assert response.status_code < 500, (case, response.status_code, response.text)
            tally[str(response.status_code)] = tally.get(str(response.status_code), 0) + 1
            if path in ("/trade", "/halt") and response.status_code == 200:
                # only a real key in the header lets a state change through
                assert headers.get("X-API-Key") in (TRADER, ADMIN, INTERNAL), case

        one()
        # And a good session, with its token, still works.
        http.cookies.clear()
        http.cookies.set(f"tsxbot_session_{port}", legit_token)
        assert http.post("/trade", headers={"X-CSRF-Token": legit_csrf}).status_code == 200


@pytest.mark.slow
async def test_generated_hostile_login_session_and_csrf_requests_never_get_in_or_a_5xx(app: App) -> None:
    async with httpx.AsyncClient(base_url=app.url) as http:
        csrf = await login(http, TRADER)
        token = http.cookies[f"tsxbot_session_{app.server.port}"]
    tally: dict[str, int] = {}
    await asyncio.wait_for(asyncio.to_thread(fuzz, app.url, app.server.port, csrf, token, tally), timeout=240)
    assert tally.get("401", 0) > 100 and tally.get("400", 0) > 20, tally
    assert app.actions[-1] == "/trade"
    assert all(path in ("/trade", "/halt") for path in app.actions)
