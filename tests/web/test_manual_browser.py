"""The manual trading page in Debian's chromium against ``tsxbot run-all`` on the simulator
(pinned time, free ports): it loads and logs in without a console error, the chart draws History's
candles, a bracketed position shows with its stop and target, a stop moved in the page moves the
exchange's stop, flatten all (confirmed) leaves nothing open, and a viewer may not move a stop.
Screenshot kept under ``test-artifacts/``."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest

from support.cm_harness import place
from support.processes import PINNED, Ports, clean_env, running, wait_http

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
KEY = "manual-browser-internal-key-012"
TRADER = "manual-browser-trader-key-0123"
VIEWER = "manual-browser-viewer-key-0123"

pytestmark = pytest.mark.slow


def _wait(condition: Callable[[], bool], within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _stops(cm: httpx.Client) -> list[float]:
    orders = cm.get("/api/orders").json()["orders"]
    return [o["stopPrice"] for o in orders if o["symbol"] == "MES" and o.get("stopPrice") is not None]


def test_the_manual_page_moves_a_stop_and_flattens(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("the browser test needs Debian's chromium at /usr/bin/chromium (make chromium)")
    ports = Ports.free()
    args = ["run-all", *ports.overrides(), *PINNED, "--set", f"system.logDir={tmp_path / 'logs'}"]
    env = clean_env(TSXBOT_API_KEY=KEY, TSXBOT_TRADER_KEY=TRADER, TSXBOT_VIEWER_KEY=VIEWER)
    base = f"http://127.0.0.1:{ports.manual_trading}"
    errors: list[str] = []
    with running(*args, cwd=tmp_path, env=env) as system:
        wait_http(f"http://127.0.0.1:{ports.aggregator_api}/health", system, within=90)
        wait_http(f"{base}/", system, within=30)
        cm = httpx.Client(base_url=f"http://127.0.0.1:{ports.connection_manager}", headers={"X-API-Key": KEY})
        buy = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(place("man1", stop=20, target=40))}
        assert cm.post("/command", json=buy, timeout=15).json()["ok"] is True
        assert _wait(lambda: len(_stops(cm)) == 1)
        (stop,) = _stops(cm)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                page = browser.new_page(viewport={"width": 1300, "height": 1100})
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("dialog", lambda dialog: dialog.accept())
                page.goto(base + "/")
                page.wait_for_selector("#login-form", state="visible", timeout=20_000)
                page.fill("#login-key", TRADER)
                page.click("#login-form button")
                page.wait_for_selector("#main", state="visible", timeout=10_000)
                page.select_option("#symbol", "MES")
                page.wait_for_selector("#chart[data-bars]", timeout=30_000)
                assert int(page.get_attribute("#chart", "data-bars") or 0) > 100
                page.wait_for_selector("#positions td:text-is('MES')", timeout=10_000)
                assert page.locator("#orders tbody tr").count() == 2  # the stop and the target

                moved = stop - 1.0  # a long's stop, a point lower
                page.fill("#sltp-stop", str(moved))
                page.click("#sltp button")
                page.wait_for_selector("#message.ok", timeout=15_000)
                assert _wait(lambda: _stops(cm) == [moved]), _stops(cm)
                shot = tmp_path / "manual.png"
                page.screenshot(path=str(shot), full_page=True)

                page.click("#flatten")
                page.wait_for_selector("#message.ok:has-text('flatten all')", timeout=15_000)
                assert _wait(lambda: cm.get("/api/positions").json()["positions"] == [])
                assert _wait(lambda: cm.get("/api/orders").json()["orders"] == [])
                errors_while_running = list(errors)

                viewer = browser.new_context().request
                assert viewer.post(base + "/auth/login", data={"key": VIEWER}).status == 200
                session = viewer.get(base + "/auth/session").json()
                refused = viewer.post(
                    base + "/api/sltp",
                    data={"symbol": "MES", "stopLoss": 1.0},
                    headers={"X-CSRF-Token": session["csrfToken"]},
                )
                assert refused.status == 403
                assert browser.new_context().request.post(base + "/api/flatten").status == 401
            finally:
                browser.close()
                cm.close()
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "manual.png")
    assert errors_while_running == []
