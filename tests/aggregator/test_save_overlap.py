"""The aggregator's state save overlaps the next batch: a batch's save is taken when the batch is
handled and written while the next batch is handled, the writes in the order they were taken,
and a batch is acknowledged only once its own save is written. Killed in that window (a write
held, the next batch already handled), the next run counts every fill once: what was written is
not delivered again, what was not is. Also: a fill goes out to its bot before the rest of its
batch is handled, and a batch of submissions only is not saved before they are sent."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog

from support.bus_helpers import eventually
from support.sim import sim_config
from tsxbot.aggregator import Aggregator
from tsxbot.aggregator.persistence import SaveFailed, StateStore
from tsxbot.bus import BusFullError, Journal, JournalUnavailableError, MemoryBus
from tsxbot.config.global_config import BusConfig
from tsxbot.journal.aggregator_journal import FLUSH_TIMEOUT_S, AggregatorJournal
from tsxbot.messages import (
    CommandResult,
    ControlAction,
    Envelope,
    Fill,
    MessageType,
    OrderSubmission,
    PlaceOrder,
    Quote,
    Side,
    channels,
)

ACCOUNT = 1001
MES = "CON.F.US.MES.Z26"
START = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # a Tuesday, 09:30 CT


class GatedJournal:
    """The bus's journal with its record writes held on demand (``hold``): a held write waits
    until ``release``; ``fail`` makes the next write raise."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.held = False
        self.waiting = 0  # writes waiting at the gate
        self.written = 0
        self.fail_next = False
        self._open = asyncio.Event()
        self._open.set()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def update_record(self, key: str, changed: dict[str, bytes], removed: list[str], **kw: Any) -> None:
        if self.fail_next:
            self.fail_next = False
            raise JournalUnavailableError("the journal is down (test)")
        self.waiting += 1
        try:
            await self._open.wait()
        finally:
            self.waiting -= 1
        await self.journal.update_record(key, changed, removed, **kw)
        self.written += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.journal, name)


def fill(n: int, side: Side = Side.BUY) -> Fill:
    return Fill(
        account_id=ACCOUNT,
        fill_id=n,
        order_id=f"o{n}",
        exchange_order_id=100 + n,
        contract_id=MES,
        symbol="MES",
        side=side,
        quantity=1,
        price=5000.0,
        timestamp=START,
        bot_id="bot_2",
    )


async def started(bus: MemoryBus) -> tuple[Aggregator, GatedJournal]:
    aggregator = Aggregator(sim_config(), bus, clock=lambda: START, account_id=ACCOUNT)
    gate = GatedJournal(bus.journal("aggregator"))
    aggregator.store = StateStore(gate)  # type: ignore[arg-type]
    await aggregator.start()
    await pinned(aggregator)
    return aggregator, gate


async def pinned(aggregator: Aggregator) -> None:
    """A first quote for MES, then the account pinned: the aggregator is ready for fills."""
    await aggregator.on_quote(Quote(symbol="MES", contract_id=MES, timestamp=START, last=5000.0))
    await eventually(lambda: aggregator._pinned.is_set(), what="the account pinned")


async def kill(aggregator: Aggregator) -> None:
    """As kill -9 would leave it: every task stops where it is (no save, no acknowledgement)."""
    aggregator._stopping = True
    tasks = [*aggregator._tasks, *aggregator._acking]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def publish_fill(bus: MemoryBus, n: int, side: Side = Side.BUY) -> None:
    await bus.publish(channels.CM_FILLS, Envelope.wrap(fill(n, side), "connection-manager"))


@contextlib.asynccontextmanager
async def bot_reading(bus: MemoryBus, at_fill: Callable[[], None]) -> AsyncIterator[None]:
    """bot_2's order channel read as its bot reads it, ``at_fill`` called as each Fill arrives."""
    bot = await bus.subscribe(channels.bot_orders("bot_2"), group="bot_2")

    async def receive() -> None:
        async for message in bot:
            if isinstance(message.envelope.payload, Fill):
                at_fill()
            await message.ack()

    reader = asyncio.create_task(receive())
    try:
        yield
    finally:
        reader.cancel()
        await bot.close()


