"""The trade journal: every order, order update, fill, round-trip trade, risk rejection,
trading-state change and control action, in a real database (SQLite by default, PostgreSQL by
URL), versioned by Alembic migrations shipped in this package."""

from tsxbot.journal.database import (
    DEFAULT_URL,
    JournalUrlError,
    current_revision,
    head_revision,
    make_engine,
    open_journal,
    upgrade,
)
from tsxbot.journal.records import (
    AccountStateRecord,
    ControlActionRecord,
    FillRecord,
    OrderRecord,
    OrderUpdateRecord,
    Record,
    RiskRejectionRecord,
    TradeRecord,
    TradingStateRecord,
    fill_record,
    order_update_record,
    risk_rejection_record,
    trade_record,
)
from tsxbot.journal.store import JournalStore, execution
from tsxbot.journal.writer import JournalFull, JournalWriter

__all__ = [
    "DEFAULT_URL",
    "AccountStateRecord",
    "ControlActionRecord",
    "FillRecord",
    "JournalFull",
    "JournalStore",
    "JournalUrlError",
    "JournalWriter",
    "OrderRecord",
    "OrderUpdateRecord",
    "Record",
    "RiskRejectionRecord",
    "TradeRecord",
    "TradingStateRecord",
    "current_revision",
    "execution",
    "fill_record",
    "head_revision",
    "make_engine",
    "open_journal",
    "order_update_record",
    "risk_rejection_record",
    "trade_record",
    "upgrade",
]
