"""A strategy bot paused in the control panel stops entering, and enters again once resumed.

The full system in process (``support.bot_system``: the simulator paused at Tue 2026-11-24 07:30
CT with seed 1, the connection manager, the aggregator, the example bots) and the control panel
in front of it, driven in Debian's chromium. Next to the example EMA_CROSS bot ``bot_2`` (MES)
runs ``bot_2b``, the same bot under another id, never paused: on this day both see the 08:33 CT
cross short and the 08:48 cross long (``make run``'s day). An admin clicks *pause* for ``bot_2``;
the clock is moved a minute (one bar) at a time by the simulator's admin API to 08:34: the twin
entered, ``bot_2`` sent the aggregator nothing and nothing of its reached the exchange, and its
status counts the cross it skipped because it was paused. The admin clicks *resume*; by 08:49
``bot_2`` has entered the long cross, filled at the exchange."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from support.bot_system import System, trading_system
from support.browser import launch, logged_in
from support.cm_harness import API_KEY
from tsxbot.config import DEFAULTS_DIR
from tsxbot.config.secrets import Secret
from tsxbot.control_panel import ControlPanel

pytestmark = pytest.mark.slow
START = "2026-11-24T13:30:00Z"  # 07:30 CT
T = TypeVar("T")


def _twin() -> str:
    text = (DEFAULTS_DIR / "bots" / "bot_2.yaml").read_text()
    assert "id: bot_2\n" in text
    return text.replace("id: bot_2\n", "id: bot_2b\n")


class Panel:
    """The control panel in chromium, on one thread of its own (Playwright's sync API may not
    run on the event loop's thread; its objects stay on the thread that made them)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.errors: list[str] = []
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._pw: Any = None
        self._browser: Any = None
        self.page: Any = None

    async def run(self, action: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, action)

    def open(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = launch(self._pw)
        self.page = logged_in(self._browser, self.url, API_KEY, self.errors, height=1500)

    def command(self, bot: str, name: str, state: str) -> None:
        """Clicks ``name`` for ``bot`` and waits until the bot itself reports ``state``."""
        button = f"#bots button[data-bot='{bot}'][data-command='{name}']"
        self.page.wait_for_selector(button, timeout=20_000)
        self.page.click(button)
        self.page.wait_for_selector(
            f"#bots tr:has(td:text-is('{bot}')) td.bot-state[data-state='{state}']", timeout=20_000
        )

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._pw is not None:
            self._pw.stop()

    async def shut(self) -> None:
        await self.run(self.close)
        self._thread.shutdown()


def _entries(system: System, bot: str) -> list[Any]:
    """Every order ``bot`` submitted to the aggregator (refused ones too), in order."""
    assert system.agg is not None
    return [r for r in system.agg.orders.values() if r.bot_id == bot]


async def _exchange_tags(system: System) -> list[str]:
    """The custom tags of every order placed at the simulator today (bracket legs have none)."""
    body = {"accountId": system.account, "startTimestamp": "2026-11-24T00:00:00Z"}
    orders = (await system.sim.api("Order/search", body))["orders"]
    return [str(o.get("customTag") or "") for o in orders]


async def test_a_bot_paused_in_the_panel_sends_no_entry_until_resumed(tmp_path: Path) -> None:
    async with trading_system(
        tmp_path, {"bot_2b": _twin()}, "simulator.seed=1", start=START, keep_examples=True
    ) as system:
        await system.sim.login()
        assert system.agg is not None and system.agg.api is not None and system.cm is not None
        agg_url = f"http://127.0.0.1:{system.agg.api.port}"
        cm_port = system.config.global_config.services.connection_manager.port
        panel = ControlPanel(
            system.config,
            Secret(API_KEY),
            lambda: agg_url,
            lambda: f"http://127.0.0.1:{cm_port}",
            bus=system.bus,
            host="127.0.0.1",
            port=0,
        )
        await panel.start()
        browser = Panel(f"http://127.0.0.1:{panel.port}")
        try:
            await browser.run(browser.open)
            await browser.run(lambda: browser.command("bot_2", "pause", "PAUSED"))
            await system.advance(64 * 60)  # to 08:34 CT: past the 08:33 cross short
            await system.until(lambda: _entries(system, "bot_2b") != [], "the twin's entry", within=20)
            await system.settle()
            assert [(r.side, r.reduce_only) for r in _entries(system, "bot_2b")] == [("SELL", False)]
            assert _entries(system, "bot_2") == []
            tags = await _exchange_tags(system)
            assert any(t.startswith("bot_2b-") for t in tags), tags
            assert not any(t.startswith("bot_2-") for t in tags), tags
            skipped = system.statuses["bot_2"][-1]
            assert skipped.skips.get("PAUSED", 0) >= 1, skipped.skips
            assert any("PAUSED" in s or "paused" in s for s in skipped.recent_skips), skipped.recent_skips

            await browser.run(lambda: browser.command("bot_2", "resume", "RUNNING"))
            await system.advance(15 * 60)  # to 08:49 CT: past the 08:48 cross long
            await system.until(
                lambda: [r.status for r in _entries(system, "bot_2")][:1] == ["FILLED"],
                "bot_2 entered",
                within=20,
            )
            entered = _entries(system, "bot_2")
            assert [(r.side, r.reduce_only, r.status) for r in entered][:1] == [("BUY", False, "FILLED")], [
                r.to_json() for r in entered
            ]
            assert any(t.startswith("bot_2-") for t in await _exchange_tags(system))
            assert browser.errors == []
        finally:
            await browser.shut()
            await panel.stop()