async def test_the_next_batch_is_handled_while_a_save_is_written_and_acked_only_after_it() -> None:
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, gate = await started(bus)
    try:
        gate.hold()
        await publish_fill(bus, 1)
        await eventually(lambda: gate.waiting == 1, what="the first batch's save held")
        await publish_fill(bus, 2)
        # Handled while the first save is still being written (before: the consumer waited in it).
        await eventually(lambda: aggregator.counters["fills"] == 2, what="the second fill handled")
        assert aggregator.positions.quantity("bot_2", "MES") == 2
        assert gate.written == 0
        group = bus._streams[channels.CM_FILLS.name].group("aggregator")
        assert len(group.pending) == 2  # nothing acknowledged before its save is written
        gate.release()
        await eventually(lambda: not group.pending, what="both acknowledged")
        saved = await aggregator.store.load()
        assert saved is not None and saved.fill_ids == [(ACCOUNT, 1), (ACCOUNT, 2)]
    finally:
        gate.release()
        await aggregator.stop()
        await bus.close()


@pytest.mark.parametrize("written", [0, 1])
async def test_killed_with_a_save_in_flight_and_the_next_batch_handled_every_fill_counts_once(
    written: int,
) -> None:
    """``written``: how many of the two batches' saves were written when it died."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    first, gate = await started(bus)
    group = bus._streams[channels.CM_FILLS.name].group("aggregator")
    if written == 0:
        gate.hold()
    await publish_fill(bus, 1)
    if written == 1:
        await eventually(lambda: gate.written == 1 and not group.pending, what="the first batch saved")
        gate.hold()
    await eventually(lambda: first.counters["fills"] == 1, what="the first fill handled")
    await publish_fill(bus, 2)
    await eventually(lambda: first.counters["fills"] == 2, what="the second fill handled")
    await eventually(lambda: gate.waiting >= 1, what="a save held")
    assert len(group.pending) == 2 - written
    await kill(first)
    gate.release()
    assert gate.written == written  # the held writes died with it

    second, _ = await started(bus)
    try:
        await eventually(lambda: not group.pending, what="the unacknowledged fills handled again")
        await eventually(lambda: second.counters["fills"] == 2 - written, what="redelivered fills")
        assert second.positions.quantity("bot_2", "MES") == 2  # every fill once, none lost
        assert second.engine.bot_position("bot_2", "MES") == 2
        await publish_fill(bus, 1)  # the bus again (a duplicate): not counted
        await publish_fill(bus, 3)
        await eventually(lambda: second.positions.quantity("bot_2", "MES") == 3, what="the third fill")
        await asyncio.sleep(0.05)
        assert second.positions.quantity("bot_2", "MES") == 3
    finally:
        await second.stop()
        await bus.close()


async def test_a_failed_write_fails_the_saves_taken_on_top_of_it_and_the_next_writes_all() -> None:
    bus = MemoryBus(BusConfig())
    aggregator = Aggregator(sim_config(), bus, clock=lambda: START, account_id=ACCOUNT)
    gate = GatedJournal(bus.journal("aggregator"))
    store = aggregator.store = StateStore(gate)  # type: ignore[arg-type]
    await aggregator.on_quote(Quote(symbol="MES", contract_id=MES, timestamp=START, last=5000.0))
    await store.save(aggregator)
    await aggregator.on_fill(fill(1))
    gate.fail_next = True
    first = store.prepare(aggregator)  # fill 1
    await aggregator.on_fill(fill(2))
    second = store.prepare(aggregator)  # fill 2, on top of the first
    results = await asyncio.gather(store.write(first), store.write(second), return_exceptions=True)
    assert isinstance(results[0], JournalUnavailableError)
    assert isinstance(results[1], JournalUnavailableError)  # never written without the first
    saved = await store.load()
    assert saved is not None and saved.fill_ids == []
    await store.save(aggregator)  # after the failure: everything
    saved = await store.load()
    assert saved is not None and saved.fill_ids == [(ACCOUNT, 1), (ACCOUNT, 2)]
    assert [(p.bot_id, p.quantity) for p in saved.positions] == [("bot_2", 2)]


async def test_a_cancelled_write_fails_the_next_one() -> None:
    bus = MemoryBus(BusConfig())
    aggregator = Aggregator(sim_config(), bus, clock=lambda: START, account_id=ACCOUNT)
    gate = GatedJournal(bus.journal("aggregator"))
    store = aggregator.store = StateStore(gate)  # type: ignore[arg-type]
    await store.save(aggregator)
    await aggregator.on_fill(fill(1))
    gate.hold()
    first = asyncio.create_task(store.write(store.prepare(aggregator)))
    await aggregator.on_fill(fill(2))
    second = asyncio.create_task(store.write(store.prepare(aggregator)))
    await eventually(lambda: gate.waiting == 1, what="the first write held")
    first.cancel()
    gate.release()
    with pytest.raises(SaveFailed):
        await second
    await store.save(aggregator)
    saved = await store.load()
    assert saved is not None and saved.fill_ids == [(ACCOUNT, 1), (ACCOUNT, 2)]


async def test_a_fill_goes_to_its_bot_before_the_rest_of_its_batch_is_handled() -> None:
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, _ = await started(bus)
    fills_handled_at_receipt: list[int] = []
    try:
        async with bot_reading(bus, lambda: fills_handled_at_receipt.append(aggregator.counters["fills"])):
            async with aggregator._lock:  # both arrive before the consumer runs: one batch
                await publish_fill(bus, 1)
                await publish_fill(bus, 2)
            await eventually(lambda: len(fills_handled_at_receipt) == 2, what="both fills at the bot")
        assert fills_handled_at_receipt[0] == 1  # the first was out before the second was handled
    finally:
        await aggregator.stop()
        await bus.close()


async def test_a_batch_of_submissions_only_is_saved_once_after_its_send() -> None:
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, _ = await started(bus)
    commands = await bus.subscribe(channels.CM_COMMANDS, group="connection-manager")
    try:
        saves = aggregator.store.saves
        submission = OrderSubmission(
            order_id="s1", symbol="MES", side=Side.BUY, quantity=1, stop_loss=4996.0, take_profit=5012.0
        )
        await bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(submission, "bot_2"))
        batch = await commands.next_batch(10)
        assert [type(m.envelope.payload) for m in batch] == [PlaceOrder]
        group = bus._streams[channels.AGGREGATOR_ORDERS.name].group("aggregator")
        await eventually(lambda: not group.pending, what="the submission acknowledged")
        # One save, the dispatcher's after the send (before: one more, before the send).
        assert aggregator.store.saves == saves + 1
        saved = await aggregator.store.load()
        assert saved is not None and [(o.order_id, o.status) for o in saved.orders] == [("s1", "SENT")]
    finally:
        await commands.close()
        await aggregator.stop()
        await bus.close()


async def test_the_dispatchers_save_is_written_without_holding_the_messages_back() -> None:
    """The save after a send is taken under the lock and written without it: a fill arriving
    while it is written is handled, and the submission is acknowledged only once it is written."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, gate = await started(bus)
    commands = await bus.subscribe(channels.CM_COMMANDS, group="connection-manager")
    try:
        gate.hold()
        submission = OrderSubmission(
            order_id="s1", symbol="MES", side=Side.BUY, quantity=1, stop_loss=4996.0, take_profit=5012.0
        )
        await bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(submission, "bot_2"))
        await commands.next_batch(10)
        await eventually(lambda: gate.waiting == 1, what="the dispatcher's save held")
        await publish_fill(bus, 1)
        await eventually(lambda: aggregator.counters["fills"] == 1, what="the fill handled meanwhile")
        orders = bus._streams[channels.AGGREGATOR_ORDERS.name].group("aggregator")
        assert len(orders.pending) == 1  # the submission: not acknowledged before its save
        gate.release()
        await eventually(lambda: not orders.pending, what="the submission acknowledged")
    finally:
        gate.release()
        await commands.close()
        await aggregator.stop()
        await bus.close()


