"""The journal writer lets an order's records gather (``quiet_s``, ``max_delay_s``) and writes
them in one transaction, one statement per table; a wait that holds trading back hurries it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tsxbot.journal import ControlActionRecord, FillRecord, JournalStore, JournalWriter, open_journal, schema


def fill(n: int) -> FillRecord:
    return FillRecord(
        key=str(n), ts_ns=n, account_id=1, bot_id="b1", symbol="ES", side="BUY", quantity=1, price=1.0,
        fees=1.4,
    )  # fmt: skip


def control(key: str) -> ControlActionRecord:
    return ControlActionRecord(key=key, ts_ns=5, actor="api:ops", action="halt", target=None, reason="news")


@pytest.fixture
def store(tmp_path: Path) -> JournalStore:
    return JournalStore(open_journal(f"sqlite:///{tmp_path / 'j.db'}"))


def test_one_statement_per_table_counts_only_the_rows_added(store: JournalStore) -> None:
    # Tables mixed, a key twice in the batch and a key already stored: each row once, in order.
    assert store.write([fill(1), control("c1"), fill(2), fill(1)]) == 3
    assert store.write([fill(2), fill(3), control("c1"), control("c2")]) == 2
    assert [f.key for f in store.fills()] == ["1", "2", "3"]
    assert store.count(schema.control_actions) == 2
    store.engine.dispose()


async def test_records_offered_close_together_go_in_one_transaction(store: JournalStore) -> None:
    writer = JournalWriter(store, quiet_s=0.2, max_delay_s=5.0)
    writer.start()
    writer.offer(fill(1))
    for _ in range(3):
        await asyncio.sleep(0)  # the writer has taken the first record
    writer.offer(fill(2))
    writer.offer(control("c1"))
    await asyncio.wait_for(writer.written_upto(3, hurry=False), 5)
    # Without the quiet the first record goes alone, while the others are offered.
    assert writer.transactions == 1
    assert (writer.written, writer.done) == (3, 3)
    await writer.close()
    store.engine.dispose()


async def test_a_hurried_wait_does_not_wait_for_the_quiet(store: JournalStore) -> None:
    writer = JournalWriter(store, quiet_s=30.0, max_delay_s=60.0)
    writer.start()
    writer.offer(fill(1))
    await asyncio.wait_for(writer.written_upto(1), 5)  # hurried (the default)
    writer.offer(fill(2))
    with pytest.raises(TimeoutError):  # not hurried: it waits for the quiet
        await asyncio.wait_for(writer.written_upto(2, hurry=False), 0.3)
    await asyncio.wait_for(writer.flush(), 5)  # the stop's flush hurries too
    assert store.count(schema.fills) == 2
    await writer.close()
    store.engine.dispose()


async def test_a_steady_flow_is_written_every_max_delay(store: JournalStore) -> None:
    # A record every 20 ms never leaves the 0.5 s quiet: the oldest is written after 0.2 s.
    writer = JournalWriter(store, quiet_s=0.5, max_delay_s=0.2)
    writer.start()
    written_while_offering = 0
    for n in range(60):
        writer.offer(fill(n))
        await asyncio.sleep(0.02)
        written_while_offering = writer.done
    assert written_while_offering > 0
    assert writer.transactions >= 2
    await writer.close()
    assert store.count(schema.fills) == 60
    store.engine.dispose()


def test_the_writer_refuses_a_negative_wait(store: JournalStore) -> None:
    with pytest.raises(ValueError, match="quiet_s and max_delay_s"):
        JournalWriter(store, quiet_s=-1.0)
    store.engine.dispose()


async def test_records_wait_while_held_then_go_after_the_quiet(store: JournalStore) -> None:
    # The aggregator holds its rows while an order is on its way (sent, not answered yet).
    on_the_way = True
    writer = JournalWriter(store, quiet_s=0.01, max_delay_s=30.0)
    writer.hold_while(lambda: on_the_way)
    writer.start()
    writer.offer(fill(1))
    with pytest.raises(TimeoutError):  # many quiets pass: still held
        await asyncio.wait_for(writer.written_upto(1, hurry=False), 0.3)
    on_the_way = False
    await asyncio.wait_for(writer.written_upto(1, hurry=False), 5)
    assert writer.transactions == 1
    await writer.close()
    store.engine.dispose()


async def test_a_hurried_wait_behind_more_than_a_batch_waits_for_none_of_them(store: JournalStore) -> None:
    writer = JournalWriter(store, batch=4, quiet_s=30.0, max_delay_s=60.0)
    writer.start()
    writer.offer(fill(0))
    for _ in range(3):
        await asyncio.sleep(0)  # the writer has taken it and waits for the quiet
    for n in range(1, 6):
        writer.offer(fill(n))
    await asyncio.wait_for(writer.written_upto(6), 5)  # two batches, neither after the quiet
    assert writer.transactions == 2
    await writer.close()
    store.engine.dispose()
