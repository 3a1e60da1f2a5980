"""Handing the CPU to the process a message was just written to.

A write to a local socket (Redis on this machine) wakes its reader with a *sync* wake-up: the
kernel expects the writer to block soon and queues the reader on the writer's own CPU. A service
that goes on working after the write (a log line, the rest of its batch, its bookkeeping) keeps
the reader waiting for its time slice to end, even with the machine's other core idle. Traced on
the 2-core machine (BENCHMARKS.md, "Trading aggregator", 2026-12-06 third session): the
aggregator's command reached the connection manager through Redis 0.65-0.8 ms after it was
written, exactly when the aggregator went idle, against 0.25 ms for the same hop from an idle
writer.

:func:`hand_over` yields the CPU once (``sched_yield``): a reader queued here runs now, and the
writer carries on right after it. With nothing queued here it returns at once (about a
microsecond). ``RespConnection.pipeline`` calls it after a write somebody waits on now (a
message published, a read whose answer is awaited, a journal claim), not after a blocking read
re-armed before its batch is handled or after acknowledgements: there this process's own work
comes first (4 alternated pairs: 4.28-4.87 ms against 4.70-5.16). It is called through
``ctypes.PyDLL``, which keeps the GIL: the CPU goes to another process, never to another thread
of this one (``os.sched_yield`` lets go of the GIL, and a thread that takes it, such as the
trade journal's writer, would hold up the event loop). Where the C library has no
``sched_yield`` it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _sched_yield() -> Callable[[], object] | None:
    try:
        function: Callable[[], object] = ctypes.PyDLL(None).sched_yield
    except (AttributeError, OSError, TypeError):  # (no such function; no C library to load)
        return None
    return function


_yield = _sched_yield()


def hand_over() -> None:
    """Call right after writing a message another local process waits for."""
    if _yield is not None:
        _yield()
