"""Alembic environment: tsxbot runs the migrations itself (:func:`tsxbot.journal.database.upgrade`)
on the connection it passes in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the tsxbot journal migrations run through tsxbot.journal.database.upgrade()")
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