def journaled(bus: MemoryBus, tmp_path: Path, *settings: str) -> tuple[Aggregator, AggregatorJournal]:
    """An aggregator with a real trade journal (SQLite, in ``tmp_path``)."""
    config = sim_config(*settings)
    journal = AggregatorJournal(config, f"sqlite:///{tmp_path / 'journal.db'}")
    return Aggregator(config, bus, clock=lambda: START, account_id=ACCOUNT, journal=journal), journal


def held_journal(bus: MemoryBus, tmp_path: Path) -> tuple[Aggregator, AggregatorJournal, threading.Event]:
    """An aggregator with a real trade journal (SQLite) whose row writes wait until the event
    returned is set (as a database that does not answer)."""
    aggregator, journal = journaled(bus, tmp_path)
    rows_open = threading.Event()
    real_write = journal.store.write

    def held_write(records: Any) -> int:
        rows_open.wait(20)
        return real_write(records)

    journal.store.write = held_write  # type: ignore[method-assign]
    return aggregator, journal, rows_open


async def test_the_trade_journal_is_waited_for_off_the_handling_path(tmp_path: Path) -> None:
    """The journal's rows of a batch are written (a worker thread, fsync'd) while the next batch
    is handled: a fill behind them is not held up. The batch is acknowledged, and its state
    saved, only once its rows are written (a state with a fill whose row is missing would drop
    the redelivered fill as known after a crash, its row never written)."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, journal, rows_open = held_journal(bus, tmp_path)
    gate = GatedJournal(bus.journal("aggregator"))
    aggregator.store = StateStore(gate)  # type: ignore[arg-type]
    await aggregator.start()
    bot_fills = await bus.subscribe([channels.bot_orders("bot_2")], group="test-bot")
    try:
        await pinned(aggregator)
        group = bus._streams[channels.CM_FILLS.name].group("aggregator")
        await publish_fill(bus, 1)
        await eventually(lambda: aggregator.counters["fills"] == 1, what="the first fill handled")
        await publish_fill(bus, 2)
        # Handled, and out to its bot, while the first batch's rows are still being written.
        await eventually(lambda: aggregator.counters["fills"] == 2, what="the second fill handled")
        seen: list[int] = []
        while len(seen) < 2:
            async with asyncio.timeout(5):
                message = await bot_fills.__anext__()
            if isinstance(message.envelope.payload, Fill):
                seen.append(message.envelope.payload.fill_id)
            await message.ack()
        assert seen == [1, 2]
        await asyncio.sleep(0.05)
        assert len(group.pending) == 2  # nothing acknowledged before its rows are written
        assert gate.written == 0  # nor the state that has the fills saved
        rows_open.set()
        await eventually(lambda: not group.pending, what="both acknowledged once written")
        assert gate.written >= 1
        assert {f.key.split(":")[0] for f in journal.store.fills()} == {"1", "2"}
    finally:
        rows_open.set()
        await bot_fills.close()
        await aggregator.stop()
        await bus.close()


async def test_a_batch_whose_journal_rows_are_late_is_acknowledged_once_written(tmp_path: Path) -> None:
    """The database does not answer within the journal's timeout: the batch is not
    acknowledged then, and not forgotten either (before: left in flight for the rest of the
    run); it is acknowledged after a later save, once its rows are written."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, journal, rows_open = held_journal(bus, tmp_path)
    await aggregator.start()
    try:
        await pinned(aggregator)
        group = bus._streams[channels.CM_FILLS.name].group("aggregator")
        await publish_fill(bus, 1)
        await eventually(lambda: aggregator.counters["fills"] == 1, what="the fill handled")
        await asyncio.sleep(FLUSH_TIMEOUT_S + 0.5)  # the journal's wait timed out
        assert len(group.pending) == 1
        rows_open.set()
        await eventually(lambda: not group.pending, within=FLUSH_TIMEOUT_S * 3, what="acknowledged at last")
        assert {f.key.split(":")[0] for f in journal.store.fills()} == {"1"}
    finally:
        rows_open.set()
        await aggregator.stop()
        await bus.close()


