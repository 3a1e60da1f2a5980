"""The journal writer killed with SIGKILL mid-day: after a restart and a replay of the whole
stream (what the bus still holds), no fill row is lost or doubled and the day's figures equal
those of a run that never crashed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.journal_stream import DAY_START, SPECS, fills_from, make_stream
from tsxbot.journal import JournalStore, JournalWriter, open_journal, schema
from tsxbot.journal.recorder import JournalRecorder
from tsxbot.pnl import Ledger, trading_day
from tsxbot.sessions import to_ns

TESTS = Path(__file__).resolve().parents[1]


def kill_mid_day(store: JournalStore, url: str, stream: Path) -> None:
    """Runs the child recorder and kills it (SIGKILL) once 40 fill rows are in the journal."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, str(TESTS / "support" / "journal_child.py"), url, str(stream)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while store.count(schema.fills) < 40:  # mid-day
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the child wrote nothing"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()


async def test_a_crash_loses_no_row_and_doubles_none(tmp_path: Path) -> None:
    events = make_stream()
    stream = tmp_path / "stream.json"
    stream.write_text(json.dumps(events))
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    store = JournalStore(open_journal(url))
    kill_mid_day(store, url, stream)
    written_before = store.count(schema.fills)
    assert 40 <= written_before < len(events)  # killed mid-day

    # Restart: the ledger from the journal, then the whole stream replayed.
    writer = JournalWriter(store)
    writer.start()
    recorder = JournalRecorder(writer, Ledger(SPECS))
    assert recorder.restore(store) == written_before
    for fill, bot in fills_from(events):
        recorder.fill(fill, bot_id=bot, strategy="s")
    await writer.close()
    assert recorder.replayed_fills == written_before
    assert store.count(schema.fills) == len(events)
    assert sorted(int(f.key) for f in store.fills()) == [e["fill_id"] for e in events]

    # A run that never crashed.
    reference = Ledger(SPECS)
    for fill, bot in fills_from(events):
        JournalRecorder(JournalWriter(JournalStore(store.engine)), reference).fill(
            fill, bot_id=bot, strategy="s"
        )
    day = trading_day(to_ns(DAY_START))
    for bot, figures in reference.daily_by_bot(day).items():
        got = recorder.ledger.daily_by_bot(day)[bot]
        assert (got.realized, got.fees, got.trades) == pytest.approx(
            (figures.realized, figures.fees, figures.trades)
        )
    assert recorder.ledger.total() == reference.total()
    # Every closed trade is in the journal once, those whose closing fill was written before the
    # crash but not the trade itself included (the restore writes them).
    assert store.count(schema.trades) == len(reference.trades)
    store.engine.dispose()
