"""kill -9 of run-all while the pages are in use: started again on the same ports, the control
panel, the dashboard and the manual trading page answer again, a session from before the kill is
refused (sessions live in memory: nobody is logged in by a crash), and logging in again works."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from support.processes import PINNED, Ports, clean_env, running, wait_http

KEY = "pages-kill-test-internal-key-01"

pytestmark = pytest.mark.slow


def test_after_kill_9_the_pages_come_back_and_old_sessions_are_refused(tmp_path: Path) -> None:
    ports = Ports.free()
    args = ["run-all", *ports.overrides(), *PINNED, "--set", f"system.logDir={tmp_path / 'logs'}"]
    env = clean_env(TSXBOT_API_KEY=KEY)
    panel = f"http://127.0.0.1:{ports.control_panel}"
    dashboard = f"http://127.0.0.1:{ports.aggregator_monitoring}"
    with running(*args, cwd=tmp_path, env=env) as first:
        wait_http(f"{panel}/", first, within=90)
        wait_http(f"{dashboard}/metrics", first, within=30)
        with httpx.Client(base_url=panel, timeout=10) as browser:
            csrf = browser.post("/auth/login", json={"key": KEY}).json()["csrfToken"]
            assert browser.get("/api/overview").status_code == 200
            old_cookies = dict(browser.cookies)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    with running(*args, cwd=tmp_path, env=env) as second:
        wait_http(f"{panel}/", second, within=90)
        wait_http(f"{dashboard}/metrics", second, within=30)
        with httpx.Client(base_url=panel, timeout=10, cookies=old_cookies) as browser:
            assert browser.get("/api/overview").status_code == 401
            stale = browser.post("/api/aggregator/halt", headers={"X-CSRF-Token": csrf})
            assert stale.status_code == 401
            assert browser.post("/auth/login", json={"key": KEY}).status_code == 200
            overview = browser.get("/api/overview").json()
            assert overview["tradingState"] == "ACTIVE"
            assert [s["ok"] for s in overview["services"]] == [True, True, True]
        with httpx.Client(base_url=dashboard, timeout=10, headers={"X-API-Key": KEY}) as api:
            assert api.get("/api/dashboard").json()["tradingState"] == "ACTIVE"
        manual = f"http://127.0.0.1:{ports.manual_trading}"
        wait_http(f"{manual}/", second, within=30)
        with httpx.Client(base_url=manual, timeout=20, headers={"X-API-Key": KEY}) as api:
            assert api.get("/api/state").json()["tradingState"] == "ACTIVE"
            assert len(api.get("/api/bars", params={"symbol": "MES"}).json()["bars"]) > 100
