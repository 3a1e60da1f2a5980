"""The journal as the aggregator uses it: events in, the day's P&L out, and back after a restart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from support.sim import sim_config
from tsxbot.journal import AccountStateRecord, schema
from tsxbot.journal.aggregator_journal import AggregatorJournal
from tsxbot.messages.enums import OrderStatus, OrderType, RejectionStage, RiskReason, Side
from tsxbot.messages.orders import Fill, OrderSubmission, OrderUpdate, RiskRejection
from tsxbot.sessions import to_ns

T0 = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # Tuesday 09:30 CT


def es_fill(n: int, side: Side, qty: int, price: float, minute: int, bot: str | None = "a") -> Fill:
    return Fill(
        fill_id=n, exchange_order_id=100 + n, account_id=1, contract_id="CON.F.US.EP.Z26", symbol="ES",
        side=side, quantity=qty, price=price, timestamp=T0 + dt.timedelta(minutes=minute), fees=1.40 * qty,
        bot_id=bot,
    )  # fmt: skip


async def test_events_the_day_and_a_restart(journal_url: str) -> None:
    url = journal_url
    config = sim_config()
    journal = AggregatorJournal(config, url)
    await journal.start()
    ts = to_ns(T0)
    journal.submission(OrderSubmission(order_id="o1", symbol="ES", side=Side.BUY, quantity=2), "a", ts)
    journal.order_update(
        OrderUpdate(
            exchange_order_id=101, account_id=1, contract_id="CON.F.US.EP.Z26", status=OrderStatus.FILLED,
            order_type=OrderType.MARKET, side=Side.BUY, quantity=2, filled_quantity=2, order_id="o1",
        ),
        ts,
    )  # fmt: skip
    journal.fill(es_fill(1, Side.BUY, 2, 6000.0, 0), "a", 2)
    journal.fill(es_fill(2, Side.SELL, 1, 6002.0, 5, bot="b"), "b", 1)
    journal.mark("ES", 6001.0, ts + 10**9)
    journal.fill(es_fill(5, Side.BUY, 1, 6000.0, 6, bot="c"), "c", 1)
    # The aggregator's flatten: one exchange fill of 3 closes a's 2 long and c's 1 long.
    flat = es_fill(3, Side.SELL, 3, 6004.0, 10, bot=None)
    journal.fill(flat, "a", 2)
    journal.fill(flat, "c", 1)
    journal.fill(es_fill(4, Side.BUY, 1, 6004.0, 11, bot="b"), "b", 1)
    journal.rejection(
        RiskRejection(
            order_id="o9",
            stage=RejectionStage.AGGREGATOR,
            reason=RiskReason.MAX_ORDER_SIZE,
            message="big",
            bot_id="a",
        ),
        ts,
    )
    journal.state_change(ts, "ACTIVE", "HALTED", "daily loss", 1)
    journal.control(ts, "api:ops", "HALT", "news", {"botId": "a"})
    assert await journal.flush()
    a = journal.pnl_update("a", 1)
    assert (a.realized_pnl, a.fees, a.trade_count, a.win_count) == (400.0, 5.6, 1, 1)
    c = journal.pnl_update("c", 1)
    assert (c.realized_pnl, c.fees, c.trade_count) == (200.0, 2.8, 1)
    b = journal.pnl_update("b", 1)
    assert (b.realized_pnl, b.trade_count, b.loss_count) == (-100.0, 1, 1)
    account = journal.pnl_update(None, 1)
    before = (account.realized_pnl, account.fees, account.trade_count)
    assert before == (500.0, 11.2, 3)
    counts = {t.name: journal.store.count(t) for t in schema.metadata.sorted_tables}
    await journal.stop()
    assert counts == {
        "orders": 1, "order_updates": 1, "fills": 6, "trades": 3, "risk_rejections": 1,
        "trading_state_changes": 1, "control_actions": 1, "account_history": 0,
    }  # fmt: skip

    # A restart: the day comes back from the journal; the bus replays the same events: no new rows.
    again = AggregatorJournal(config, url)
    await again.start()
    again.fill(es_fill(1, Side.BUY, 2, 6000.0, 0), "a", 2)
    again.fill(flat, "a", 2)
    again.fill(flat, "c", 1)
    assert await again.flush()
    after = again.pnl_update(None, 1)
    assert (after.realized_pnl, after.fees, after.trade_count) == before
    assert again.recorder.replayed_fills == 3
    assert again.store.count(schema.fills) == 6
    assert {f.key for f in again.store.fills()} == {"1", "2", "5", "3:a", "3:c", "4"}
    await again.stop()


async def test_a_full_queue_makes_flush_say_do_not_acknowledge(tmp_path: Path) -> None:
    journal = AggregatorJournal(sim_config("journal.queueCapacity=1"), f"sqlite:///{tmp_path / 'j.db'}")
    await journal.start()
    journal.fill(es_fill(1, Side.BUY, 1, 6000.0, 0), "a", 1)
    journal.fill(es_fill(2, Side.SELL, 1, 6001.0, 1), "a", 1)  # the queue holds one: refused
    assert journal.writer.refused >= 1
    assert await journal.flush() is False
    assert await journal.flush() is True
    await journal.stop()


async def test_a_database_that_does_not_answer_does_not_hold_the_aggregator(tmp_path: Path) -> None:
    journal = AggregatorJournal(sim_config(), f"sqlite:///{tmp_path / 'j.db'}")
    await journal.start()
    journal.writer.retry_s = 0.01
    real_write = journal.store.write

    def failing(records: object) -> int:
        raise OSError("disk full")

    journal.store.write = failing  # type: ignore[method-assign]
    journal.fill(es_fill(1, Side.BUY, 1, 6000.0, 0), "a", 1)
    assert await journal.flush(within_s=0.2) is False  # not acknowledged, but not stuck either
    journal.store.write = real_write  # type: ignore[method-assign]
    assert await journal.flush(within_s=5) is True  # the retry wrote it
    assert journal.store.count(schema.fills) == 1
    await journal.stop()


async def test_a_journal_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    from tsxbot.journal.aggregator_journal import JournalUnavailableError

    journal = AggregatorJournal(sim_config(), f"sqlite:///{tmp_path / 'no-such-dir' / 'j.db'}")
    with pytest.raises(JournalUnavailableError, match="no-such-dir"):
        await journal.start()
    journal.engine.dispose()


async def test_the_account_history_rows_and_the_peak_after_a_restart(journal_url: str) -> None:
    """A row when the balance, the day or its start changes, or the drawdown peak rises (a rise
    alone at most once a second, the last one at stop); a restart reads the highest peak back."""
    url = journal_url
    config = sim_config()
    journal = AggregatorJournal(config, url)
    await journal.start()
    assert journal.drawdown_peak(1) is None
    day = T0.date()
    second = 1_000_000_000
    ts = to_ns(T0)

    def state(balance: float, equity: float, peak: float, at: int, start: float = 50_000.0) -> None:
        journal.account_state(
            1, day, balance=balance, equity=equity, day_start_equity=start, drawdown_peak=peak, ts_ns=at
        )

    state(50_000.0, 50_000.0, 50_000.0, ts)  # the first: written
    state(50_000.0, 50_000.001, 50_000.0, ts + 1)  # nothing changed (to the cent): not written
    state(50_000.0, 50_100.0, 50_100.0, ts + 2)  # the peak rose within the second: held back
    state(50_000.0, 50_150.0, 50_150.0, ts + 3)  # again: held back, the newer replaces it
    state(50_000.0, 50_120.0, 50_150.0, ts + second + 4)  # a second later: the held peak is written
    state(49_990.0, 49_990.0, 50_150.0, ts + second + 5)  # the balance changed: written
    state(49_990.0, 50_210.0, 50_210.0, ts + second + 6)  # held back until stop
    assert await journal.flush()
    rows = [(r.balance, r.equity, r.drawdown_peak) for r in _history(journal)]
    assert rows == [
        (50_000.0, 50_000.0, 50_000.0),
        (50_000.0, 50_120.0, 50_150.0),
        (49_990.0, 49_990.0, 50_150.0),
    ]
    await journal.stop()

    again = AggregatorJournal(config, url)
    await again.start()
    assert again.drawdown_peak(1) == 50_210.0  # the one held back was written at stop
    assert again.drawdown_peak(None) == 50_210.0  # the account not known yet: the only one journaled
    assert again.drawdown_peak(2) is None
    assert len(_history(again)) == 4
    await again.stop()


def _history(journal: AggregatorJournal) -> list[AccountStateRecord]:
    with journal.engine.connect() as conn:
        rows = conn.execute(select(schema.account_history).order_by(schema.account_history.c.id)).mappings()
        return [AccountStateRecord(**{k: v for k, v in r.items() if k != "id"}) for r in rows]
