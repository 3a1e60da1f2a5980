"""The control panel in Debian's chromium against ``tsxbot run-all`` on the simulator (pinned
time, free ports): it loads and logs in without a console error; a trader may flatten all (after
the confirmation; nothing is left open at the exchange) but not halt or pause a bot (the
aggregator API's own rule, shown with its reason); an admin blocks a bot's entries at the
aggregator, pauses a bot on its control channel (it says so), and edits its params (an invalid
value shows the config's message and sends nothing; a valid one is accepted by the bot's RELOAD);
the configuration shows with its secrets masked; a request without the session or without the
CSRF token is refused. Screenshot kept under ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from support.browser import keep, launch, logged_in, run_all, take_console_error, wait
from support.cm_harness import place
from support.processes import wait_http

KEY = "control-browser-internal-key-01"
TRADER = "control-browser-trader-key-0123"

pytestmark = pytest.mark.slow


def test_the_control_panel_acts_through_the_aggregator_with_each_role(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with run_all(tmp_path, TSXBOT_API_KEY=KEY, TSXBOT_TRADER_KEY=TRADER) as (ports, system):
        panel = f"http://127.0.0.1:{ports.control_panel}"
        api = f"http://127.0.0.1:{ports.aggregator_api}"

        def open_logged_in(browser: Any, key: str) -> Any:
            page = logged_in(browser, panel, key, errors, height=1500)
            page.wait_for_selector("#live[data-live='true']", timeout=20_000)
            return page

        wait_http(f"{panel}/", system, within=30)
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                trader = open_logged_in(browser, TRADER)
                assert trader.text_content("#who") == "trader"
                trader.wait_for_selector("#services td.ok", timeout=10_000)
                assert trader.locator("#services td.bad").count() == 0
                assert trader.locator("#bots tbody tr").count() == 4  # bot_1..3 and manual (the page's)

                trader.click("#halt")  # an admin's action
                trader.wait_for_selector("#message.error", timeout=10_000)
                assert "needs the admin role (this key is trader)" in (trader.text_content("#message") or "")
                assert (
                    httpx.get(f"{api}/status", headers={"X-API-Key": KEY}).json()["tradingState"] == "ACTIVE"
                )
                take_console_error(trader, errors, "403")  # chromium logs the refusal itself

                # A trader may not pause a bot (an admin's), but is told why.
                trader.wait_for_selector(
                    "#bots button[data-bot='bot_3'][data-command='pause']", timeout=20_000
                )
                trader.click("#bots button[data-bot='bot_3'][data-command='pause']")
                trader.wait_for_selector("#message.error:has-text('needs the admin role')", timeout=10_000)
                take_console_error(trader, errors, "403")

                # Something open to flatten: a bracketed order placed at the exchange (through the
                # connection manager, as the test_console run does).
                cm = httpx.Client(
                    base_url=f"http://127.0.0.1:{ports.connection_manager}", headers={"X-API-Key": KEY}
                )
                buy = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(place("flat1"))}
                assert cm.post("/command", json=buy, timeout=15).json()["ok"] is True
                assert wait(lambda: cm.get("/api/positions").json()["positions"] != [])
                assert cm.get("/api/orders").json()["orders"] != []  # its stop and target

                trader.fill("#reason", "end of drill")
                trader.click("#flatten")
                trader.wait_for_selector("#message.ok", timeout=10_000)
                trader.wait_for_selector("#state[data-state='HALTED']", timeout=10_000)
                events = httpx.get(f"{api}/risk/events", headers={"X-API-Key": KEY}).json()["events"]
                flatten = next(e for e in events if e["kind"] == "FLATTEN")
                assert (
                    flatten["requestedBy"] == "control panel (trader)"
                    and flatten["message"] == "end of drill"
                )

                # Flatten all left nothing open at the exchange.
                assert wait(lambda: cm.get("/api/positions").json()["positions"] == []), cm.get(
                    "/api/positions"
                ).text
                assert wait(lambda: cm.get("/api/orders").json()["orders"] == []), cm.get("/api/orders").text
                cm.close()

                config = trader.text_content("#config") or ""
                assert '"internal_api_key"' in config and KEY not in config and TRADER not in config

                admin = open_logged_in(browser, KEY)
                entries = "#bots button[data-bot='bot_2'][data-kind='entries']"
                admin.click(entries)  # at the aggregator
                admin.wait_for_selector("#bots td.agg-state[data-state='PAUSED']", timeout=10_000)
                bots = httpx.get(f"{api}/bots", headers={"X-API-Key": KEY}).json()["bots"]
                paused = {b["botId"]: b["paused"] for b in bots}
                assert paused == {"bot_1": False, "bot_2": True, "bot_3": False, "manual": False}
                # The bot itself, on its control channel: it says it is paused (no new entries).
                pause = "#bots button[data-bot='bot_1'][data-command='pause']"
                admin.wait_for_selector(pause, timeout=20_000)
                admin.click(pause)
                bot_1 = "#bots tr:has(td:text-is('bot_1')) td.bot-state"
                admin.wait_for_selector(bot_1 + "[data-state='PAUSED']", timeout=20_000)
                assert "paused: no new entries" in (admin.text_content(bot_1) or "")
                assert admin.locator("td.bot-state[data-state='PAUSED']").count() == 1
                # Parameters: an invalid value shows the config's own message and sends nothing; a
                # valid one goes to the bot as RELOAD, which it accepts.
                admin.select_option("#param-bot", "bot_2")
                admin.wait_for_selector("#params input[name='fastPeriod']", timeout=10_000)
                risk = admin.input_value("#params input[name='dollarRiskPerTrade']")
                admin.fill("#params input[name='dollarRiskPerTrade']", "-5")
                admin.click("#params button[type='submit']")
                admin.wait_for_selector("#params-message.error", timeout=10_000)
                refusal = admin.text_content("#params-message") or ""
                assert "strategy.params.dollarRiskPerTrade" in refusal, refusal
                take_console_error(admin, errors, "400")  # chromium logs the refusal itself
                bot_2 = "#bots tr:has(td:text-is('bot_2')) td.bot-state"
                assert "RELOAD" not in (admin.text_content(bot_2) or "")
                admin.fill("#params input[name='dollarRiskPerTrade']", risk)
                admin.fill("#params input[name='fastPeriod']", "8")
                admin.click("#params button[type='submit']")
                admin.wait_for_selector("#params-message.ok", timeout=10_000)
                assert "fastPeriod" in (admin.text_content("#params-message") or "")
                admin.wait_for_selector(bot_2 + ":has-text('RELOAD accepted')", timeout=20_000)
                # The log view, filtered to one component at warning and above, then at info.
                admin.select_option("#log-component", "aggregator")
                admin.wait_for_selector("#logs td:text-is('aggregator started')", timeout=10_000)
                admin.select_option("#log-level", "warning")
                admin.wait_for_selector(
                    "#logs td:text-is('aggregator started')", state="detached", timeout=10_000
                )
                levels = set(admin.locator("#logs td[class^='level-']").all_text_contents())
                assert levels <= {"warning", "error", "critical"}, levels
                shot = tmp_path / "control.png"
                admin.screenshot(path=str(shot), full_page=True)
                errors_while_running = list(errors)

                no_csrf = admin.evaluate(
                    "fetch('/api/aggregator/resume', {method: 'POST'}).then(r => r.status)"
                )
                assert no_csrf == 403
                anonymous = browser.new_context().request
                assert anonymous.get(panel + "/api/overview").status == 401
                assert anonymous.post(panel + "/api/aggregator/resume").status == 401
                assert (
                    httpx.get(f"{api}/status", headers={"X-API-Key": KEY}).json()["tradingState"] == "HALTED"
                )
            finally:
                browser.close()
    keep(shot, "control.png")
    assert errors_while_running == []
    assert shot.stat().st_size > 20_000
