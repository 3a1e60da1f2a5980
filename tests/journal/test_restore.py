"""A restart of the aggregator without its state snapshot (Redis lost, a new machine): the day's
P&L, its counters and the trailing drawdown's peak come back from the journal, so neither the
daily loss limit nor the maximum loss floor is reset. Real simulator, connection manager and
aggregator; the journal a real SQLite file."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.cm_harness import Harness
from support.sim import SimHandle
from tsxbot.journal import AccountStateRecord, JournalStore, make_engine, open_journal
from tsxbot.messages import AccountUpdate, Envelope, PositionUpdate, Side, channels
from tsxbot.sessions import to_ns

# End-of-day trailing drawdown (TopStepX's): the peak is the highest end-of-day balance. The
# account named (the aggregator takes balances only for its account).
OVERRIDES = ("risk.drawdownMode=endOfDay", "risk.maxDrawdown=2000", "topstepx.accountId=1001")
ACCOUNT = 1001


PEAK = 51_200.0  # the highest end-of-day balance, three trading days ago


def _earlier_days(url: str, today: float) -> None:
    """The journal of the earlier runs: an end-of-day high of 51,200 on Friday, then Monday's
    losses down to today's opening balance."""
    engine = open_journal(url)
    rows = [
        AccountStateRecord(
            key=f"{ACCOUNT}:{at}",
            ts_ns=to_ns(dt.datetime.fromisoformat(at)),
            trading_day=at[:10],
            account_id=ACCOUNT,
            balance=balance,
            equity=balance,
            day_start_equity=start,
            drawdown_peak=peak,
        )
        for at, start, balance, peak in [
            ("2026-11-20T15:00:00+00:00", 50_600.0, 50_900.0, 50_600.0),
            ("2026-11-20T21:00:00+00:00", 50_600.0, PEAK, 50_600.0),
            ("2026-11-23T15:00:00+00:00", PEAK, today, PEAK),  # Monday: the peak after Friday's close
        ]
    ]
    JournalStore(engine).write(rows)
    engine.dispose()


async def _balances(h: AggHarness) -> dict[int, float]:
    accounts = await h.sim_api("Account/search", {"onlyActiveAccounts": True})
    return {a["id"]: float(a["balance"]) for a in accounts["accounts"]}


async def test_a_restart_without_the_snapshot_takes_the_day_and_the_drawdown_peak_from_the_journal(
    sim: SimHandle, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    h = AggHarness(Harness(sim, "memory", "redis://127.0.0.1:1/0", f"r{uuid.uuid4().hex[:10]}"))
    try:
        balances = await _balances(h)
        start_balance = balances[ACCOUNT]
        _earlier_days(url, start_balance)
        first = await h.start(*OVERRIDES, journal_url=url)
        # No snapshot on the first start either: the peak of the earlier days is the journal's.
        assert (first.engine.drawdown_peak, first.engine.drawdown_floor) == (PEAK, PEAK - 2000.0)
        mark = await h.wait_mark()
        await h.submit("bot_2", order_id="r1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        await h.submit("bot_2", order_id="r2", side=Side.SELL)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
        journal = first.journal
        assert journal is not None

        def settled() -> bool:
            day = journal.ledger.day_pnl(None, first.current_trading_day)
            return (
                day.trades == 1
                and abs(first.engine.balance - (start_balance + day.realized - day.fees)) < 0.005
            )

        await eventually(settled, within=15, what="the balance after the round trip")
        first_balance = first.engine.balance
        peak, floor, daily = first.engine.drawdown_peak, first.engine.drawdown_floor, first.engine.daily_pnl
        pnl = journal.pnl_update(None, ACCOUNT)
        await first.stop()
        assert (peak, floor) == (PEAK, PEAK - 2000.0)
        engine = make_engine(url)
        newest = JournalStore(engine).account_states()[ACCOUNT]  # today's run journaled the account too
        engine.dispose()
        assert (newest.trading_day, newest.balance, newest.drawdown_peak) == (
            "2026-11-24",
            round(first_balance, 2),
            PEAK,
        )

        second = await h.start_aggregator(*OVERRIDES, journal_url=url, state_key="no-snapshot")
        assert second.restored is None
        # At once, before any balance: the drawdown state (not the configured 50,000 start's 48,000
        # floor) and the day's P&L (the daily loss limit is not reset until the next balance).
        assert (second.engine.drawdown_peak, second.engine.drawdown_floor) == (peak, floor)
        assert not second._journal_day_pending
        assert round(second.engine.daily_pnl, 2) == round(daily, 2)
        assert second.journal is not None
        again = second.journal.pnl_update(None, ACCOUNT)
        assert (again.realized_pnl, again.fees, again.trade_count, again.win_count, again.loss_count) == (
            pnl.realized_pnl,
            pnl.fees,
            pnl.trade_count,
            pnl.win_count,
            pnl.loss_count,
        )
        # The day's P&L once the first balance comes (as the connection manager publishes it):
        # the exchange's balance change, to the cent; the drawdown state unchanged.
        end_balance = (await _balances(h))[ACCOUNT]
        update = AccountUpdate(account_id=ACCOUNT, name="sim", balance=end_balance, can_trade=True)
        client = await h.client()
        await client.publish(channels.CM_ACCOUNT_UPDATES, Envelope.wrap(update, "test"))
        await eventually(lambda: second.engine.balance == end_balance, within=15, what="the first balance")
        assert round(second.engine.daily_pnl, 2) == round(end_balance - start_balance, 2)
        assert round(second.engine.daily_pnl, 2) == round(pnl.realized_pnl - pnl.fees, 2) == round(daily, 2)
        assert (second.engine.drawdown_peak, second.engine.drawdown_floor) == (peak, floor)
    finally:
        await h.close()
