"""The journal writer: the order path hands records to a bounded queue and never waits; one task
drains the queue into the database in batches, off the event loop (a worker thread).

When the queue is full, :meth:`JournalWriter.offer` refuses at once with a :class:`JournalFull`
(and counts it in ``refused``); the record is still in the bus streams and is written when they
are replayed (inserts are idempotent by key). A failed database write is retried (the batch stays
queued), and :meth:`close` writes everything queued before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib

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
        self, store: JournalStore, *, capacity: int = 10_000, batch: int = 500, retry_s: float = 0.5
    ):
        if capacity < 1 or batch < 1:
            raise ValueError(f"capacity and batch must be >= 1 (got {capacity}, {batch})")
        self.store = store
        self.capacity = capacity
        self.batch = batch
        self.retry_s = retry_s
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
        return None

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="journal-writer")

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self.batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
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
            self.written += added
            self.duplicates += len(batch) - added
            for _ in batch:
                self._queue.task_done()
            self.done += len(batch)
            async with self._progress:
                self._progress.notify_all()
            return

    async def flush(self) -> None:
        """Wait until every queued record is written."""
        await self._queue.join()

    async def written_upto(self, count: int) -> None:
        """Wait until the first ``count`` records offered are written (not the ones offered
        after them: a steady flow of new records never holds this back)."""
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
