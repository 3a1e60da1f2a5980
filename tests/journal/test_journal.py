"""The journal on a real SQLite file: migrations, idempotent writes, the non-blocking writer."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from tsxbot.journal import (
    AccountStateRecord,
    ControlActionRecord,
    FillRecord,
    JournalFull,
    JournalStore,
    JournalUrlError,
    JournalWriter,
    current_revision,
    execution,
    head_revision,
    make_engine,
    open_journal,
    schema,
    trade_record,
    upgrade,
)
from tsxbot.journal.recorder import JournalRecorder
from tsxbot.messages.enums import OrderStatus, OrderType, RejectionStage, RiskReason, Side
from tsxbot.messages.orders import Fill, OrderSubmission, OrderUpdate, RiskRejection
from tsxbot.pnl import ContractSpec, Ledger

ES = ContractSpec(symbol="ES", point_value=50.0, tick_size=0.25, fee_per_side=1.40)


def fill(n: int, side: str, price: float, bot: str = "b1") -> FillRecord:
    return FillRecord(
        key=str(n), ts_ns=n * 1_000_000_000, account_id=1, bot_id=bot, strategy="orb", symbol="ES",
        side=side, quantity=1, price=price, fees=1.40,
    )  # fmt: skip


def test_a_new_journal_is_at_head_in_wal_mode_and_matches_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    engine = open_journal(url)
    assert current_revision(engine) == head_revision() == "0003"
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []
    engine.dispose()


def test_an_old_journal_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "trades" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fills (key, ts_ns, account_id, bot_id, strategy, symbol, side, quantity, price,"
                " fees, voided) VALUES ('7', 1, 1, 'b1', 'orb', 'ES', 'BUY', 1, 5000.0, 1.4, 0)"
            )
        )
    engine.dispose()
    engine = open_journal(f"sqlite:///{path}")
    assert current_revision(engine) == "0003"
    assert {"trades", "risk_rejections", "trading_state_changes", "control_actions"} <= set(
        inspect(engine).get_table_names()
    )
    [old] = JournalStore(engine).fills()
    assert (old.key, old.price, old.stop_loss) == ("7", 5000.0, None)
    engine.dispose()


def test_a_0002_journal_is_upgraded_to_0003_keeps_its_rows_and_keeps_account_history(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "0002")
    assert "account_history" not in inspect(engine).get_table_names()
    store = JournalStore(engine)
    store.write([fill(1, "BUY", 5000.0), fill(2, "SELL", 5002.0)])
    [trade] = Ledger({"ES": ES}).apply_all(execution(f) for f in store.fills())
    store.write([trade_record(trade)])
    engine.dispose()

    engine = open_journal(f"sqlite:///{path}")
    assert current_revision(engine) == "0003"
    store = JournalStore(engine)
    assert [f.key for f in store.fills()] == ["1", "2"]
    assert [t.net_pnl for t in store.trades()] == [pytest.approx(100.0 - 2.8)]
    assert store.account_states() == {}
    rows = [
        AccountStateRecord(
            key=f"1:{n}",
            ts_ns=n,
            account_id=1,
            trading_day="2026-11-24",
            balance=b,
            equity=e,
            day_start_equity=50_000.0,
            drawdown_peak=p,
        )
        for n, b, e, p in [
            (1, 50_000.0, 50_000.0, 50_000.0),
            (2, 50_000.0, 50_300.0, 50_300.0),
            (3, 49_900.0, 49_900.0, 50_300.0),
        ]
    ]
    assert store.write(rows + rows) == 3
    newest = store.account_states()[1]
    assert (newest.key, newest.balance, newest.drawdown_peak) == ("1:3", 49_900.0, 50_300.0)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
    engine.dispose()


def test_writes_are_idempotent_by_key(tmp_path: Path) -> None:
    engine = open_journal(f"sqlite:///{tmp_path / 'j.db'}")
    store = JournalStore(engine)
    assert store.write([fill(1, "BUY", 5000.0), fill(2, "SELL", 5001.0)]) == 2
    assert store.write([fill(2, "SELL", 5001.0), fill(3, "BUY", 5000.0)]) == 1
    assert store.count(schema.fills) == 3
    ledger = Ledger({"ES": ES})
    [trade] = ledger.apply_all(execution(f) for f in store.fills())
    assert store.write([trade_record(trade), trade_record(trade)]) == 1
    assert store.count(schema.trades) == 1
    assert [f.key for f in store.fills(bot_id="b1", from_ns=2_000_000_000)] == ["2", "3"]
    engine.dispose()


def test_a_bad_url_is_a_typed_error() -> None:
    with pytest.raises(JournalUrlError, match="nosuchdb"):
        make_engine("nosuchdb://x")


async def test_the_writer_never_blocks_refuses_when_full_and_flushes_at_close(tmp_path: Path) -> None:
    engine = open_journal(f"sqlite:///{tmp_path / 'j.db'}")
    store = JournalStore(engine)
    writer = JournalWriter(store, capacity=3, batch=2)
    # Not started: the queue fills and the fourth offer is refused at once.
    assert [writer.offer(fill(n, "BUY", 1.0)) for n in range(3)] == [None, None, None]
    refusal = writer.offer(fill(99, "BUY", 1.0))
    assert refusal == JournalFull("fills", "99", 3)
    assert writer.refused == 1
    writer.start()
    await writer.flush()
    assert store.count(schema.fills) == 3
    writer.offer(fill(1, "BUY", 1.0))  # a replayed row: written once
    writer.offer(
        ControlActionRecord(key="c1", ts_ns=5, actor="api:ops", action="pause", target="b1", reason="news")
    )
    await writer.close()
    assert (writer.written, writer.duplicates) == (4, 1)
    assert store.count(schema.control_actions) == 1
    engine.dispose()


async def test_a_failed_write_is_retried_not_lost(tmp_path: Path) -> None:
    # The database has no tables yet: the writer's attempts fail until the schema is there.
    engine = make_engine(f"sqlite:///{tmp_path / 'j.db'}")
    store = JournalStore(engine)
    writer = JournalWriter(store, retry_s=0.01)
    writer.start()
    assert writer.offer(fill(1, "BUY", 1.0)) is None
    for _ in range(500):
        if writer.failures:
            break
        await asyncio.sleep(0.01)
    assert writer.failures >= 1
    assert writer.written == 0  # held for the retry, not dropped
    upgrade(engine)
    await asyncio.wait_for(writer.close(), 10)
    assert store.count(schema.fills) == 1
    engine.dispose()


async def test_the_recorder_journals_every_kind_of_event(tmp_path: Path) -> None:
    engine = open_journal(f"sqlite:///{tmp_path / 'j.db'}")
    store = JournalStore(engine)
    writer = JournalWriter(store)
    writer.start()
    recorder = JournalRecorder(writer, Ledger({"ES": ES}))
    when = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    order = OrderSubmission(order_id="o1", symbol="ES", side=Side.BUY, quantity=1, stop_loss=4990.0)
    recorder.order(order, bot_id="b1", ts_ns=1, signal_price=5000.0, signal_ns=0)
    update = OrderUpdate(
        exchange_order_id=9, account_id=1, contract_id="CON.F.US.EP.Z26", status=OrderStatus.FILLED,
        order_type=OrderType.MARKET, side=Side.BUY, quantity=1, filled_quantity=1, order_id="o1",
    )  # fmt: skip
    recorder.order_update(update, "m1", 2)
    recorder.order_update(update, "m1", 2)  # the same message twice: one row
    for n, side, price in ((1, Side.BUY, 5000.0), (2, Side.SELL, 5002.0)):
        f = Fill(
            fill_id=n, exchange_order_id=9, account_id=1, contract_id="CON.F.US.EP.Z26", symbol="ES",
            side=side, quantity=1, price=price, timestamp=when, fees=1.4,
        )  # fmt: skip
        recorder.fill(f, bot_id="b1", strategy="orb", stop_loss=4990.0 if n == 1 else None)
    rejection = RiskRejection(
        order_id="o2", stage=RejectionStage.AGGREGATOR, reason=RiskReason.MAX_ORDER_SIZE, message="too big"
    )
    recorder.risk_rejection(rejection, "m2", 3)
    recorder.state_change("m3", 4, state_from="ACTIVE", state_to="HALTED", reason="daily loss")
    recorder.control(
        "c1", 5, actor="api:ops", action="PAUSE_BOT", target="b1", reason="news", params={"x": 1}
    )
    recorder.account_state(
        AccountStateRecord(
            key="1:6", ts_ns=6, account_id=1, trading_day="2026-11-24", balance=50_097.2, equity=50_097.2,
            day_start_equity=50_000.0, drawdown_peak=50_100.0,
        )
    )  # fmt: skip
    await writer.close()
    counts = {t.name: store.count(t) for t in schema.metadata.sorted_tables}
    assert counts == {
        "orders": 1, "order_updates": 1, "fills": 2, "trades": 1, "risk_rejections": 1,
        "trading_state_changes": 1, "control_actions": 1, "account_history": 1,
    }  # fmt: skip
    with engine.connect() as conn:
        r = conn.execute(text("SELECT r_multiple, net_pnl FROM trades")).one()
        assert r == pytest.approx((97.2 / 500, 97.2))
        c = conn.execute(text("SELECT actor, action, target, reason, params FROM control_actions")).one()
        assert tuple(c) == ("api:ops", "PAUSE_BOT", "b1", "news", '{"x": 1}')
    engine.dispose()


async def test_restore_writes_a_trade_whose_closing_fill_was_written_but_not_the_trade(
    tmp_path: Path,
) -> None:
    engine = open_journal(f"sqlite:///{tmp_path / 'j.db'}")
    store = JournalStore(engine)
    store.write([fill(1, "BUY", 5000.0), fill(2, "SELL", 5001.0), fill(3, "BUY", 5000.0)])  # no trades row
    writer = JournalWriter(store)
    writer.start()
    recorder = JournalRecorder(writer, Ledger({"ES": ES}))
    assert recorder.restore(store) == 3
    await writer.close()
    assert store.count(schema.trades) == 1
    assert recorder.ledger.total().position == 1
    engine.dispose()


def test_postgresql_gets_the_same_schema_and_idempotent_inserts() -> None:
    from sqlalchemy.dialects import postgresql

    from tsxbot.journal.database import upgrade_sql
    from tsxbot.journal.store import idempotent_insert

    sql = upgrade_sql("postgresql://")
    for table in ("orders", "order_updates", "fills", "trades", "risk_rejections", "control_actions"):
        assert f"CREATE TABLE {table}" in sql
    assert "ALTER TABLE fills ADD COLUMN stop_loss FLOAT" in sql
    assert "UPDATE alembic_version SET version_num='0003'" in sql
    assert "CREATE TABLE account_history" in sql
    insert = idempotent_insert(schema.fills, "postgresql")
    assert "ON CONFLICT (key) DO NOTHING" in str(insert.compile(dialect=postgresql.dialect()))


@pytest.mark.parametrize(
    ("url", "said"),
    [("nosuch://x", "not a usable database URL"), ("mysql://u@h/db", "mysql is not supported")],
)
def test_a_bad_journal_url_is_a_configuration_problem(url: str, said: str) -> None:
    from tsxbot.config import DEFAULTS_DIR, load_config
    from tsxbot.config.errors import ConfigError

    with pytest.raises(ConfigError, match=r"journal\.url") as caught:
        load_config(DEFAULTS_DIR, overrides=[f"journal.url={url}"], env={})
    assert said in str(caught.value)


async def test_waiting_for_some_rows_is_not_held_back_by_rows_recorded_after_them(tmp_path: Path) -> None:
    """``written_upto(n)``: the first n records written is enough (records are written in the
    order offered); the rows recorded after them, still being written, do not hold it back (a
    batch's acknowledgement waits for its own rows, not for a busy day's next ones)."""
    engine = open_journal(f"sqlite:///{tmp_path / 'j.db'}")
    store = JournalStore(engine)
    writer = JournalWriter(store, batch=2)
    later = threading.Event()
    real_write = store.write

    def write(records: Any) -> int:
        if any(int(r.key) >= 10 for r in records):
            later.wait(10)  # the later rows' write is slow
        return real_write(records)

    store.write = write  # type: ignore[method-assign]
    writer.start()
    for n in range(2):
        writer.offer(fill(n, "BUY", 1.0))
    mark = writer.offered
    await asyncio.wait_for(writer.written_upto(mark), 5)
    for n in range(10, 14):
        writer.offer(fill(n, "BUY", 1.0))
    await asyncio.wait_for(writer.written_upto(mark), 1)  # done already: returns at once
    with pytest.raises(TimeoutError):  # everything (a join) waits for the slow later rows
        await asyncio.wait_for(writer.flush(), 0.2)
    waiting = asyncio.ensure_future(writer.written_upto(writer.offered))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    later.set()
    await asyncio.wait_for(waiting, 5)
    assert (writer.done, store.count(schema.fills)) == (6, 6)
    await writer.close()
    engine.dispose()
