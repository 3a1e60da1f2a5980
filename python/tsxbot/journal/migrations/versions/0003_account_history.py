"""The account's balance, equity, day start and trailing drawdown peak over time
(``account_history``): a restart without the aggregator's state snapshot takes the drawdown
peak back from it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(128), nullable=False, unique=True),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.BigInteger),
        sa.Column("trading_day", sa.String(10), nullable=False),
        sa.Column("balance", sa.Float, nullable=False),
        sa.Column("equity", sa.Float, nullable=False),
        sa.Column("day_start_equity", sa.Float, nullable=False),
        sa.Column("drawdown_peak", sa.Float, nullable=False),
    )
    op.create_index("ix_account_history_account_ts", "account_history", ["account_id", "ts_ns"])


def downgrade() -> None:
    op.drop_index("ix_account_history_account_ts", "account_history")
    op.drop_table("account_history")
