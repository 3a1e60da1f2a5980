"""The monitoring dashboard in a real browser (Debian's chromium, headless) against the full system
(``tsxbot run-all``: simulator with its time pinned, connection manager, aggregator, bots) on free
ports: the page loads and logs in without a console error, nothing is fetched from another origin,
live updates arrive (a halt through the aggregator's API shows without a reload), and a request
without the session or without the CSRF token is refused. The screenshot is kept under
``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support.browser import keep, launch, run_all
from support.processes import wait_http

KEY = "dashboard-browser-test-key-0123"
VIEWER = "dashboard-viewer-key-0123456789"

pytestmark = pytest.mark.slow


def test_the_dashboard_logs_in_updates_live_and_refuses_requests_without_session_or_csrf(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    foreign: list[str] = []
    with run_all(tmp_path, TSXBOT_API_KEY=KEY, TSXBOT_VIEWER_KEY=VIEWER) as (ports, system):
        base = f"http://127.0.0.1:{ports.aggregator_monitoring}"
        api = f"http://127.0.0.1:{ports.aggregator_api}"
        wait_http(f"{base}/metrics", system, within=30)
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on(
                    "request",
                    lambda req: (
                        None
                        if req.url.startswith((base, base.replace("http", "ws")))
                        else foreign.append(req.url)
                    ),
                )
                page.goto(base + "/")
                try:
                    page.wait_for_selector("#login-form", state="visible", timeout=20_000)
                except Exception as exc:
                    raise AssertionError(f"no login form; console errors: {errors}") from exc
                assert KEY not in page.content()

                # A wrong key is refused with the server's reason; the viewer key logs in.
                page.fill("#login-key", "not-a-key")
                page.click("#login-form button")
                page.wait_for_selector("#login-error:has-text('unknown key')", timeout=10_000)
                # Chromium logs the refused request itself as a console error: that one is expected.
                assert len(errors) == 1 and "401" in errors[0], errors
                errors.clear()
                page.fill("#login-key", VIEWER)
                page.click("#login-form button")
                page.wait_for_selector("#main", state="visible", timeout=10_000)
                assert page.text_content("#who") == "viewer"
                # (selectors, not wait_for_function: the page's CSP forbids the eval it uses)
                page.wait_for_selector("#live[data-live='true']", timeout=20_000)
                page.wait_for_selector("body[data-updates]", timeout=20_000)
                assert page.text_content("#state") == "ACTIVE"
                page.wait_for_selector("#equity-chart canvas", timeout=10_000)
                assert page.locator("#bots tbody tr").count() >= 1
                cookies = page.context.cookies()
                session = [c for c in cookies if c["name"] == f"tsxbot_session_{ports.aggregator_monitoring}"]
                assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Strict"

                # Live: a halt through the aggregator's API (an admin's key) shows without a reload.
                updates = int(page.get_attribute("body", "data-updates") or 0)
                halted = httpx.post(
                    f"{api}/halt",
                    headers={"X-API-Key": KEY},
                    json={"requestedBy": "browser-test", "reason": "drill"},
                )
                assert halted.status_code == 200, halted.text
                page.wait_for_selector("#state[data-state='HALTED']", timeout=20_000)
                assert "halted by browser-test: drill" in (page.text_content("#why") or "")
                assert int(page.get_attribute("body", "data-updates") or 0) > updates
                page.wait_for_selector("#events li:has-text('HALT')", timeout=10_000)

                shot = tmp_path / "dashboard.png"
                page.screenshot(path=str(shot), full_page=True)
                errors_while_running = list(errors)

                # From the page itself: a state change without the CSRF token is refused (403);
                # without a session at all, refused (401).
                no_csrf = page.evaluate("fetch('/auth/logout', {method: 'POST'}).then(r => r.status)")
                assert no_csrf == 403
                anonymous = browser.new_context().request
                assert anonymous.get(base + "/api/dashboard").status == 401
                assert anonymous.post(base + "/auth/logout").status == 401
                assert anonymous.post(api + "/resume").status == 401
                # The viewer's session may not resume trading through the aggregator either.
                assert httpx.post(f"{api}/resume", headers={"X-API-Key": VIEWER}).status_code == 403
            finally:
                browser.close()
    keep(shot, "dashboard.png")
    assert errors_while_running == []
    assert foreign == []
    assert shot.stat().st_size > 20_000
