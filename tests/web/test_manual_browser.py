"""The manual trading page in Debian's chromium against ``tsxbot run-all`` on the simulator
(pinned time, free ports): it loads and logs in without a console error, the chart draws History's
candles, a bracketed position shows with its stop and target, a stop moved in the page moves the
exchange's stop, flatten all (confirmed) leaves nothing open, and a viewer may not move a stop.
Screenshot kept under ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from support.browser import keep, launch, logged_in, run_all, wait
from support.cm_harness import place
from support.processes import wait_http

KEY = "manual-browser-internal-key-012"
TRADER = "manual-browser-trader-key-0123"
VIEWER = "manual-browser-viewer-key-0123"

pytestmark = pytest.mark.slow


def _stops(cm: httpx.Client) -> list[float]:
    orders = cm.get("/api/orders").json()["orders"]
    return [o["stopPrice"] for o in orders if o["symbol"] == "MES" and o.get("stopPrice") is not None]


def _ticket_fills_refuses_closes_and_cancels(page: Any, cm: httpx.Client, shot: Path) -> None:
    """The ticket's preview (8 ticks of MES at $1.25 for 1 contract: $10 risk, target 16: R:R 2),
    a market order that fills and shows in positions as the manual bot's, a refusal with its
    typed reason, Close, then a working limit order cancelled."""
    page.fill("#t-qty", "1")
    page.fill("#t-stop", "8")
    page.fill("#t-target", "16")
    page.select_option("#t-unit", "ticks")
    page.wait_for_selector("#t-preview[data-risk='10']", timeout=10_000)
    assert "R:R 2" in (page.text_content("#t-preview") or "")
    page.click("#t-send")
    page.wait_for_selector("#message.ok:has-text('order ')", timeout=15_000)
    assert wait(
        lambda: (
            [(p["symbol"], p["netQuantity"]) for p in cm.get("/api/positions").json()["positions"]]
            == [("MES", 1)]
        )
    )
    page.wait_for_selector("#positions button[data-action='close']", timeout=10_000)
    page.wait_for_selector("#chart[data-lines*='avg long 1']", timeout=10_000)
    page.screenshot(path=str(shot), full_page=True)  # the ticket, the manual position and its lines
    # More than the account's maxOrderSize (5): the aggregator refuses, and the page says why.
    page.fill("#t-qty", "50")
    page.click("#t-send")
    page.wait_for_selector("#message.error:has-text('MAX_ORDER_SIZE')", timeout=15_000)
    assert [p["netQuantity"] for p in cm.get("/api/positions").json()["positions"]] == [1]
    page.click("#positions button[data-action='close']")
    page.wait_for_selector("#message.ok:has-text('close')", timeout=15_000)
    assert wait(lambda: cm.get("/api/positions").json()["positions"] == [])
    assert wait(lambda: cm.get("/api/orders").json()["orders"] == [])  # its bracket went with it
    # A limit order far from the market works; Cancel takes it off the exchange.
    page.fill("#t-qty", "1")
    page.select_option("#t-type", "LIMIT")
    page.fill("#t-price", "4000")
    page.click("#t-send")
    page.wait_for_selector("#message.ok:has-text('order ')", timeout=15_000)
    page.wait_for_selector("#orders button[data-action='cancel']", timeout=10_000)
    assert any(o.get("limitPrice") == 4000 for o in cm.get("/api/orders").json()["orders"])
    # On the chart: the entry is labelled as the entry it is (not "target"); its bracket legs
    # wait at the exchange without a price (ticks from the fill), so they draw no line yet.
    page.wait_for_selector("#chart[data-lines*='limit buy 1']", timeout=10_000)
    labels = (page.get_attribute("#chart", "data-lines") or "").split("|")
    assert labels == ["limit buy 1"], labels
    page.click("#orders button[data-action='cancel']")
    page.wait_for_selector("#message.ok:has-text('cancel')", timeout=15_000)
    assert wait(lambda: cm.get("/api/orders").json()["orders"] == [])
    page.select_option("#t-type", "MARKET")


def _a_bots_stop_moved_and_position_partly_closed(
    page: Any, cm: httpx.Client, prompts: list[str], stop: float
) -> None:
    """bot_2's stop, moved from its row (through the aggregator, as bot_2's), and one of its two
    contracts closed from its position's row (on its behalf): its stop and target cut to 1."""
    prompts.append(str(stop - 2.0))
    page.click("#orders tr:has(td:text-is('bot_2')):has(td:text-is('STOP')) button[data-action='modify']")
    page.wait_for_selector("#message.ok:has-text('as bot_2')", timeout=15_000)
    assert wait(lambda: _stops(cm) == [stop - 2.0]), _stops(cm)
    prompts.append("1")
    page.click("#positions tr:has(td:text-is('bot_2')) button[data-action='partial']")
    page.wait_for_selector("#message.ok:has-text('partial')", timeout=15_000)
    assert wait(lambda: [p["netQuantity"] for p in cm.get("/api/positions").json()["positions"]] == [1])
    assert wait(lambda: sorted(o["quantity"] for o in cm.get("/api/orders").json()["orders"]) == [1, 1])
    page.wait_for_selector("#positions tr:has(td:text-is('bot_2')) td:text-is('1')", timeout=10_000)
    page.wait_for_selector("#chart[data-lines*='avg long 1']", timeout=10_000)