async def test_a_save_that_holds_trading_back_does_not_wait_for_the_journals_quiet(tmp_path: Path) -> None:
    """The trade journal writes once an order's records settle (``journal.quietMs``), and the
    batches' acknowledgements wait for that; a save under the aggregator's lock (here the kill
    switch's) has it write at once: the halt is not held up by the quiet."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, journal = journaled(bus, tmp_path, "journal.quietMs=1000", "journal.maxDelayMs=1000")
    await aggregator.start()
    try:
        await pinned(aggregator)
        group = bus._streams[channels.CM_FILLS.name].group("aggregator")
        await publish_fill(bus, 1)
        await eventually(lambda: aggregator.counters["fills"] == 1, what="the fill handled")
        assert journal.writer.done == 0  # its row waits for the quiet
        loop = asyncio.get_running_loop()
        began = loop.time()
        await aggregator.command(ControlAction.HALT, "api:test", "news")
        assert loop.time() - began < 0.8  # (the quiet is 1 s)
        assert {f.key.split(":")[0] for f in journal.store.fills()} == {"1"}
        await eventually(lambda: not group.pending, what="the fill's batch acknowledged")
    finally:
        await aggregator.stop()
        await bus.close()


async def test_a_fill_goes_to_its_bot_before_its_pnl_and_its_row_is_kept_when_a_publish_fails(
    tmp_path: Path,
) -> None:
    """A fill's journal row is recorded with the positions (nothing that fails after it, such as
    a publish, can leave the fill counted and its row missing); the day's P&L updates come
    after the fill is out to its bot."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, journal = journaled(bus, tmp_path)
    await aggregator.start()
    group = bus._streams[channels.CM_FILLS.name].group("aggregator")
    published: list[str] = []  # the payload types the aggregator published, in order
    real_publish = aggregator._publish

    async def recording(channel: channels.Channel, payload: Any, message_id: str | None = None) -> None:
        published.append(type(payload).__name__)
        await real_publish(channel, payload, message_id)

    aggregator._publish = recording  # type: ignore[method-assign]
    at_receipt: list[tuple[int, int]] = []  # (journal records, P&L updates) when the bot had it

    def at_fill() -> None:
        at_receipt.append((journal.recorded(), published.count("PnlUpdate")))

    try:
        async with bot_reading(bus, at_fill):
            await pinned(aggregator)
            before = journal.recorded()
            await publish_fill(bus, 1)
            await eventually(lambda: at_receipt, what="the fill at the bot")
            assert at_receipt == [(before + 1, 0)]  # its row, no P&L update yet
            await eventually(lambda: "PnlUpdate" in published, what="the P&L after it")
            await eventually(lambda: not group.pending, what="the fill's batch acknowledged")

            # The bot's publish fails (its stream full, Redis gone too long): the fill was counted,
            # its message is acknowledged (a bug or a full bus must not stop the flow), its row kept.
            async def failing(channel: channels.Channel, payload: Any, message_id: str | None = None) -> None:
                if channel == channels.bot_orders("bot_2"):
                    raise BusFullError(channel.name, 1, 0.0)
                await real_publish(channel, payload, message_id)

            aggregator._publish = failing  # type: ignore[method-assign]
            await publish_fill(bus, 2, Side.SELL)
            await eventually(lambda: aggregator.counters["fills"] == 2, what="the second fill counted")
            await eventually(lambda: not group.pending, what="its batch acknowledged")
            assert {f.key.split(":")[0] for f in journal.store.fills()} == {"1", "2"}
    finally:
        await aggregator.stop()
        await bus.close()


