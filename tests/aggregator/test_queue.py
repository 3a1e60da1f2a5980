"""The order queue: priorities, the bound, the expiry and the account-wide pace; and end to end,
an order that waits too long is refused and never reaches the exchange."""

from __future__ import annotations

import pytest

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from tsxbot.aggregator.queue import OrderQueue, Priority, QueuedCommand, QueueFull, RateLimiter
from tsxbot.messages import CancelOrder, RiskReason, RiskRejection


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def cmd(name: str, priority: Priority, bot_priority: int = 0) -> QueuedCommand:
    return QueuedCommand(
        priority, CancelOrder(command_id=name, exchange_order_id=1), bot_priority=bot_priority
    )


def test_flatten_and_protective_go_before_exits_before_entries() -> None:
    queue = OrderQueue(10, 5.0, FakeClock())
    for item in (
        cmd("entry-1", Priority.ENTRY),
        cmd("exit-1", Priority.EXIT),
        cmd("entry-urgent", Priority.ENTRY, bot_priority=5),
        cmd("protect-1", Priority.PROTECTIVE),
        cmd("exit-2", Priority.EXIT),
    ):
        queue.push(item)
    order = []
    while (item := queue.pop()) is not None:
        order.append(item.command_id)
    assert order == ["protect-1", "exit-1", "exit-2", "entry-urgent", "entry-1"]


def test_a_full_queue_refuses_bot_orders_but_never_protective_commands() -> None:
    queue = OrderQueue(2, 5.0, FakeClock())
    queue.push(cmd("a", Priority.ENTRY))
    queue.push(cmd("b", Priority.EXIT))
    with pytest.raises(QueueFull) as refused:
        queue.push(cmd("c", Priority.ENTRY))
    assert refused.value.size == 2
    queue.push(cmd("stop-cancel", Priority.PROTECTIVE))  # always fits
    assert len(queue) == 3


def test_orders_queued_past_the_maximum_age_come_back_expired() -> None:
    clock = FakeClock()
    queue = OrderQueue(10, 5.0, clock)
    queue.push(cmd("old", Priority.ENTRY))
    clock.t += 3
    queue.push(cmd("young", Priority.ENTRY))
    queue.push(cmd("protect", Priority.PROTECTIVE))
    clock.t += 2.5
    assert [i.command_id for i in queue.take_expired()] == ["old"]
    assert queue.next_expiry_in() == pytest.approx(2.5)
    assert [queue.pop().command_id, queue.pop().command_id] == ["protect", "young"]  # type: ignore[union-attr]
    assert queue.pop() is None and len(queue) == 0


def test_the_rate_limiter_paces_every_command_after_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        assert limiter.wait_time() == 0
        limiter.take()
    assert limiter.wait_time() == pytest.approx(0.5)
    clock.t += 0.5
    assert limiter.wait_time() == 0


async def test_an_order_waiting_past_max_queue_seconds_is_refused_and_never_sent(agg: AggHarness) -> None:
    """One command per 100 s after a burst of one: the second order waits, expires at 0.3 s, and
    the bot is told; the exchange never sees it. A third finds the queue (size 1) full."""
    await agg.start(
        "aggregator.commandsPerSecond=0.01",
        "aggregator.commandBurst=1",
        "aggregator.maxQueueSeconds=0.3",
        "aggregator.maxQueueSize=1",
    )
    mark = await agg.wait_mark()
    bracket = {"stop_loss": mark - 4.0, "take_profit": mark + 12.0}
    await agg.submit("bot_2", order_id="q1", **bracket)
    await eventually(lambda: agg.agg.counters["sent"] == 1, what="the first sent")
    await agg.submit("bot_2", order_id="q2", **bracket)
    await agg.submit("bot_2", order_id="q3", **bracket)
    full = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "q3")
    assert (full.reason, full.limit, full.value) == (RiskReason.QUEUE_FULL, 1.0, 1.0)
    expired = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "q2")
    assert expired.reason is RiskReason.QUEUE_EXPIRED
    assert expired.limit == 0.3 and expired.value is not None and expired.value >= 0.3
    assert agg.agg.counters["sent"] == 1
    assert agg.agg.engine.working_orders <= 1  # q2 and q3 no longer count as working
    tags = {o.get("customTag") for o in await agg.open_orders()}
    assert agg.agg.orders["bot_2:q2"].custom_tag not in tags
    assert agg.agg.orders["bot_2:q2"].status == "EXPIRED"
