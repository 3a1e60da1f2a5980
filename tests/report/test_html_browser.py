"""The HTML report opens in a real browser (Debian's chromium, headless, offline): no console
errors, the charts drawn, and a screenshot kept under ``test-artifacts/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support.journal_samples import make_journal
from tsxbot.cli import main

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_the_html_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("the browser test needs Debian's chromium at /usr/bin/chromium (make chromium)")
    page_file = tmp_path / "report.html"
    assert main(["report", "--journal", make_journal(tmp_path / "j.db"), "--html", str(page_file)]) == 0
    text = page_file.read_text()
    assert "<script src=" not in text  # plotly.js is inlined, nothing is fetched

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.route("http*://**", lambda route: route.abort())  # offline
            page.goto(page_file.as_uri())
            page.wait_for_selector(".main-svg", timeout=20_000)
            svgs = page.locator(".main-svg").count()
            bars = page.locator(".barlayer .point").count()
            lines = page.locator(".scatterlayer .trace").count()
            trade_rows = page.locator("#trades tbody tr").count()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")
    assert errors == []
    assert [u for u in requests if not u.startswith("file:")] == []
    assert svgs >= 1
    assert bars >= 3  # the daily P&L bars (3 days) and the R histogram
    assert lines >= 2  # equity and drawdown
    assert trade_rows == 4
    assert shot.stat().st_size > 10_000
