"""Handing the CPU to the process a message was just written to.

A write to a local socket (Redis, the simulator's REST endpoint) wakes its reader with a *sync*
wake-up: the kernel expects the writer to block soon and queues the reader on the writer's own
CPU. A service that goes on working after the write (a log line, the rest of its batch, its
bookkeeping) keeps the reader waiting for its time slice to end, even with the machine's other
core idle. Traced on the 2-core machine (BENCHMARKS.md, "Trading aggregator", 2026-12-06 third
session): the aggregator's command reached the connection manager through Redis 0.65-0.8 ms
after it was written, exactly when the aggregator went idle, against 0.25 ms for the same hop
from an idle writer.

:func:`hand_over` yields the CPU once (``sched_yield``): a reader queued here runs now, and the
writer carries on right after it. With nothing queued here it returns at once (about a
microsecond). Where ``sched_yield`` does not exist it does nothing.
"""

from __future__ import annotations

import os

_sched_yield = getattr(os, "sched_yield", None)


def hand_over() -> None:
    """Call right after writing a message another local process waits for."""
    if _sched_yield is not None:
        _sched_yield()
