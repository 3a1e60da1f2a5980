"""The journal through a full simulated trading day with the three example bots (run-all's
services in process on a paused simulator, seed 1, Tuesday 2026-11-24, 07:00 to 15:06 CT; the
day ``tests/bots/test_full_system.py`` drives, here with the aggregator's journal on):

- the journal's realized P&L net of fees equals the simulator account's balance change to the cent;
- each bot's journaled fills are exactly the exchange fills of its orders (ids, sides, sizes,
  prices, fees), and its journaled trades are the round trips those fills make (matched afresh
  by a plain ledger) and sum to the exchange's own P&L for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.bot_system import System, trading_system
from tsxbot.journal import JournalStore, execution, make_engine, schema
from tsxbot.pnl import Ledger, spec_for

SEED = 1
DAY_START = "2026-11-24T13:00:00Z"  # 07:00 CT
MINUTES = 486  # to 15:06 CT: every bot's flattenAt has passed, before the 15:10 auto-flatten
SIDES = {0: "BUY", 1: "SELL"}  # ProjectX side codes


async def _balance(system: System) -> float:
    accounts = (await system.sim.api("Account/search", {"onlyActiveAccounts": True}))["accounts"]
    return float(next(a["balance"] for a in accounts if a["id"] == system.account))


async def _exchange(system: System, path: str, key: str) -> list[dict[str, Any]]:
    body = {"accountId": system.account, "startTimestamp": "2026-11-23T00:00:00Z"}
    found: list[dict[str, Any]] = (await system.sim.api(path, body))[key]
    return found


def _bot_of(order: dict[str, Any], orders: dict[int, dict[str, Any]], bots: list[str]) -> str | None:
    """The bot an exchange order belongs to: its custom tag (the aggregator's ``<bot>-...``), or
    its bracket parent's."""
    parent = order.get("parentOrderId")
    if parent is not None:
        return _bot_of(orders[parent], orders, bots)
    tag = order.get("customTag") or ""
    return next((b for b in bots if tag.startswith(f"{b}-")), None)


@pytest.mark.slow
async def test_a_full_day_journal_equals_the_exchange_to_the_cent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tsxbot-journal.db'}"
    async with trading_system(
        tmp_path,
        {},
        f"simulator.seed={SEED}",
        "simulator.rateLimits.enabled=false",
        start=DAY_START,
        keep_examples=True,
        journal_url=url,
    ) as system:
        await system.sim.login()
        start_balance = await _balance(system)
        await system.advance(MINUTES * 60)
        await system.settle()
        end_balance = await _balance(system)
        orders = {o["id"]: o for o in await _exchange(system, "Order/search", "orders")}
        exchange_fills = [t for t in await _exchange(system, "Trade/search", "trades") if not t.get("voided")]
        bots = sorted(system.bots)
        agg = system.agg
        assert agg is not None and agg.journal is not None
        assert await agg.journal.flush(within_s=10)

    engine = make_engine(url)
    try:
        store = JournalStore(engine)
        fills = store.fills()
        trades = store.trades()
        assert store.count(schema.orders) > 0 and store.count(schema.order_updates) > 0
    finally:
        engine.dispose()
    assert bots == ["bot_1", "bot_2", "bot_3"]

    def spec(symbol: str) -> Any:
        return spec_for(system.config.instruments.get(symbol), system.config.global_config.simulator.exchange)

    # The whole day: journal net of fees == the account's balance change, to the cent.
    ledger = Ledger(spec)
    ledger.apply_all(execution(f) for f in fills)
    total = ledger.total()
    assert total.position == 0  # every bot flat by 15:06 CT
    assert round(total.realized - total.fees, 2) == round(end_balance - start_balance, 2)
    assert round(sum(t.net_pnl for t in trades), 2) == round(end_balance - start_balance, 2)
    assert not [f for f in fills if f.key.startswith("cross:")]  # no bot crossed another here

    for bot in bots:
        exchange_mine = sorted(
            (t for t in exchange_fills if _bot_of(orders[t["orderId"]], orders, bots) == bot),
            key=lambda t: t["id"],
        )
        journal_mine = sorted((f for f in fills if f.bot_id == bot), key=lambda f: (len(f.key), f.key))
        assert exchange_mine, f"{bot} did not trade"
        # Its fills: the exchange's, one for one.
        assert [(f.key, f.side, f.quantity, f.price, round(f.fees, 2)) for f in journal_mine] == [
            (str(t["id"]), SIDES[t["side"]], t["size"], t["price"], round(t["fees"], 2))
            for t in exchange_mine
        ], bot
        # Its trades: the round trips of those fills, and the exchange's P&L for them.
        reference = Ledger(spec)
        closed = reference.apply_all(execution(f) for f in journal_mine)
        mine = [t for t in trades if t.bot_id == bot]
        assert sorted(t.key for t in mine) == sorted(c.trade_id for c in closed), bot
        exchange_net = sum((t.get("profitAndLoss") or 0.0) - t["fees"] for t in exchange_mine)
        assert round(sum(t.net_pnl for t in mine), 2) == round(exchange_net, 2), bot
