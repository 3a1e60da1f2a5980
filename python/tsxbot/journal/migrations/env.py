"""Alembic environment: tsxbot runs the migrations itself (:func:`tsxbot.journal.database.upgrade`)
on the connection it passes in ``config.attributes["connection"]``; offline (``sql=True``, see
:func:`tsxbot.journal.database.upgrade_sql`) it prints the SQL for a DBA to run."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), literal_binds=True)
else:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("the tsxbot journal migrations run through tsxbot.journal.database.upgrade()")
    context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
