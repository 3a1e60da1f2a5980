"""The full system through a trading day: the three example bots (``config/bots/*.yaml``: PDH_PDL
on MGC, EMA_CROSS on MES, ORB_RUBBER_BAND on MNQ) with run-all's services, in process, on a
paused simulator moved a minute at a time from 07:00 to 15:06 CT (``support.full_day``: the day
``tests/journal/test_full_day.py`` checks too, run once for both).

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
from typing import Any

import pytest

from support.full_day import FullDay, owner

STOP_TYPES = (4, 5)
# ProjectX Stop, TrailingStop


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.slow
def test_the_three_example_bots_trade_a_day_through_the_aggregator_always_protected(
    full_day: FullDay,
) -> None:
    day = full_day
    assert day.unprotected == []
    # The watch saw the day's trading: checks while positions were held, after many events.
    assert day.checks_holding > 10 and day.events > 100, (day.checks_holding, day.events)

    orders = day.orders
    trades = day.exchange_fills
    bots = list(day.bots)

    # Every order came through the aggregator.
    for order in orders.values():
        if order.get("parentOrderId") is not None:
            continue
        tag = order.get("customTag") or ""
        bot = owner(order, orders, bots)
        assert bot is not None, order
        assert tag in day.tags or tag.startswith(f"{bot}-{bot}-sltp-"), order

    # Each bot traded, and its position and P&L are what its fills at the exchange imply.
    for bot_id, outcome in day.bots.items():
        mine = [t for t in trades if owner(orders[t["orderId"]], orders, bots) == bot_id]
        assert mine, (bot_id, outcome.status)
        net = sum(t["size"] * (1 if t["side"] == 0 else -1) for t in mine)
        pnl = sum((t.get("profitAndLoss") or 0.0) - t["fees"] for t in mine)
        assert outcome.position == net == 0, bot_id
        assert outcome.realized_pnl == pytest.approx(pnl, abs=0.01), bot_id
        assert outcome.fills == len(mine), bot_id
        assert outcome.aggregator_quantity == net

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
