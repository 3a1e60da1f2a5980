"""Opening the journal database and bringing its schema to the newest revision.

The URL is any SQLAlchemy URL: the default ``sqlite:///tsxbot-journal.db`` is a file in the
working directory (WAL mode, no server); ``postgresql+psycopg://user:pass@host/db`` selects
PostgreSQL. The schema is versioned by Alembic; opening a journal written by an older tsxbot
upgrades it in place.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DEFAULT_URL = "sqlite:///tsxbot-journal.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class JournalUrlError(ValueError):
    """A journal URL SQLAlchemy cannot use (malformed, or its database driver is not installed)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str = DEFAULT_URL) -> Engine:
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise JournalUrlError(f"journal url {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the journal to ``revision`` (the newest by default)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade_sql(url: str, revision: str = "head") -> str:
    """The SQL that brings an empty journal at ``url``'s kind of database to ``revision``, without
    connecting (for a DBA who creates the PostgreSQL schema by hand)."""
    output = io.StringIO()
    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision, sql=True)
    return output.getvalue()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def open_journal(url: str = DEFAULT_URL) -> Engine:
    """An engine on the journal at ``url``, its schema upgraded to the newest revision."""
    engine = make_engine(url)
    upgrade(engine)
    return engine
