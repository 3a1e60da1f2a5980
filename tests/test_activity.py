"""run-all's console activity: each fill, closed trade (with its P&L) and risk refusal on the bus
becomes one readable INFO/WARNING line; over Redis its consumer group lives only while it runs."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from support.bus_helpers import bus_config, eventually
from tsxbot.bus import RedisBus, create_bus
from tsxbot.bus.resp import RedisAddress, RespConnection
from tsxbot.cli.activity import ActivityLog
from tsxbot.log import configure_logging
from tsxbot.messages import Envelope, Fill, RiskRejection, Side, channels
from tsxbot.messages.enums import RejectionStage, RiskReason

NOW = dt.datetime.now(dt.UTC)


def fill(fill_id: int, side: Side, price: float, pnl: float | None = None) -> Envelope[Fill]:
    return Envelope.wrap(
        Fill(
            fill_id=fill_id,
            exchange_order_id=100 + fill_id,
            account_id=1001,
            contract_id="CON.F.US.MES.Z26",
            side=side,
            quantity=1,
            price=price,
            timestamp=NOW,
            fees=0.74,
            realized_pnl=pnl,
            bot_id="bot_2",
            symbol="MES",
        ),
        "connection-manager",
        message_id=f"fill-1001-{fill_id}",
    )


def refusal() -> Envelope[RiskRejection]:
    return Envelope.wrap(
        RiskRejection(
            order_id="bot_1-9",
            stage=RejectionStage.AGGREGATOR,
            reason=RiskReason.MAX_ORDER_SIZE,
            message="3 contracts is over the bot's limit of 2",
            bot_id="bot_1",
        ),
        "aggregator",
    )


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_fills_closed_trades_and_refusals_are_one_line_each(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis").url if backend == "redis" else "redis://127.0.0.1:1/0"
    namespace = f"activity{backend}"
    console = io.StringIO()
    configure_logging("runall", log_dir=None, console="console", console_stream=console)
    bus = create_bus(bus_config(backend, url, namespace))
    await bus.start()
    if isinstance(bus, RedisBus):  # a stream keeps its history: the console shows only what is new
        await bus.publish(channels.CM_FILLS, fill(0, Side.BUY, 4000.0))
        await bus.flush()
    activity = ActivityLog(bus)
    await activity.start()
    try:
        await bus.publish(channels.CM_FILLS, fill(1, Side.BUY, 5000.25))
        await bus.publish(channels.CM_FILLS, fill(2, Side.SELL, 5002.75, pnl=12.5))
        await bus.publish(channels.AGGREGATOR_RISK, refusal())
        await eventually(lambda: "risk refused" in console.getvalue(), within=10, what="all three logged")
    finally:
        await activity.stop()
    lines = [line for line in console.getvalue().splitlines() if "tsxbot.activity" in line]
    assert len(lines) == 4, lines
    assert "[info     ] filled BUY 1 MES @ 5000.25 for bot_2" in lines[0]
    assert "[info     ] filled SELL 1 MES @ 5002.75 for bot_2" in lines[1]
    assert "[info     ] trade closed MES for bot_2: P&L +12.50 (fees 0.74, net +11.76)" in lines[2]
    assert (
        "[warning  ] risk refused order bot_1-9 of bot_1: MAX_ORDER_SIZE: 3 contracts is over the bot's "
        "limit of 2" in lines[3]
    )
    if isinstance(bus, RedisBus):
        conn = await RespConnection.open(RedisAddress.parse(url), connect_seconds=2)
        try:
            for channel in (channels.CM_FILLS, channels.AGGREGATOR_RISK):
                groups = await conn.call("XINFO", "GROUPS", f"{namespace}:{channel.name}")
                assert groups == [], groups  # the console's group went with it
        finally:
            await conn.close()
    await bus.close()
