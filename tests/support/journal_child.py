"""A child process for the journal crash test: records the fills of ``stream.json`` through a
JournalRecorder and writer, one at a time with a pause, and never exits by itself (the test kills
it with SIGKILL)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from support.journal_stream import SPECS, fills_from
from tsxbot.journal import JournalStore, JournalWriter, open_journal
from tsxbot.journal.recorder import JournalRecorder
from tsxbot.pnl import Ledger


async def main(url: str, events: list[dict[str, Any]]) -> None:
    store = JournalStore(open_journal(url))
    writer = JournalWriter(store, batch=3)
    writer.start()
    recorder = JournalRecorder(writer, Ledger(SPECS))
    recorder.restore(store)
    for fill, bot in fills_from(events):
        recorder.fill(fill, bot_id=bot, strategy="s")
        await asyncio.sleep(0.01)
    print("all offered", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(Path(sys.argv[2]).read_text())))
