"""Round-trip trades, the audit tables (risk rejections, trading-state changes, control actions)
and each fill's protective stop (for R multiples).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def _id_key() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(128), nullable=False, unique=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("stop_loss", sa.Float))
    op.create_table(
        "trades",
        *_id_key(),
        sa.Column("bot_id", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("account_id", sa.BigInteger),
        sa.Column("symbol", sa.String(16), nullable=False),
        sa.Column("direction", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("max_position", sa.Integer, nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("exit_price", sa.Float, nullable=False),
        sa.Column("entry_ns", sa.BigInteger, nullable=False),
        sa.Column("exit_ns", sa.BigInteger, nullable=False),
        sa.Column("trading_day", sa.String(10), nullable=False),
        sa.Column("gross_pnl", sa.Float, nullable=False),
        sa.Column("fees", sa.Float, nullable=False),
        sa.Column("net_pnl", sa.Float, nullable=False),
        sa.Column("mae", sa.Float, nullable=False),
        sa.Column("mfe", sa.Float, nullable=False),
        sa.Column("initial_risk", sa.Float),
        sa.Column("r_multiple", sa.Float),
    )
    op.create_table(
        "risk_rejections",
        *_id_key(),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("bot_id", sa.String(64)),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("limit_value", sa.Float),
        sa.Column("value", sa.Float),
    )
    op.create_table(
        "trading_state_changes",
        *_id_key(),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.BigInteger),
        sa.Column("state_from", sa.String(32)),
        sa.Column("state_to", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "control_actions",
        *_id_key(),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("ok", sa.Boolean),
    )


def downgrade() -> None:
    for table in ("control_actions", "trading_state_changes", "risk_rejections", "trades"):
        op.drop_table(table)
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("stop_loss")
