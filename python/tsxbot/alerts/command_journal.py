"""Every Telegram command in the journal's ``control_actions`` table (who: ``telegram:<chat
id>@<user>``, what, on which bot, the text, whether it was obeyed), written off the event loop
by the journal's own writer; the row's key is the Telegram update id, so an update delivered
twice (the process died before confirming it) is one row."""

from __future__ import annotations

import asyncio
import datetime as dt

from tsxbot.journal import ControlActionRecord, JournalStore, JournalWriter, make_engine, upgrade
from tsxbot.log import get_logger
from tsxbot.sessions import to_ns

log = get_logger("tsxbot.alerts")


class CommandJournal:
    def __init__(self, url: str, capacity: int = 10_000) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.writer = JournalWriter(JournalStore(self.engine), capacity=capacity)

    async def start(self) -> None:
        await asyncio.to_thread(upgrade, self.engine)
        self.writer.start()

    async def stop(self) -> None:
        await self.writer.close()
        self.engine.dispose()

    def record(
        self, key: str, at: dt.datetime, *, actor: str, action: str, reason: str, target: str | None,
        params: dict[str, object], ok: bool,
    ) -> None:  # fmt: skip
        refused = self.writer.offer(
            ControlActionRecord(
                key=key,
                ts_ns=to_ns(at),
                actor=actor[:128],
                action=action[:64],
                target=target[:128] if target else None,
                reason=reason,
                params=ControlActionRecord.encode_params(params),
                ok=ok,
            )
        )
        if refused is not None:
            log.error("journal full: a Telegram command is not recorded", key=key, actor=actor, action=action)
