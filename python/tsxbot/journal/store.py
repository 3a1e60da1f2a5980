"""Writing records once and reading them back (synchronous; the writer runs it off the event loop)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import Engine, Insert, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tsxbot.journal import schema
from tsxbot.journal.records import AccountStateRecord, FillRecord, OrderRecord, Record, TradeRecord
from tsxbot.messages.enums import OrderStatus, Side
from tsxbot.pnl.execution_record import Execution


def idempotent_insert(table: Table, dialect: str) -> Insert:
    """An INSERT that skips a row whose ``key`` is already stored (SQLite and PostgreSQL; other
    databases get a plain INSERT, preceded by a lookup in :meth:`JournalStore.write`)."""
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    return table.insert()


class JournalStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self, table: Table) -> Insert:
        return idempotent_insert(table, self.engine.dialect.name)

    def _write_rows(self, connection: Connection, table: Table, rows: list[dict[str, object]]) -> int:
        """Rows of one table, in their order; returns how many were added (the others' keys were
        stored already, or came earlier in ``rows``)."""
        dialect = connection.dialect
        if dialect.name in ("sqlite", "postgresql") and dialect.insert_executemany_returning:
            # One statement for all of them (SQLAlchemy's "insertmanyvalues"); the rows RETURNING
            # gives are the rows added (psycopg reports no rowcount for them).
            added = connection.execute(self._insert(table).returning(table.c.id), rows)
            return len(added.all())
        count = 0
        for values in rows:
            if dialect.name not in ("sqlite", "postgresql"):
                exists = connection.execute(select(table.c.id).where(table.c.key == values["key"])).first()
                if exists is not None:
                    continue
                count += max(connection.execute(self._insert(table), values).rowcount, 0)
            else:
                count += len(connection.execute(self._insert(table).returning(table.c.id), values).all())
        return count

    def write(self, records: Sequence[Record]) -> int:
        """Write ``records`` in one transaction (one statement per table); a key already stored
        is skipped. Returns rows added."""
        by_table: dict[Table, list[dict[str, object]]] = {}
        for record in records:
            by_table.setdefault(record.TABLE, []).append(record.values())
        added = 0
        with self.engine.begin() as connection:
            for table, rows in by_table.items():
                added += self._write_rows(connection, table, rows)
        return added

    def count(self, table: Table) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def fills(
        self, *, from_ns: int | None = None, to_ns: int | None = None, bot_id: str | None = None
    ) -> list[FillRecord]:
        """Fills in time order (voided ones left out), optionally in ``[from_ns, to_ns)`` and for one bot."""
        table = schema.fills
        query = select(table).where(table.c.voided.is_(False)).order_by(table.c.ts_ns, table.c.id)
        if from_ns is not None:
            query = query.where(table.c.ts_ns >= from_ns)
        if to_ns is not None:
            query = query.where(table.c.ts_ns < to_ns)
        if bot_id is not None:
            query = query.where(table.c.bot_id == bot_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [FillRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]

    def trades(self, *, bot_id: str | None = None) -> list[TradeRecord]:
        table = schema.trades
        query = select(table).order_by(table.c.exit_ns, table.c.id)
        if bot_id is not None:
            query = query.where(table.c.bot_id == bot_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [TradeRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]

    def orders(self, *, bot_id: str | None = None) -> list[OrderRecord]:
        table = schema.orders
        query = select(table).order_by(table.c.ts_ns, table.c.id)
        if bot_id is not None:
            query = query.where(table.c.bot_id == bot_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [OrderRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]

    def account_states(self) -> dict[int | None, AccountStateRecord]:
        """Each account's newest row of ``account_history``, its ``drawdown_peak`` the highest
        ever journaled for the account (the peak never moves down)."""
        table = schema.account_history
        peaks = select(table.c.account_id, func.max(table.c.drawdown_peak)).group_by(table.c.account_id)
        newest = (
            select(table.c.account_id, func.max(table.c.id).label("id"))
            .group_by(table.c.account_id)
            .subquery()
        )
        query = select(table).join(newest, table.c.id == newest.c.id)
        with self.engine.connect() as connection:
            highest = {account: float(peak) for account, peak in connection.execute(peaks)}
            rows = connection.execute(query).mappings().all()
        out = {}
        for row in rows:
            record = AccountStateRecord(**{k: v for k, v in row.items() if k != "id"})
            out[record.account_id] = msgspec.structs.replace(record, drawdown_peak=highest[record.account_id])
        return out

    def account_day(self, account_id: int | None, trading_day: str) -> list[AccountStateRecord]:
        """The account's ``account_history`` rows of one trading day, oldest first (the day's
        equity at each balance change and peak rise: the dashboard's curve after a restart)."""
        table = schema.account_history
        query = select(table).where(table.c.trading_day == trading_day)
        query = query.where(
            table.c.account_id.is_(None) if account_id is None else table.c.account_id == account_id
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(table.c.ts_ns, table.c.id)).mappings().all()
        return [AccountStateRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]

    def final_statuses(self) -> dict[str, OrderStatus]:
        """Each order id's final status (FILLED, CANCELLED, EXPIRED, REJECTED), from its updates."""
        table = schema.order_updates
        query = select(table.c.order_id, table.c.status).where(table.c.order_id.is_not(None))
        out: dict[str, OrderStatus] = {}
        with self.engine.connect() as connection:
            for order_id, status in connection.execute(query.order_by(table.c.ts_ns, table.c.id)):
                parsed = OrderStatus(status)
                if parsed.is_final:
                    out[order_id] = parsed
        return out


def execution(fill: FillRecord) -> Execution:
    """A journal fill as the P&L reads it."""
    return Execution(
        fill_id=fill.key,
        bot_id=fill.bot_id,
        strategy=fill.strategy,
        symbol=fill.symbol,
        side=Side(fill.side),
        quantity=fill.quantity,
        price=fill.price,
        ts_ns=fill.ts_ns,
        fees=fill.fees,
        account_id=fill.account_id,
        stop_loss=fill.stop_loss,
    )
