"""The trading aggregator: account risk, the order queue, positions per bot, the kill switch
(``service.py`` has the order path; each other module one part of it).

``Aggregator`` is imported on first use: the service pulls in the journal (SQLAlchemy, Alembic),
which the modules other commands share (``sltp``, ``positions``) do not need."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tsxbot.aggregator.service import Aggregator

__all__ = ["Aggregator"]


def __getattr__(name: str) -> Any:
    if name == "Aggregator":
        from tsxbot.aggregator.service import Aggregator

        return Aggregator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
