"""The journal writer: the order path hands records to a bounded queue and never waits; one task
drains the queue into the database in batches, off the event loop (a worker thread).

The writer lets records gather before it writes them (``quiet_s``, ``max_delay_s``): an order's
events come within a few milliseconds, and the database work (Python, holding the interpreter
lock) would otherwise run while the order is on its way, in the same process. It writes once no
record has been offered for ``quiet_s`` and nothing holds it (:meth:`hold_while`: the aggregator
holds it while an order is on its way to the exchange), or the oldest waiting is ``max_delay_s``
old, or a whole batch waits, or somebody waits for the rows with ``hurry`` (:meth:`written_upto`,
:meth:`flush`).

When the queue is full, :meth:`JournalWriter.offer` refuses at once with a :class:`JournalFull`
(and counts it in ``refused``); the record is still in the bus streams and is written when they
are replayed (inserts are idempotent by key). A failed database write is retried (the batch stays
queued), and :meth:`close` writes everything queued before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import msgspec
import structlog

from tsxbot.journal.records import Record
from tsxbot.journal.store import JournalStore

log = structlog.get_logger("tsxbot.journal")


class JournalFull(msgspec.Struct, frozen=True):
    """A record refused because the writer's queue is full."""

    table: str
    key: str
    capacity: int


class JournalWriter:
    def __init__(
        self,
        store: JournalStore,
        *,
        capacity: int = 10_000,
        batch: int = 500,
        retry_s: float = 0.5,
        quiet_s: float = 0.0,
        max_delay_s: float = 0.0,
    ):
        if capacity < 1 or batch < 1:
            raise ValueError(f"capacity and batch must be >= 1 (got {capacity}, {batch})")
        if quiet_s < 0 or max_delay_s < 0:
            raise ValueError(f"quiet_s and max_delay_s must be >= 0 (got {quiet_s}, {max_delay_s})")
        self.store = store
        self.capacity = capacity
        self.batch = batch
        self.retry_s = retry_s
        self.quiet_s = quiet_s
        self.max_delay_s = max_delay_s
        self._last_offer = 0.0  # the event loop's time of the newest offer
        self._hurry = asyncio.Event()  # set when _hurry_upto rises (wakes a waiting _gather)
        self._hurry_upto = 0  # the records offered before this are written without waiting
        self._hold: Callable[[], bool] | None = None
        self.transactions = 0  # database writes that succeeded
        self._taken = 0  # of the records offered, how many are in a batch being written (or done)
        self._queue: asyncio.Queue[Record] = asyncio.Queue(maxsize=capacity)
        self._task: asyncio.Task[None] | None = None
        self.written = 0  # rows added
        self.duplicates = 0  # records whose key was already stored
        self.refused = 0  # offers refused because the queue was full
        self.failures = 0  # database writes that failed (and were retried)
        self.offered = 0  # records queued so far; they are written in this order
        self.done = 0  # of those, how many are written (or were already stored)
        self._progress = asyncio.Condition()

    def offer(self, record: Record) -> JournalFull | None:
        """Queue ``record`` without waiting; a :class:`JournalFull` when the queue is full."""
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            self.refused += 1
            log.warning("journal_full", table=record.TABLE.name, key=record.key, capacity=self.capacity)
            return JournalFull(record.TABLE.name, record.key, self.capacity)
        self.offered += 1
        if self.quiet_s:
            self._last_offer = asyncio.get_running_loop().time()
        return None

    def hold_while(self, busy: Callable[[], bool]) -> None:
        """After the quiet, records wait while ``busy()`` (asked every ``quiet_s``), up to
        ``max_delay_s``."""
        self._hold = busy

    def hurry(self, upto: int | None = None) -> None:
        """Write the first ``upto`` records offered (all offered so far by default) without
        waiting for the quiet, in as many batches as they take."""
        self._hurry_upto = max(self._hurry_upto, self.offered if upto is None else upto)
        if self._hurry_upto > self._taken:
            self._hurry.set()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="journal-writer")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            await self._gather(loop.time())
            batch = [first]
            while len(batch) < self.batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._taken += len(batch)
            await self._write(batch)

    async def _write(self, batch: list[Record]) -> None:
        while True:
            try:
                added = await asyncio.to_thread(self.store.write, batch)
            except Exception as exc:
                self.failures += 1
                log.error("journal_write_failed", rows=len(batch), error=str(exc))
                await asyncio.sleep(self.retry_s)
                continue
            self.transactions += 1
            self.written += added
            self.duplicates += len(batch) - added
            for _ in batch:
                self._queue.task_done()
            self.done += len(batch)
            async with self._progress:
                self._progress.notify_all()
            return

    async def _gather(self, since: float) -> None:
        """Waits until the records offered settle (see the module), from the first one's
        ``since``; returns at once when the writer does not wait (``quiet_s`` 0)."""
        if not self.quiet_s:
            return
        loop = asyncio.get_running_loop()
        deadline = since + self.max_delay_s
        while self._hurry_upto <= self._taken and self._queue.qsize() + 1 < self.batch:
            now = loop.time()
            if now >= deadline:
                break
            quiet_at = self._last_offer + self.quiet_s
            if now >= quiet_at:
                if self._hold is None or not self._hold():
                    break
                quiet_at = now + self.quiet_s  # held: asked again after another quiet
            wake = min(quiet_at, deadline)
            self._hurry.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(wake):
                    await self._hurry.wait()

    async def flush(self) -> None:
        """Wait until every queued record is written (written at once, not after the quiet)."""
        self.hurry()
        await self._queue.join()

    async def written_upto(self, count: int, *, hurry: bool = True) -> None:
        """Wait until the first ``count`` records offered are written (not the ones offered
        after them: a steady flow of new records never holds this back). ``hurry``: have them
        written now; else they are written when the records settle."""
        if self.done >= count:
            return
        if hurry:
            self.hurry(count)
        async with self._progress:
            await self._progress.wait_for(lambda: self.done >= count)

    async def close(self) -> None:
        """Write what is queued, then stop the task."""
        if self._task is None:
            return
        await self.flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