def _blocked_in_the_panel_stops_entering(browser: Any, panel: str, page: Any) -> None:
    """An admin blocks the manual bot's entries in the control panel; the next entry from the
    ticket is refused BOT_PAUSED."""
    admin = logged_in(browser, panel, KEY, [])
    block = "#bots button[data-bot='manual'][data-kind='entries']"
    admin.wait_for_selector(block, timeout=20_000)
    admin.click(block)
    admin.wait_for_selector("#bots td.agg-state[data-state='PAUSED']", timeout=10_000)
    admin.close()
    page.click("#t-send")
    page.wait_for_selector("#message.error:has-text('BOT_PAUSED')", timeout=15_000)


def test_the_manual_page_moves_a_stop_and_flattens(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    keys = {"TSXBOT_API_KEY": KEY, "TSXBOT_TRADER_KEY": TRADER, "TSXBOT_VIEWER_KEY": VIEWER}
    with run_all(tmp_path, **keys) as (ports, system):
        base = f"http://127.0.0.1:{ports.manual_trading}"
        wait_http(f"{base}/", system, within=30)
        cm = httpx.Client(base_url=f"http://127.0.0.1:{ports.connection_manager}", headers={"X-API-Key": KEY})
        # bot_2's position (the tag is bot_2's: the aggregator attributes it to that bot).
        bought = place("man1", quantity=2, stop=20, target=40, bot="bot_2")
        buy = {"type": "PLACE_ORDER", "payload": msgspec.to_builtins(bought)}
        assert cm.post("/command", json=buy, timeout=15).json()["ok"] is True
        assert wait(lambda: len(_stops(cm)) == 1)
        (stop,) = _stops(cm)
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                prompts: list[str] = []
                page = logged_in(browser, base, TRADER, errors, prompts=prompts)
                page.select_option("#symbol", "MES")
                page.wait_for_selector("#chart[data-bars]", timeout=30_000)
                assert int(page.get_attribute("#chart", "data-bars") or 0) > 100
                page.wait_for_selector("#positions td:text-is('MES')", timeout=10_000)
                assert page.locator("#orders tbody tr").count() == 2  # the stop and the target
                page.wait_for_selector("#chart[data-lines*='stop']", timeout=10_000)
                labels = sorted((page.get_attribute("#chart", "data-lines") or "").split("|"))
                assert labels == ["avg long 2", "stop", "target"], labels
                _a_bots_stop_moved_and_position_partly_closed(page, cm, prompts, stop)

                moved = stop - 1.0  # a long's stop, a point lower
                page.fill("#sltp-stop", str(moved))
                page.click("#sltp button")
                page.wait_for_selector("#message.ok", timeout=15_000)
                assert wait(lambda: _stops(cm) == [moved]), _stops(cm)
                shot = tmp_path / "manual.png"
                page.screenshot(path=str(shot), full_page=True)

                page.click("#flatten")
                page.wait_for_selector("#message.ok:has-text('flatten all')", timeout=15_000)
                assert wait(lambda: cm.get("/api/positions").json()["positions"] == [])
                assert wait(lambda: cm.get("/api/orders").json()["orders"] == [])
                api = f"http://127.0.0.1:{ports.aggregator_api}"
                resumed = httpx.post(
                    f"{api}/resume",
                    json={"requestedBy": "test", "reason": "drill over"},
                    headers={"X-API-Key": KEY},
                )
                assert resumed.status_code == 200, resumed.text
                page.wait_for_selector("#state[data-state='ACTIVE']", timeout=10_000)
                _ticket_fills_refuses_closes_and_cancels(page, cm, shot)
                _blocked_in_the_panel_stops_entering(browser, f"http://127.0.0.1:{ports.control_panel}", page)
                # Chromium logs each refused request (422) itself: those are the refusals asked for.
                errors[:] = [e for e in errors if "status of 422" not in e]
                errors_while_running = list(errors)
                # From the logged-in page itself: an order without the CSRF token is refused.
                no_csrf = page.evaluate(
                    "fetch('/api/order', {method: 'POST', body: '{}'}).then(r => r.status)"
                )
                assert no_csrf == 403

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
    keep(shot, "manual.png")
    assert errors_while_running == []