async def test_an_exchange_batchs_save_gives_way_to_an_order_on_its_way_a_sends_does_not() -> None:
    """While a command is sent and not answered, a batch of exchange events (a fill) is saved
    and acknowledged only once the answer is handled (its writes would compete for the CPU with
    the order's hops); the save that records the send itself is written at once (a crash must not
    forget a live order: its submission, delivered again, could be refused while it works)."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, gate = await started(bus)
    aggregator.order_gate.hold_s = 30.0  # (the default is 0.2 s; here only the answer ends it)
    commands = await bus.subscribe(channels.CM_COMMANDS, group="connection-manager")
    fills = bus._streams[channels.CM_FILLS.name].group("aggregator")
    orders = bus._streams[channels.AGGREGATOR_ORDERS.name].group("aggregator")
    try:
        submission = OrderSubmission(
            order_id="s1", symbol="MES", side=Side.BUY, quantity=1, stop_loss=4996.0, take_profit=5012.0
        )
        await bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(submission, "bot_2"))
        (sent,) = await commands.next_batch(10)
        assert isinstance(sent.envelope.payload, PlaceOrder)
        await eventually(lambda: not orders.pending, what="the send saved and acknowledged at once")
        saved = await aggregator.store.load()
        assert saved is not None and [(o.order_id, o.status) for o in saved.orders] == [("s1", "SENT")]
        written = gate.written
        await publish_fill(bus, 7)
        await eventually(lambda: aggregator.counters["fills"] == 1, what="the fill handled")
        await asyncio.sleep(0.1)
        assert (gate.written, len(fills.pending)) == (written, 1)
        assert aggregator.order_gate.held >= 1
        answer = CommandResult(
            command_id=sent.envelope.payload.command_id, command=MessageType.PLACE_ORDER, ok=True,
            exchange_order_id=1,
        )  # fmt: skip
        await bus.publish(channels.CM_ORDER_UPDATES, Envelope.wrap(answer, "connection-manager"))
        await eventually(lambda: not fills.pending, what="saved and acknowledged")
        assert gate.written > written
    finally:
        await commands.close()
        await aggregator.stop()
        await bus.close()


async def test_a_save_under_the_lock_does_not_wait_behind_a_held_write() -> None:
    """A kill-switch action while an order is on its way and a fill's save is held: the action's
    save is written in turn at once (before: it waited the gate's whole hold behind the held
    write, under the lock, and nothing else was handled meanwhile)."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, _ = await started(bus)
    aggregator.order_gate.hold_s = 30.0
    commands = await bus.subscribe(channels.CM_COMMANDS, group="connection-manager")
    fills = bus._streams[channels.CM_FILLS.name].group("aggregator")
    try:
        submission = OrderSubmission(
            order_id="s1", symbol="MES", side=Side.BUY, quantity=1, stop_loss=4996.0, take_profit=5012.0
        )
        await bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(submission, "bot_2"))
        await commands.next_batch(10)
        await publish_fill(bus, 7)
        await eventually(lambda: aggregator.order_gate.held >= 1, what="the fill's save held")
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.wait_for(aggregator.command(ControlAction.HALT, "api:test", "news"), 5)
        assert loop.time() - began < 1.0  # (the hold is 30 s)
        await eventually(lambda: not fills.pending, what="the held batch acknowledged in turn")
    finally:
        await commands.close()
        await aggregator.stop()
        await bus.close()


async def test_a_command_is_out_before_its_log_line_is_written() -> None:
    """The dispatcher yields right after publishing a command (the bus's writer, or the
    connection manager in this process, takes it then); its "command sent" line comes after."""
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator, _ = await started(bus)
    commands = await bus.subscribe(channels.CM_COMMANDS, group="connection-manager")
    logged_at_receipt: list[int] = []
    try:
        with structlog.testing.capture_logs() as logs:
            submission = OrderSubmission(
                order_id="s1", symbol="MES", side=Side.BUY, quantity=1, stop_loss=4996.0, take_profit=5012.0
            )
            await bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(submission, "bot_2"))
            await commands.next_batch(10)
            logged_at_receipt.append(sum(entry["event"] == "command sent" for entry in logs))
            await eventually(lambda: any(entry["event"] == "command sent" for entry in logs), what="logged")
        assert logged_at_receipt == [0]
    finally:
        await commands.close()
        await aggregator.stop()
        await bus.close()
