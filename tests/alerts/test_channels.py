"""Every kind of event reaches every channel; a burst is one message; a dead endpoint blocks
nothing. A real aggregator (its API), the in-process bus and the local chat services' server."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.alerts_rig import BEFORE_CLOSE, Rig, fill, rig
from support.bus_helpers import eventually
from support.chat_servers import ChatServers
from tsxbot.alerts import EventKind
from tsxbot.config.secrets import Secret
from tsxbot.messages import (
    BotState,
    BotStatus,
    ControlAction,
    Envelope,
    Metrics,
    RejectionStage,
    RiskReason,
    RiskRejection,
    channels,
)

CHANNELS = ("telegram", "discord", "slack", "webhook")


@pytest.fixture
async def system(tmp_path: Path, servers: ChatServers) -> AsyncIterator[Rig]:
    async with rig(tmp_path, servers, "alerts.connectionStaleSeconds=0.5") as r:
        yield r


def received(servers: ChatServers, channel: str, needle: str) -> bool:
    return any(needle in text for text in servers.texts(channel))


MARKS: dict[EventKind, str] = {
    EventKind.FILL: "filled BUY 1 MES @ 5000.25 for bot_2",
    EventKind.TRADE_CLOSED: "trade closed MES for bot_2: P&L +12.50",
    EventKind.RISK_REJECTION: "risk refused order o-7 of bot_1: MAX_CONTRACTS_BOT",
    EventKind.BOT_ERROR: "bot bot_1 (PDH_PDL on MGC) is in ERROR",
    EventKind.SERVICE_RECOVERED: "bot bot_1 left ERROR",
    EventKind.CONNECTION_LOST: "connection to TopStepX lost",
    EventKind.CONNECTION_RESTORED: "connection to TopStepX restored",
    EventKind.TRADING_STATE: "trading HALTED (was ACTIVE)",
    EventKind.CIRCUIT_BREAKER: "circuit breaker tripped",
    EventKind.DAILY_SUMMARY: "daily summary 2026-11-24",
    EventKind.SERVICE_ERROR: "the aggregator is not answering",
}


async def test_each_event_kind_reaches_each_channel(system: Rig, servers: ChatServers) -> None:
    r = system
    assert set(MARKS) == set(EventKind)

    async def step(channel: channels.Channel, payload: object, source: str = "test") -> None:
        await r.publish(channel, Envelope.wrap(payload, source))  # type: ignore[arg-type]

    await r.publish(channels.CM_FILLS, fill(1, pnl=12.5))
    await step(
        channels.AGGREGATOR_RISK,
        RiskRejection(order_id="o-7", stage=RejectionStage.AGGREGATOR, reason=RiskReason.MAX_CONTRACTS_BOT,
                      message="bot_1 would hold 3 contracts (limit 2)", bot_id="bot_1", limit=2, value=3),
    )  # fmt: skip
    status = {"bot_id": "bot_1", "name": "b", "strategy": "PDH_PDL", "symbol": "MGC"}
    await step(
        channels.bot_status("bot_1"), BotStatus(**status, state=BotState.ERROR, message="boom in on_bar")
    )
    await step(channels.bot_status("bot_1"), BotStatus(**status, state=BotState.RUNNING))
    for healthy in (1.0, 0.0, 1.0):
        await step(
            channels.SYSTEM_METRICS, Metrics(component="connection-manager", values={"healthy": healthy})
        )
        await asyncio.sleep(0.1)
    await eventually(lambda: received(servers, "webhook", MARKS[EventKind.CONNECTION_RESTORED]), within=5)
    await r.agg.command(ControlAction.HALT, "me", "news")
    await r.agg._trip_check("an exchange rejection")  # what a rejection does: trips at count 1
    await eventually(lambda: received(servers, "webhook", MARKS[EventKind.CIRCUIT_BREAKER]), within=5)
    r.clock.at = BEFORE_CLOSE + dt.timedelta(seconds=4)  # the session closes
    await eventually(lambda: received(servers, "webhook", MARKS[EventKind.DAILY_SUMMARY]), within=5)
    assert r.agg.api is not None
    await r.agg.api.stop()  # the aggregator stops answering

    def everything() -> bool:
        return all(received(servers, ch, mark) for ch in CHANNELS for mark in MARKS.values())

    try:
        await eventually(everything, within=10, what="every kind on every channel")
    finally:
        missing = [(ch, k.value) for ch in CHANNELS for k, m in MARKS.items() if not received(servers, ch, m)]
        print("missing:", missing)
    kinds = {a["kind"] for body in servers.webhook for a in body["alerts"]}
    assert kinds == {k.value for k in EventKind}
    # The silence of the connection manager is reported too (it said nothing for 0.5 s).
    await eventually(lambda: received(servers, "webhook", "connection manager silent"), within=5)
    summary = next(t for t in servers.texts("webhook") if "daily summary" in t)
    assert "1 closed trades (1 won, 0 lost), net +11.76" in summary
    assert "1 fills, 1 risk refusals" in summary


async def test_a_burst_of_fills_is_one_message(tmp_path: Path, servers: ChatServers) -> None:
    async with rig(tmp_path, servers, "alerts.coalesceSeconds=1.0") as r:
        started = time.monotonic()
        for i in range(100):
            await r.publish(channels.CM_FILLS, fill(100 + i))
        assert time.monotonic() - started < 1.0

        def all_four() -> bool:
            return all(any("100 fills" in t for t in servers.texts(ch)) for ch in CHANNELS)

        await eventually(all_four, within=5, what="one coalesced message per channel")
        await asyncio.sleep(1.5)
        for ch in CHANNELS:
            fills = [t for t in servers.texts(ch) if "fill" in t]
            assert len(fills) == 1, (ch, fills)
            assert "SELL 50, BUY 50; MES 100; bot_2 100" in fills[0]
        assert len(servers.webhook[-1]["alerts"]) == 100
        # The same fills again (a redelivery) are not sent twice.
        for i in range(100):
            await r.publish(channels.CM_FILLS, fill(100 + i))
        await asyncio.sleep(1.5)
        assert sum("fill" in t for t in servers.texts("discord")) == 1


async def test_a_dead_endpoint_neither_blocks_nor_crashes(tmp_path: Path, servers: ChatServers) -> None:
    servers.dead.add("discord")  # 503 forever
    servers.fail("sendMessage", 429, count=2, retry_after=0.1)  # Telegram asks to wait, twice
    closed_port = "http://127.0.0.1:1/slack"  # nothing listens there
    async with rig(tmp_path, servers, "alerts.retryAttempts=2", "alerts.queueCapacity=50") as r:
        slack = next(x for x in r.alerts.routes if x.outbox.name == "slack")
        slack.outbox.transport._url = Secret(closed_port)  # type: ignore[attr-defined]
        started = time.monotonic()
        for i in range(1000):
            await r.publish(channels.CM_FILLS, fill(5000 + i))
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"publishing 1000 fills took {elapsed:.2f} s"
        await eventually(
            lambda: received(servers, "telegram", "fills"), within=10, what="telegram after its 429s"
        )
        await eventually(lambda: received(servers, "webhook", "fills"), within=5)
        discord = next(x for x in r.alerts.routes if x.outbox.name == "discord").outbox
        slack_box = slack.outbox
        await eventually(lambda: discord.counters.failed_messages >= 1, within=10, what="discord given up")
        await eventually(lambda: slack_box.counters.failed_messages >= 1, within=10, what="slack given up")
        assert servers.calls["discord"] >= 3  # tried, retried, gave up
        assert not r.alerts.failed.done()
        assert servers.calls["sendMessage"] >= 3  # two 429s, then delivered
        # Still working: a new fill reaches the live channels.
        await r.publish(channels.CM_FILLS, fill(9999, pnl=-5.0))
        await eventually(lambda: received(servers, "webhook", "P&L -5.00"), within=5)
        assert not r.alerts.failed.done() and not r.agg.failed.done()
