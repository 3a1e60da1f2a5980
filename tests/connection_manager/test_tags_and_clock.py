"""A customTag names one order: a different order under a reused tag is refused, a retry of the
same order gets it back. And the exchange's clock is never taken from the host: a manager whose
host clock is days away from the exchange's still finds, after a restart, the order and the fill
its dead predecessor left behind."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from support.bus_helpers import eventually
from support.cm_harness import Harness
from support.sim import SimHandle
from tsxbot.gateway.exchange_clock import SEARCH_FLOOR, ExchangeClock
from tsxbot.messages import CommandFailure, CommandResult, Fill, OrderType, PlaceOrder, Side


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def order(
    command_id: str, tag: str, *, quantity: int = 1, bot: str = "bot_2", limit: float = 1000.0
) -> PlaceOrder:
    """A far buy limit (it rests: nothing fills)."""
    return PlaceOrder(
        command_id=command_id,
        order_id=f"o-{command_id}",
        bot_id=bot,
        custom_tag=tag,
        symbol="MES",
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=limit,
    )


async def orders_tagged(h: Harness, tag: str) -> list[tuple[int, int]]:
    """(id, size) of the simulator's orders with the tag, searched over its whole history."""
    rest = h.managers[-1].rest
    return [
        (o.id, o.size)
        for o in await rest.search_orders(h.sim.account_id, SEARCH_FLOOR)
        if o.custom_tag == tag
    ]


async def test_a_reused_tag_is_refused_unless_it_is_the_same_order(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    one_lot = order("c-1lot", "shared-1")
    placed = await manager.execute_command(one_lot)
    assert placed.ok and placed.exchange_order_id is not None
    # Another bot, another size, the same tag, contract, side and type: refused, never the 1-lot.
    three_lot = order("c-3lot", "shared-1", quantity=3, bot="manual")
    refused = await manager.execute_command(three_lot)
    assert (refused.ok, refused.failure, refused.exchange_order_id) == (
        False,
        CommandFailure.TAG_IN_USE,
        None,
    )
    assert "shared-1" in (refused.message or "")
    # The same order under another bot is another order too.
    other_bot = await manager.execute_command(order("c-otherbot", "shared-1", bot="bot_3"))
    assert other_bot.failure is CommandFailure.TAG_IN_USE
    # A sender's genuine retry (a new commandId, every field equal) gets the order back.
    retry = await manager.execute_command(order("c-1lot-retry", "shared-1"))
    assert (retry.ok, retry.exchange_order_id) == (True, placed.exchange_order_id)
    assert await orders_tagged(h, "shared-1") == [(placed.exchange_order_id, 1)]

    # A restarted manager knows nothing of the tag: the exchange refuses the duplicate and the
    # order found under it decides, field by field (this one estimates the exchange's time, as a
    # manager run alone does).
    await manager.stop()
    h.managers.remove(manager)
    second = await h.start_manager(clock=None)
    again = await second.execute_command(order("c-3lot-again", "shared-1", quantity=3, bot="manual"))
    assert again.failure is CommandFailure.TAG_IN_USE
    assert "different order" in (again.message or "")
    same = await second.execute_command(order("c-1lot-after-restart", "shared-1"))
    assert (same.ok, same.exchange_order_id) == (True, placed.exchange_order_id)
    assert await orders_tagged(h, "shared-1") == [(placed.exchange_order_id, 1)]


async def test_a_restarted_manager_finds_its_predecessors_order_and_fill_with_the_clocks_days_apart(
    harness: Harness, sim: SimHandle
) -> None:
    """The predecessor claimed the command, placed the order and died before recording the result
    or publishing the fill. Its successor runs on the host's clock, days from the exchange's."""
    h = harness
    host_gap = dt.datetime.now(dt.UTC) - sim.now()
    assert abs(host_gap) > dt.timedelta(hours=6), "the test needs the host and the exchange hours apart"
    command = PlaceOrder(
        command_id="c-dead",
        order_id="o-dead",
        bot_id="bot_2",
        custom_tag="bot_2-dead",
        symbol="MES",
        side=Side.BUY,
        quantity=2,
    )
    bus = await h.bus()
    assert (await bus.journal("commands").claim(command.command_id)).new  # the dead attempt's claim
    await sim.login()
    placed = await sim.place(contractId="CON.F.US.MES.Z26", size=2, customTag=command.custom_tag)
    order_id = placed["orderId"]
    await h.start_observer()
    manager = await h.start_manager(clock=None)
    # Its start-up reconciliation searched from the exchange's time, not the host's: the fill
    # the predecessor never published goes out now, once.
    await eventually(
        lambda: any(f.exchange_order_id == order_id for f in h.payloads(Fill)), within=10, what="the fill"
    )
    assert abs(manager.clock() - sim.now()) < dt.timedelta(minutes=5)
    await h.send(command)  # redelivered: the predecessor never acknowledged it
    await eventually(lambda: h.payloads(CommandResult), within=10, what="the result")
    (result,) = h.payloads(CommandResult)
    assert (result.ok, result.exchange_order_id, result.failure) == (True, order_id, None)
    assert await orders_tagged(h, command.custom_tag) == [(order_id, 2)]
    fills = [f for f in h.payloads(Fill) if f.exchange_order_id == order_id]
    assert len(fills) == 1 and fills[0].quantity == 2
    # A copy under a new commandId (nothing in the journal) is refused as a duplicate by the
    # exchange, looked up in the exchange's time, and found: the same order, not a failure.
    retry = await manager.execute_command(msgspec.structs.replace(command, command_id="c-dead-copy"))
    assert (retry.ok, retry.exchange_order_id) == (True, order_id)
    assert await orders_tagged(h, command.custom_tag) == [(order_id, 2)]


def test_the_exchange_clock_follows_the_exchange_not_the_host() -> None:
    host = dt.datetime(2026, 12, 4, 22, 0, tzinfo=dt.UTC)
    clock = ExchangeClock(lambda: host)
    assert not clock.known
    assert clock.since(dt.timedelta(hours=24)) == SEARCH_FLOOR  # nothing said yet: from the floor
    assert clock.now() == host
    exchange = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    clock.observe(exchange - dt.timedelta(hours=1))  # an hour-old order: at least that late
    clock.observe(exchange - dt.timedelta(hours=3))  # an older one says less: ignored
    assert clock.now() == exchange - dt.timedelta(hours=1)
    clock.observe(exchange)
    assert clock.now() == exchange
    assert clock.since(dt.timedelta(hours=24)) == exchange - dt.timedelta(hours=24)
    clock.observe(exchange - dt.timedelta(minutes=30), fresh=True)  # an event now: its clock went back
    assert clock.now() == exchange - dt.timedelta(minutes=30)
    clock.observe(None)
    clock.observe(dt.datetime(2026, 11, 24, 15, 0))  # naive: UTC (lower: ignored)
    assert clock.now() == exchange - dt.timedelta(minutes=30)


async def test_a_manager_on_an_empty_account_learns_the_exchanges_time_from_its_market(
    harness: Harness, sim: SimHandle
) -> None:
    manager = await harness.start_manager(clock=None)
    assert abs(dt.datetime.now(dt.UTC) - sim.now()) > dt.timedelta(hours=6)
    await eventually(lambda: manager.exchange_clock.known, within=10, what="the exchange's time")
    assert abs(manager.clock() - sim.now()) < dt.timedelta(minutes=1)
    assert manager.market.in_session()  # the feed judges the session by the exchange's time too
