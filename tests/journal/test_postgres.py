"""The journal on a real PostgreSQL server (started by the test on a free port; see
``support/postgres_server.py``): the migrations one by one with rows kept, idempotent writes by
key, the account history, the report reading it (the same report as from SQLite), and a server
that does not answer is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from support.journal_samples import make_journal, write_journal
from support.postgres_server import PostgresServer
from support.sim import sim_config
from tsxbot.cli import main
from tsxbot.journal import (
    AccountStateRecord,
    FillRecord,
    JournalStore,
    current_revision,
    execution,
    make_engine,
    open_journal,
    schema,
    trade_record,
    upgrade,
)
from tsxbot.journal.aggregator_journal import AggregatorJournal, JournalUnavailableError
from tsxbot.pnl import ContractSpec, Ledger

ES = ContractSpec(symbol="ES", point_value=50.0, tick_size=0.25, fee_per_side=1.40)


def es_fill(n: int, side: str, price: float) -> FillRecord:
    return FillRecord(
        key=str(n), ts_ns=n * 1_000_000_000, account_id=1, bot_id="b1", strategy="orb", symbol="ES",
        side=side, quantity=1, price=price, fees=1.40,
    )  # fmt: skip


def test_the_migrations_one_by_one_keep_the_rows(postgres: PostgresServer) -> None:
    engine = make_engine(postgres.new_database())
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fills (key, ts_ns, account_id, bot_id, strategy, symbol, side, quantity, price,"
                " fees, voided) VALUES ('1', 1000000000, 1, 'b1', 'orb', 'ES', 'BUY', 1, 5000.0, 1.4, false)"
            )
        )
    upgrade(engine, "0002")
    assert current_revision(engine) == "0002"
    store = JournalStore(engine)
    store.write([es_fill(2, "SELL", 5002.0)])
    [trade] = Ledger({"ES": ES}).apply_all(execution(f) for f in store.fills())
    store.write([trade_record(trade)])
    assert "account_history" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == "0003"
    assert [(f.key, f.stop_loss) for f in store.fills()] == [("1", None), ("2", None)]
    assert [t.net_pnl for t in store.trades()] == [pytest.approx(100.0 - 2.8)]
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
    engine.dispose()


def test_writes_are_idempotent_by_key_and_the_account_history_reads_back(postgres: PostgresServer) -> None:
    engine = open_journal(postgres.new_database())
    store = JournalStore(engine)
    assert store.write([es_fill(1, "BUY", 5000.0), es_fill(2, "SELL", 5001.0)]) == 2
    assert store.write([es_fill(2, "SELL", 5001.0), es_fill(3, "BUY", 5000.0)]) == 1  # ON CONFLICT
    assert [f.key for f in store.fills(from_ns=2_000_000_000)] == ["2", "3"]
    rows = [
        AccountStateRecord(
            key=f"{account}:{n}",
            ts_ns=n,
            account_id=account,
            trading_day="2026-11-24",
            balance=balance,
            equity=balance,
            day_start_equity=50_000.0,
            drawdown_peak=peak,
        )
        for account, n, balance, peak in [
            (1, 1, 50_000.0, 50_000.0),
            (1, 2, 50_400.0, 50_400.0),
            (1, 3, 50_100.0, 50_400.0),
            (2, 4, 49_000.0, 50_000.0),
        ]
    ]
    assert store.write(rows) == 4 and store.write(rows) == 0
    states = store.account_states()
    assert {a: (s.key, s.balance, s.drawdown_peak) for a, s in states.items()} == {
        1: ("1:3", 50_100.0, 50_400.0),
        2: ("2:4", 49_000.0, 50_000.0),
    }
    engine.dispose()


def test_the_report_reads_postgresql_as_it_reads_sqlite(postgres: PostgresServer, tmp_path: Path) -> None:
    from_pg, from_sqlite = tmp_path / "pg.json", tmp_path / "sqlite.json"
    assert main(["report", "--journal", write_journal(postgres.new_database()), "--json", str(from_pg)]) == 0
    assert main(["report", "--journal", make_journal(tmp_path / "j.db"), "--json", str(from_sqlite)]) == 0
    pg, lite = json.loads(from_pg.read_bytes()), json.loads(from_sqlite.read_bytes())
    assert pg["summary"]["trades"] == 4
    assert pg == lite


async def test_a_postgresql_server_that_does_not_answer_is_a_clear_error(postgres: PostgresServer) -> None:
    from support.redis_server import free_port

    url = f"postgresql+psycopg://tsxbot@127.0.0.1:{free_port()}/journal?connect_timeout=2"
    journal = AggregatorJournal(sim_config(), url)
    with pytest.raises(JournalUnavailableError, match="cannot be opened"):
        await journal.start()
    journal.engine.dispose()
