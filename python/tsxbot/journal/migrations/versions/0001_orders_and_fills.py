"""The first journal: orders, order updates and fills.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def _common() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(128), nullable=False, unique=True),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "orders",
        *_common(),
        sa.Column("account_id", sa.BigInteger),
        sa.Column("bot_id", sa.String(64)),
        sa.Column("symbol", sa.String(16), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("limit_price", sa.Float),
        sa.Column("stop_price", sa.Float),
        sa.Column("stop_loss", sa.Float),
        sa.Column("take_profit", sa.Float),
        sa.Column("signal_price", sa.Float),
        sa.Column("signal_ns", sa.BigInteger),
    )
    op.create_table(
        "order_updates",
        *_common(),
        sa.Column("exchange_order_id", sa.BigInteger, nullable=False),
        sa.Column("order_id", sa.String(128)),
        sa.Column("bot_id", sa.String(64)),
        sa.Column("symbol", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("filled_quantity", sa.Integer, nullable=False),
        sa.Column("average_fill_price", sa.Float),
        sa.Column("reason", sa.Text),
    )
    op.create_table(
        "fills",
        *_common(),
        sa.Column("account_id", sa.BigInteger),
        sa.Column("bot_id", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(16), nullable=False),
        sa.Column("contract_id", sa.String(64)),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("fees", sa.Float, nullable=False),
        sa.Column("exchange_order_id", sa.BigInteger),
        sa.Column("order_id", sa.String(128)),
        sa.Column("voided", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("fills", "order_updates", "orders"):
        op.drop_table(table)
