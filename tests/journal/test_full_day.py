"""The journal through a full simulated trading day with the three example bots (run-all's
services in process on a paused simulator, seed 1, Tuesday 2026-11-24, 07:00 to 15:06 CT, the
aggregator's journal on: ``support.full_day``, the day ``tests/bots/test_full_system.py`` checks
too, run once for both):

- the journal's realized P&L net of fees equals the simulator account's balance change to the cent;
- each bot's journaled fills are exactly the exchange fills of its orders (ids, sides, sizes,
  prices, fees), and its journaled trades are the round trips those fills make (matched afresh
  by a plain ledger) and sum to the exchange's own P&L for them.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.full_day import FullDay, owner
from tsxbot.journal import JournalStore, execution, make_engine, schema
from tsxbot.pnl import Ledger, spec_for

SIDES = {0: "BUY", 1: "SELL"}  # ProjectX side codes


@pytest.mark.slow
def test_a_full_day_journal_equals_the_exchange_to_the_cent(full_day: FullDay) -> None:
    day = full_day
    assert day.journal_flushed
    engine = make_engine(day.journal_url)
    try:
        store = JournalStore(engine)
        fills = store.fills()
        trades = store.trades()
        assert store.count(schema.orders) > 0 and store.count(schema.order_updates) > 0
    finally:
        engine.dispose()
    bots = sorted(day.bots)
    assert bots == ["bot_1", "bot_2", "bot_3"]

    def spec(symbol: str) -> Any:
        return spec_for(day.config.instruments.get(symbol), day.config.global_config.simulator.exchange)

    # The whole day: journal net of fees == the account's balance change, to the cent.
    change = round(day.end_balance - day.start_balance, 2)
    ledger = Ledger(spec)
    ledger.apply_all(execution(f) for f in fills)
    total = ledger.total()
    assert total.position == 0  # every bot flat by 15:06 CT
    assert round(total.realized - total.fees, 2) == change
    assert round(sum(t.net_pnl for t in trades), 2) == change
    assert not [f for f in fills if f.key.startswith("cross:")]  # no bot crossed another here

    for bot in bots:
        exchange_mine = sorted(
            (t for t in day.exchange_fills if owner(day.orders[t["orderId"]], day.orders, bots) == bot),
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
