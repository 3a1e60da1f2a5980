"""Telegram commands on the whole system (simulator with a pinned clock, connection manager,
aggregator on the in-process bus): /flatten from the allowed chat, confirmed, flattens the
simulator's account; from any other chat it does nothing but get logged and journaled."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from support.alerts_setup import CHAT, STRANGER, alert_overrides, with_alert_secrets
from support.bot_system import System, trading_system
from support.bus_helpers import eventually
from support.chat_servers import ChatServers
from support.sim import MES
from tsxbot.alerts.factory import build_alerts
from tsxbot.alerts.service import AlertService
from tsxbot.journal import make_engine


@pytest.fixture
async def system(tmp_path: Path, servers: ChatServers) -> AsyncIterator[tuple[System, AlertService]]:
    # Alerts at CRITICAL only: the chat then holds the command answers alone.
    overrides = [
        *alert_overrides(tmp_path, "alerts.telegram.minLevel=CRITICAL"),
        f"alerts.telegram.apiUrl={servers.base}",
    ]
    async with trading_system(tmp_path, {}, *overrides) as system:
        config = with_alert_secrets(system.config, servers)
        agg = system.agg
        assert agg is not None and agg.api is not None
        api = agg.api
        alerts = build_alerts(config, system.bus, system.sim.now, lambda: f"http://127.0.0.1:{api.port}")
        assert alerts is not None
        await alerts.start()
        try:
            yield system, alerts
        finally:
            await alerts.stop()


def journal_rows(tmp_path: Path) -> list[dict[str, object]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'journal.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT actor, action, target, ok, params FROM control_actions")
            )
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


async def open_position(system: System) -> None:
    """A person's market buy of 2 MES on the platform (no bot): the account holds a position."""
    await system.sim.login()
    await system.sim.api(
        "Order/place", {"accountId": system.account, "contractId": MES, "type": 2, "side": 0, "size": 2}
    )
    await system.advance(5, step=5)
    await system.until(
        lambda: system.agg is not None and system.agg.exchange_positions.get("MES") == 2, "position"
    )


async def replies(servers: ChatServers, chat: int, count: int) -> list[str]:
    await eventually(lambda: len(servers.telegram.get(chat, [])) >= count, within=10, what=f"{count} replies")
    return servers.telegram[chat]


@pytest.mark.slow
async def test_flatten_from_the_allowed_chat_flattens_the_account(
    system: tuple[System, AlertService], servers: ChatServers, tmp_path: Path
) -> None:
    trading, alerts = system
    await open_position(trading)
    assert await trading.sim_positions()

    # A stranger's /flatten and /confirm: nothing happens but a log line and a journal row.
    first = servers.push_message(STRANGER, "/flatten", username="mallory")
    servers.push_message(STRANGER, "/confirm 123456", username="mallory")
    await eventually(lambda: (servers.get_updates_offsets[-1] or 0) > first + 1, within=10, what="read")
    assert alerts.control is not None
    await eventually(
        lambda: alerts.control is not None and alerts.control.counters.refused_chats == 2, within=5
    )
    await asyncio.sleep(0.5)
    assert STRANGER not in servers.telegram  # no answer at all
    assert await trading.sim_positions()  # still open
    # (REDUCING: a position no bot owns; not HALTED, so no flatten happened)
    assert trading.agg is not None and trading.agg.account.state_name == "REDUCING"

    # The trader: /status, then /flatten, then the code it answers with.
    servers.push_message(CHAT, "/status")
    status = (await replies(servers, CHAT, 1))[0]
    assert status.startswith("trading REDUCING") and "UNATTRIBUTED" in status, status
    servers.push_message(CHAT, "/positions")
    assert "net MES 2 (exchange 2)" in (await replies(servers, CHAT, 2))[1]
    servers.push_message(CHAT, "/flatten risk off")
    ask = (await replies(servers, CHAT, 3))[2]
    code = re.search(r"/confirm (\d+)", ask)
    assert code is not None, ask
    assert await trading.sim_positions()  # not before the confirmation
    servers.push_message(CHAT, f"/confirm {code.group(1)}")
    done = (await replies(servers, CHAT, 4))[3]
    assert done.startswith("flattening"), done
    for _ in range(20):
        await trading.advance(2, step=2)
        if not await trading.sim_positions():
            break
    assert await trading.sim_positions() == []
    assert trading.agg.account.state_name == "HALTED"
    assert "KILL_SWITCH" in trading.agg.account.why()
    assert f"telegram:{CHAT}@trader" in trading.agg.account.why()["KILL_SWITCH"]

    await alerts.journal.writer.flush() if alerts.journal else None
    rows = journal_rows(tmp_path)
    strangers = [r for r in rows if str(r["actor"]).startswith(f"telegram:{STRANGER}")]
    assert {(r["action"], r["ok"]) for r in strangers} == {
        ("TELEGRAM_FLATTEN", False),
        ("TELEGRAM_CONFIRM", False),
    }
    assert all(r["actor"] == f"telegram:{STRANGER}@mallory" for r in strangers)
    ours = [(r["action"], r["ok"]) for r in rows if r["actor"] == f"telegram:{CHAT}@trader"]
    assert ours == [
        ("TELEGRAM_STATUS", True),
        ("TELEGRAM_POSITIONS", True),
        ("TELEGRAM_FLATTEN", True),
        ("TELEGRAM_CONFIRM", True),
    ]


@pytest.mark.slow
async def test_halt_resume_pause_and_a_wrong_code(
    system: tuple[System, AlertService], servers: ChatServers, tmp_path: Path
) -> None:
    trading, _alerts = system
    agg = trading.agg
    assert agg is not None
    servers.push_message(CHAT, "/halt lunch")
    assert "HALTED" in (await replies(servers, CHAT, 1))[0]
    assert agg.account.state_name == "HALTED"
    servers.push_message(CHAT, "/resume")
    assert "ACTIVE" in (await replies(servers, CHAT, 2))[1]
    servers.push_message(CHAT, "/pause nobot")
    assert "unknown bot" in (await replies(servers, CHAT, 3))[2]
    servers.push_message(CHAT, "/flatten")
    await replies(servers, CHAT, 4)
    servers.push_message(CHAT, "/confirm 0000000")
    assert "wrong code" in (await replies(servers, CHAT, 5))[4]
    servers.push_message(CHAT, "/bogus")
    assert "unknown command" in (await replies(servers, CHAT, 6))[5]
    assert agg.account.state_name == "ACTIVE"
