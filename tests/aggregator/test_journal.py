"""The aggregator writes the trade journal, publishes P&L, and a restart without its state
snapshot takes the day's P&L back from the journal (the daily loss limit is not reset)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.strategy_feed import instrument
from tsxbot.journal import JournalStore, execution, make_engine, schema
from tsxbot.messages import AccountUpdate, ControlAction, Envelope, PnlUpdate, PositionUpdate, Side, channels
from tsxbot.pnl import Ledger, spec_for


async def test_the_journal_the_pnl_messages_and_the_day_after_a_restart(
    agg: AggHarness, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    client = await agg.client()
    pnl_sub = await client.subscribe([channels.bot_pnl("bot_2")])
    updates: list[PnlUpdate] = []

    async def collect() -> None:
        async for message in pnl_sub:
            if isinstance(message.envelope.payload, PnlUpdate):
                updates.append(message.envelope.payload)

    collector = asyncio.create_task(collect())
    try:
        first = await agg.start(journal_url=url)
        mark = await agg.wait_mark()
        await agg.submit("bot_2", order_id="j1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
        await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        # While it is open, quotes move its P&L: published again without a fill (at most 1/s).
        seen = len(updates)
        await eventually(lambda: len(updates) >= seen + 2, within=10, what="open P&L from quotes")
        await agg.submit("bot_2", order_id="j2", side=Side.SELL)
        await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
        await eventually(lambda: any(u.trade_count == 1 for u in updates), what="bot_2's P&L after its trade")
        realized, fees = first.engine.realized_today, first.engine.fees_today
        daily = first.engine.daily_pnl
        await first.stop()
    finally:
        collector.cancel()
        await pnl_sub.close()

    last = [u for u in updates if u.trade_count == 1][-1]
    won = last.realized_pnl - last.fees > 0
    assert (last.bot_id, last.win_count, last.loss_count) == ("bot_2", int(won), int(not won))
    engine = make_engine(url)
    store = JournalStore(engine)
    counts = {
        t.name: store.count(t) for t in (schema.orders, schema.fills, schema.trades, schema.order_updates)
    }
    assert counts["orders"] == 2 and counts["fills"] == 2 and counts["trades"] == 1
    assert counts["order_updates"] >= 2
    assert {f.bot_id for f in store.fills()} == {"bot_2"}
    engine.dispose()
    # The journal's day equals the risk engine's, to the cent.
    assert round(last.realized_pnl - last.fees, 2) == pytest.approx(round(realized - fees, 2), abs=0.001)

    # A restart that finds no state snapshot: the day comes back from the journal, and stays when
    # the first balance arrives (published here as the connection manager does, the balance unchanged).
    second = await agg.start_aggregator(journal_url=url, state_key="no-snapshot")
    assert second.restored is None
    # The day's start and balance are back at once from the journal's account history.
    assert not second._journal_day_pending
    assert second.engine.daily_pnl == pytest.approx(daily, abs=0.005)
    accounts = await agg.sim_api("Account/search", {"onlyActiveAccounts": True})
    account = next(a for a in accounts["accounts"] if a["id"] == second.account_id or a["id"] == 1001)
    update = AccountUpdate(
        account_id=account["id"], name=account["name"], balance=account["balance"], can_trade=True
    )
    second.account_id = account["id"]
    await client.publish(channels.CM_ACCOUNT_UPDATES, Envelope.wrap(update, "test"))
    await eventually(lambda: not second._journal_day_pending, within=15, what="the first balance")
    assert second.engine.daily_pnl == pytest.approx(daily, abs=0.005)
    assert daily == pytest.approx(realized - fees, abs=0.005)  # flat: the day is what was realized


async def test_a_flatten_crossing_two_bots_is_journaled_per_bot(agg: AggHarness, tmp_path: Path) -> None:
    """bot_2 long 1 and bot_3 short 1 (the account flat); flatten closes them against each other
    without an order: each bot's trade is in the journal and the account's P&L is the exchange's."""
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    await agg.start(journal_url=url)
    accounts = await agg.sim_api("Account/search", {"onlyActiveAccounts": True})
    start_balance = next(a["balance"] for a in accounts["accounts"] if a["id"] == 1001)
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="L", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    await agg.submit("bot_3", order_id="S", side=Side.SELL, stop_loss=mark + 4.0, take_profit=mark - 12.0)
    await agg.wait_for("bot_3", PositionUpdate, lambda p: p.net_quantity == -1)
    await eventually(lambda: agg.agg.exchange_positions.get("MES") == 0, what="the exchange flat")
    await agg.control(ControlAction.FLATTEN)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await agg.wait_for("bot_3", PositionUpdate, lambda p: p.net_quantity == 0)
    await eventually(lambda: len(agg.agg.working) == 0, within=10, what="brackets cancelled")
    accounts = await agg.sim_api("Account/search", {"onlyActiveAccounts": True})
    end_balance = next(a["balance"] for a in accounts["accounts"] if a["id"] == 1001)
    await agg.agg.stop()

    engine = make_engine(url)
    store = JournalStore(engine)
    fills = store.fills()
    assert sorted(f.bot_id for f in fills if f.key.startswith("cross:")) == ["bot_2", "bot_3"]
    assert store.count(schema.trades) == 2
    ledger = Ledger(lambda symbol: spec_for(instrument(symbol)))
    ledger.apply_all(execution(f) for f in fills)
    assert {b: f.position for b, f in ledger.by_bot().items()} == {"bot_2": 0, "bot_3": 0}
    total = ledger.total()
    assert round(total.realized - total.fees, 2) == pytest.approx(
        round(end_balance - start_balance, 2), abs=0.001
    )
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT actor, action FROM control_actions")).all()
    assert ("test", "FLATTEN") in [tuple(a) for a in actions]
    engine.dispose()
