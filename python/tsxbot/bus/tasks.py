"""Ending background tasks for good.

Python 3.11's ``asyncio.wait_for`` can lose a cancellation that arrives just as its inner call
finishes (it returns the result instead of raising), and a reader or writer loop then goes on as if
nothing happened: a plain ``task.cancel(); await task`` waits for it forever. ``cancel_and_wait``
cancels again until every task has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

CANCEL_AGAIN_SECONDS = 0.5


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[None]], *, again_every: float = CANCEL_AGAIN_SECONDS
) -> list[BaseException]:
    """Cancels ``tasks`` and returns once every one has ended, cancelling those still running
    again every ``again_every`` seconds. Returns the exceptions the tasks ended with (other than
    their cancellation), so none goes unretrieved."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_every)
    return [exc for task in tasks if not task.cancelled() and (exc := task.exception()) is not None]
