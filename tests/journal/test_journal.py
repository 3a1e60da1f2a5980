"""The journal on a real SQLite file: migrations, idempotent writes, the non-blocking writer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from tsxbot.journal import (
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
    assert current_revision(engine) == head_revision() == "0002"
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
    assert current_revision(engine) == "0002"
    assert {"trades", "risk_rejections", "trading_state_changes", "control_actions"} <= set(
        inspect(engine).get_table_names()
    )
    [old] = JournalStore(engine).fills()
    assert (old.key, old.price, old.stop_loss) == ("7", 5000.0, None)
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
