"""The journal's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` build them; a test
checks that the migrated database and these definitions agree.

Every table has a unique ``key`` (the message id, fill id, order id or trade id), so a row written
twice, after a crash and a replay from the bus streams, is stored once. Times are UTC
nanoseconds since the epoch (``*_ns``); money is USD.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()


def _key() -> Column[str]:
    return Column("key", String(128), nullable=False, unique=True)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


orders = Table(
    "orders",
    metadata,
    _id(),
    _key(),  # order id
    Column("ts_ns", BigInteger, nullable=False),
    Column("account_id", BigInteger),
    Column("bot_id", String(64)),
    Column("symbol", String(16), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("limit_price", Float),
    Column("stop_price", Float),
    Column("stop_loss", Float),
    Column("take_profit", Float),
    Column("signal_price", Float),
    Column("signal_ns", BigInteger),
)

order_updates = Table(
    "order_updates",
    metadata,
    _id(),
    _key(),  # message id
    Column("ts_ns", BigInteger, nullable=False),
    Column("exchange_order_id", BigInteger, nullable=False),
    Column("order_id", String(128)),
    Column("bot_id", String(64)),
    Column("symbol", String(16)),
    Column("status", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("filled_quantity", Integer, nullable=False),
    Column("average_fill_price", Float),
    Column("reason", Text),
)

fills = Table(
    "fills",
    metadata,
    _id(),
    _key(),  # exchange fill id
    Column("ts_ns", BigInteger, nullable=False),
    Column("account_id", BigInteger),
    Column("bot_id", String(64), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("symbol", String(16), nullable=False),
    Column("contract_id", String(64)),
    Column("side", String(4), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", Float, nullable=False),
    Column("fees", Float, nullable=False),
    Column("exchange_order_id", BigInteger),
    Column("order_id", String(128)),
    Column("stop_loss", Float),
    Column("voided", Boolean, nullable=False),
)

trades = Table(
    "trades",
    metadata,
    _id(),
    _key(),  # trade id: bot, symbol, opening fill
    Column("bot_id", String(64), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("account_id", BigInteger),
    Column("symbol", String(16), nullable=False),
    Column("direction", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("max_position", Integer, nullable=False),
    Column("entry_price", Float, nullable=False),
    Column("exit_price", Float, nullable=False),
    Column("entry_ns", BigInteger, nullable=False),
    Column("exit_ns", BigInteger, nullable=False),
    Column("trading_day", String(10), nullable=False),
    Column("gross_pnl", Float, nullable=False),
    Column("fees", Float, nullable=False),
    Column("net_pnl", Float, nullable=False),
    Column("mae", Float, nullable=False),
    Column("mfe", Float, nullable=False),
    Column("initial_risk", Float),
    Column("r_multiple", Float),
)

risk_rejections = Table(
    "risk_rejections",
    metadata,
    _id(),
    _key(),  # message id
    Column("ts_ns", BigInteger, nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("bot_id", String(64)),
    Column("stage", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("limit_value", Float),
    Column("value", Float),
)

trading_state_changes = Table(
    "trading_state_changes",
    metadata,
    _id(),
    _key(),  # message id
    Column("ts_ns", BigInteger, nullable=False),
    Column("account_id", BigInteger),
    Column("state_from", String(32)),
    Column("state_to", String(32), nullable=False),
    Column("reason", Text, nullable=False),
)

control_actions = Table(
    "control_actions",
    metadata,
    _id(),
    _key(),  # command id
    Column("ts_ns", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),  # who asked
    Column("action", String(64), nullable=False),  # what
    Column("target", String(128)),  # a bot id, an account, an order
    Column("reason", Text, nullable=False),  # why
    Column("params", Text, nullable=False),  # JSON
    Column("ok", Boolean),
)

# The account as the aggregator's risk engine sees it, a row whenever its balance, its trading
# day or its day's starting equity changes, or its trailing drawdown peak rises (at most one
# peak-only row a second): after a restart without the aggregator's state snapshot the peak (and
# so the trailing drawdown floor) comes back from here. Added by migration 0003.
account_history = Table(
    "account_history",
    metadata,
    _id(),
    _key(),  # account id, time
    Column("ts_ns", BigInteger, nullable=False),
    Column("account_id", BigInteger),
    Column("trading_day", String(10), nullable=False),
    Column("balance", Float, nullable=False),
    Column("equity", Float, nullable=False),
    Column("day_start_equity", Float, nullable=False),
    Column("drawdown_peak", Float, nullable=False),
    Index("ix_account_history_account_ts", "account_id", "ts_ns"),
)
