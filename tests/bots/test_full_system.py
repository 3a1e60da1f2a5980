"""The full system through a trading day: the three example bots (``config/bots/*.yaml``: PDH_PDL
on MGC, EMA_CROSS on MES, ORB_RUBBER_BAND on MNQ) with run-all's services, in process, on a
paused simulator moved a minute at a time from 07:00 to 15:06 CT.

The day: simulator seed 1, Tuesday 2026-11-24 (the simulator's synthetic market), the example
configuration unchanged. On it PDH_PDL takes a liquidity sweep short at 07:40 CT (its stop then
moved to break-even), EMA_CROSS six crosses (break-even, trailing stops, an exit on the opposite
cross), ORB_RUBBER_BAND three stretches short. Checked from the simulator (REST order, position
and trade searches):

- every order at the exchange came through the aggregator (its tag is one the aggregator gave,
  or a bracket leg of one, or a bot's stop/target move the aggregator forwarded);
- every open position had working stops covering its whole size at every moment: checked from
  the simulator's own state after every exchange operation that changed an order or a position
  (``support.protection.ProtectionWatch``, an observer of the exchange's order and position
  events), so a gap between a fill and its stop is caught; and again from the order history at
  every fill;
- each bot's position and realized P&L are what the simulator's fills attributed to it imply.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from support.bot_system import System, trading_system
from support.protection import ProtectionWatch

SEED = 1
DAY_START = "2026-11-24T13:00:00Z"  # 07:00 CT
MINUTES = 486  # to 15:06 CT: every bot's flattenAt has passed, before the 15:10 auto-flatten
STEP = 60  # one bar: each bar closes at a step, where the bots decide (as at a live bar close)
STOP_TYPES = (4, 5)
# ProjectX Stop, TrailingStop


async def _search(system: System, path: str, key: str) -> list[dict[str, Any]]:
    body = {"accountId": system.account, "startTimestamp": "2026-11-23T00:00:00Z"}
    found: list[dict[str, Any]] = (await system.sim.api(path, body))[key]
    return found


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.slow
async def test_the_three_example_bots_trade_a_day_through_the_aggregator_always_protected(
    tmp_path: Path,
) -> None:
    async with trading_system(
        tmp_path,
        {},
        f"simulator.seed={SEED}",
        "simulator.rateLimits.enabled=false",  # the test reads the exchange's whole history at the end
        start=DAY_START,
        keep_examples=True,
    ) as system:
        await system.sim.login()
        watch = ProtectionWatch.install(system.sim.sim)
        try:
            for _ in range(MINUTES * 60 // STEP):
                await system.advance(STEP, step=STEP)
            await system.settle()
        finally:
            watch.uninstall()
        assert watch.unprotected == []
        # The watch saw the day's trading: checks while positions were held, after many events.
        assert watch.checks_holding > 10 and watch.events > 100, (watch.checks_holding, watch.events)

        orders = {o["id"]: o for o in await _search(system, "Order/search", "orders")}
        trades = [t for t in await _search(system, "Trade/search", "trades") if not t.get("voided")]
        agg = system.agg
        assert agg is not None

        def owner(order: dict[str, Any]) -> str | None:
            parent = order.get("parentOrderId")
            if parent is not None:
                return owner(orders[parent])
            tag = order.get("customTag") or ""
            return next((b for b in system.bots if tag.startswith(f"{b}-")), None)

        # Every order came through the aggregator.
        for order in orders.values():
            if order.get("parentOrderId") is not None:
                continue
            tag = order.get("customTag") or ""
            bot = owner(order)
            assert bot is not None, order
            assert tag in agg.tags or tag.startswith(f"{bot}-{bot}-sltp-"), order

        # Each bot traded, and its position and P&L are what its fills at the exchange imply.
        for bot_id, bot in system.bots.items():
            mine = [t for t in trades if owner(orders[t["orderId"]]) == bot_id]
            assert mine, (bot_id, bot.status())
            net = sum(t["size"] * (1 if t["side"] == 0 else -1) for t in mine)
            pnl = sum((t.get("profitAndLoss") or 0.0) - t["fees"] for t in mine)
            assert bot.position == net == 0, bot_id
            assert bot.realized_pnl == pytest.approx(pnl, abs=0.01), bot_id
            assert bot.counters["fills"] == len(mine), bot_id
            assert agg.positions.quantity(bot_id, bot.symbol) == net

        # Every moment a contract was held, a stop was working: at each fill, from the order history.
        by_contract: dict[str, list[dict[str, Any]]] = {}
        for trade in sorted(trades, key=lambda t: (_ts(t["creationTimestamp"]), t["id"])):
            by_contract.setdefault(trade["contractId"], []).append(trade)
        for contract, fills in by_contract.items():
            held = 0
            for fill in fills:
                held += fill["size"] * (1 if fill["side"] == 0 else -1)
                if held == 0:
                    continue
                when = _ts(fill["creationTimestamp"])
                working = [
                    o
                    for o in orders.values()
                    if o["contractId"] == contract
                    and o["type"] in STOP_TYPES
                    and _ts(o["creationTimestamp"]) <= when
                    and (o["status"] == 1 or _ts(o["updateTimestamp"]) >= when)
                ]
                assert working, f"{contract} held {held} without a stop at {when}"
