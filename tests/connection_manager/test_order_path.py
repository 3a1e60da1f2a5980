"""The order path through the connection manager, against the real simulator and a real bus:
an order sent on the bus is placed, filled and reported; outages in the middle lose nothing and
double nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import msgspec
import pytest
import structlog

from support.bus_helpers import bus_config, eventually
from support.cm_harness import API_KEY, Harness, place
from support.redis_server import RedisServer
from support.sim import SimHandle
from tsxbot.bus import create_bus
from tsxbot.config.secrets import Secret
from tsxbot.connection_manager.service import ConnectionManager
from tsxbot.gateway.models import PlaceOrderRequest
from tsxbot.messages import (
    ClosePosition,
    CommandFailure,
    CommandResult,
    Envelope,
    Fill,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PlaceOrder,
    PositionUpdate,
    Side,
    UpdateStopLossTakeProfit,
    channels,
)


def other_bots_sell_limit(tag: str, price: float) -> PlaceOrder:
    """bot_3's entry order: a sell limit (on the exit side of bot_2's long positions)."""
    return PlaceOrder(
        command_id=f"c-{tag}",
        order_id=f"o-{tag}",
        bot_id="bot_3",
        custom_tag=tag,
        symbol="MES",
        side=Side.SELL,
        quantity=1,
        order_type=OrderType.LIMIT,
        limit_price=price,
    )


async def sim_orders_tagged(h: Harness, tag: str) -> list[int]:
    rest = h.managers[-1].rest
    since = h.sim.now() - dt.timedelta(hours=1)
    return [o.id for o in await rest.search_orders(h.sim.account_id, since) if o.custom_tag == tag]


async def test_order_on_the_bus_is_placed_filled_and_reported(harness: Harness) -> None:
    h = harness
    await h.start_manager()
    await h.start_observer()
    await h.send(place("a1", quantity=2))

    await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="command result")
    result = h.payloads(CommandResult)[0]
    assert result.ok, result
    assert result.command_id == "cmd-a1"
    order_id = result.exchange_order_id

    def filled(u: OrderUpdate) -> bool:
        return u.exchange_order_id == order_id and u.status is OrderStatus.FILLED

    await eventually(lambda: len(h.payloads(OrderUpdate, filled)) == 1, what="filled order update")
    update = h.payloads(OrderUpdate, filled)[0]
    assert (update.bot_id, update.order_id, update.custom_tag, update.symbol) == (
        "bot_2",
        "ord-a1",
        "bot_2-a1",
        "MES",
    )
    await eventually(lambda: len(h.payloads(Fill)) >= 1, what="fill")
    fills = h.payloads(Fill)
    assert sum(f.quantity for f in fills) == 2
    assert {f.bot_id for f in fills} == {"bot_2"}
    assert all(f.realized_pnl is None for f in fills)  # opening fills
    await eventually(lambda: any(p.net_quantity == 2 for p in h.payloads(PositionUpdate)), what="position +2")
    # The bracket legs rest at the exchange, attributed to the same bot.
    legs = h.payloads(OrderUpdate, lambda u: u.exchange_order_id != order_id and u.status is OrderStatus.OPEN)
    assert len({u.exchange_order_id for u in legs}) == 2
    assert await sim_orders_tagged(h, "bot_2-a1") == [order_id]


async def test_repeated_command_executes_once(harness: Harness) -> None:
    h = harness
    await h.start_manager()
    await h.start_observer()
    await h.send(place("r1"))
    await h.send(place("r1"))  # the same command again (a sender's retry: a new message id)
    await eventually(lambda: len(h.payloads(Fill)) >= 1, what="fill")
    await asyncio.sleep(0.5)
    results = h.payloads(CommandResult)
    assert len({r.exchange_order_id for r in results}) == 1
    assert all(r.ok for r in results)
    assert len(await sim_orders_tagged(h, "bot_2-r1")) == 1
    assert sum(f.quantity for f in h.payloads(Fill)) == 1
    assert h.managers[0].executor.repeats == 1


async def test_a_restarted_manager_never_doubles_a_redelivered_order(harness: Harness) -> None:
    """A second connection-manager process gets an order command the first already placed (the
    first died before its ack): TopStepX refuses the duplicate tag and the gateway finds the
    existing order."""
    h = harness
    first = await h.start_manager()
    await h.start_observer()
    await h.send(place("x1"))
    await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="first result")
    await first.stop()
    h.managers.remove(first)
    second = await h.start_manager()
    await h.send(place("x1"))
    await eventually(lambda: second.executor.result_of("cmd-x1") is not None, within=10, what="second run")
    (first_result,) = h.payloads(CommandResult)  # the second result has the same message id: once
    second_result = second.executor.result_of("cmd-x1")
    assert second_result is not None
    assert second_result.ok
    assert second_result.exchange_order_id == first_result.exchange_order_id
    assert len(await sim_orders_tagged(h, "bot_2-x1")) == 1


async def test_fill_during_a_user_hub_outage_is_recovered_exactly_once(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    await eventually(lambda: manager.counters.reconciliations == 1, what="start-up reconciliation")
    # The user hub goes down and stays down for a while; the order fills while it is down.
    await h.sim.admin("faults/hub/refuse", {"hub": "user", "seconds": 1.5})
    await h.sim.admin("faults/hub/drop", {"hub": "user"})
    await eventually(lambda: not manager.user_hub.connected, what="user hub down")
    await h.send(place("o1", stop=None, target=None))
    await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="command result")
    assert h.payloads(CommandResult)[0].ok
    assert h.payloads(Fill) == []  # nothing reported while the hub is down
    await eventually(
        lambda: manager.user_hub.connected and manager.counters.reconciliations == 2,
        within=10,
        what="reconnect and reconciliation",
    )
    await eventually(lambda: len(h.payloads(Fill)) == 1, what="the missed fill")
    fill = h.payloads(Fill)[0]
    assert (fill.bot_id, fill.quantity) == ("bot_2", 1)
    assert any(u.status is OrderStatus.FILLED for u in h.payloads(OrderUpdate))
    # Positions are reconciled after fills: over Redis they may arrive a moment later.
    await eventually(
        lambda: [p.net_quantity for p in h.payloads(PositionUpdate)][-1:] == [1], what="the position"
    )
    await asyncio.sleep(0.5)
    assert len(h.payloads(Fill)) == 1  # and never a second time


async def test_duplicated_reordered_and_lost_hub_events_converge_once(harness: Harness) -> None:
    """Every user-hub push may be sent twice, held back behind the next, or lost: fills still go
    out once each, and the position ends right (the periodic reconciliation repairs a lost one)."""
    h = harness
    await h.start_manager(reconcile_interval=1.0)
    await h.start_observer()
    await h.sim.admin("faults/events", {"hub": "user", "duplicate": 0.5, "reorder": 0.5, "drop": 0.2})
    sides = [Side.BUY, Side.BUY, Side.SELL, Side.BUY, Side.SELL, Side.SELL, Side.BUY]
    for i, side in enumerate(sides):
        await h.send(place(f"e{i}", stop=None, target=None, side=side))
    net = sum(s.sign for s in sides)
    await eventually(lambda: len(h.payloads(Fill)) == len(sides), within=10, what="every fill")
    await eventually(
        lambda: [p.net_quantity for p in h.payloads(PositionUpdate)][-1:] == [net],
        within=10,
        what="final position",
    )
    await asyncio.sleep(1.2)  # one more reconciliation finds nothing new
    fills = h.payloads(Fill)
    assert len(fills) == len({f.fill_id for f in fills}) == len(sides)
    assert h.managers[0].counters.reconciliations >= 2


async def test_token_expiry_mid_flow(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    await h.send(place("t1", stop=None, target=None))
    await eventually(lambda: len(h.payloads(Fill)) == 1, what="first fill")
    await h.sim.admin("faults/tokens/expire", {"inSeconds": 0})
    await h.send(place("t2", stop=None, target=None))
    await eventually(lambda: len(h.payloads(Fill)) == 2, within=10, what="fill after the token expired")
    await eventually(
        lambda: manager.user_hub.connected and manager.market_hub.connected, within=10, what="hubs back"
    )
    assert manager.rest.logins >= 2
    await eventually(lambda: len(h.payloads(CommandResult)) == 2, what="both results")
    assert [r.ok for r in h.payloads(CommandResult)] == [True, True]
    assert len(await sim_orders_tagged(h, "bot_2-t2")) == 1
    await eventually(lambda: [p.net_quantity for p in h.payloads(PositionUpdate)][-1:] == [2], what="long 2")


@pytest.mark.parametrize("backend", ["redis"])
async def test_redis_restart_mid_flow_loses_nothing_and_doubles_nothing(
    sim: SimHandle, backend: str, persistent_redis: RedisServer
) -> None:
    h = Harness(sim, backend, persistent_redis.url, "restart")
    try:
        manager = await h.start_manager()
        await h.start_observer()
        for i in range(3):
            await h.send(place(f"p{i}", stop=None, target=None))
        await eventually(lambda: len(h.payloads(Fill)) == 3, within=10, what="first fills")
        persistent_redis.restart()  # Redis goes away and comes back in the middle of the flow
        for i in range(3, 6):
            await h.send(place(f"p{i}", stop=None, target=None))
        await eventually(lambda: len(h.payloads(Fill)) >= 6, within=20, what="fills after the restart")
        await asyncio.sleep(0.5)
        fills = h.payloads(Fill)
        assert len(fills) == len({f.fill_id for f in fills}) == 6
        results = h.payloads(CommandResult)
        assert sorted({r.command_id for r in results}) == [f"cmd-p{i}" for i in range(6)]
        for i in range(6):
            assert len(await sim_orders_tagged(h, f"bot_2-p{i}")) == 1
        assert manager.executor.executed == 6
    finally:
        await h.close()


async def test_health_follows_the_redis_bus(sim: SimHandle, persistent_redis: RedisServer) -> None:
    """Commands and results travel over the bus: without it the manager is not healthy."""
    h = Harness(sim, "redis", persistent_redis.url, "health")
    try:
        manager = await h.start_manager()
        await eventually(lambda: manager.healthy, what="healthy")
        await asyncio.to_thread(persistent_redis.stop)
        await eventually(lambda: not manager.healthy, within=10, what="unhealthy without Redis")
        await asyncio.to_thread(persistent_redis.restart_stopped)
        await eventually(lambda: manager.healthy, within=10, what="healthy again")
    finally:
        await h.close()


async def test_graceful_stop_leaves_unhandled_commands_for_the_next_run(
    sim: SimHandle, redis: RedisServer
) -> None:
    h = Harness(sim, "redis", redis.url, "graceful")
    try:
        manager = await h.start_manager()
        await h.start_observer()
        await manager.stop()
        h.managers.remove(manager)
        await h.send(place("g1", stop=None, target=None))  # nobody is consuming now
        await asyncio.sleep(0.3)
        assert h.payloads(CommandResult) == []
        bus = create_bus(bus_config("redis", redis.url, "graceful"), client_name="cm2")
        await bus.start()
        h.buses.append(bus)
        second = ConnectionManager(
            sim.config, bus, sim.endpoints, Secret(API_KEY), symbols=["MES"], http_port=0, clock=sim.now
        )
        await second.start()
        h.managers.append(second)
        await eventually(lambda: len(h.payloads(CommandResult)) == 1, within=10, what="command picked up")
        assert h.payloads(CommandResult)[0].ok
    finally:
        await h.close()


async def test_a_copy_arriving_while_the_first_runs_waits_for_it(harness: Harness) -> None:
    """A partial close is not idempotent: the same commandId sent twice while the first copy is
    still at the exchange must close once."""
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    await h.send(place("pc", quantity=2, stop=None, target=None))
    await eventually(lambda: any(p.net_quantity == 2 for p in h.payloads(PositionUpdate)), what="long 2")
    await h.sim.admin("faults/latency", {"ms": 600, "path": "/api/Position/partialCloseContract"})
    close = ClosePosition(command_id="close-1", symbol="MES", quantity=1)
    first, second = await asyncio.gather(manager.execute_command(close), manager.execute_command(close))
    assert first == second
    assert first.ok
    await h.sim.clear_faults()
    await eventually(lambda: h.payloads(PositionUpdate)[-1].net_quantity == 1, what="long 1")
    await asyncio.sleep(0.3)
    assert h.payloads(PositionUpdate)[-1].net_quantity == 1
    assert manager.executor.repeats == 1


async def test_a_stale_command_is_refused_not_executed_late(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)  # envelopes carry the sender's wall time
    assert h.client is not None
    await h.client.publish(
        channels.CM_COMMANDS, Envelope.wrap(place("stale", stop=None, target=None), "bot_2", timestamp=old)
    )
    await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="a result")
    result = h.payloads(CommandResult)[0]
    assert not result.ok
    assert "stale command" in (result.message or "")
    assert await sim_orders_tagged(h, "bot_2-stale") == []
    assert manager.executor.stale == 1


async def test_fills_and_bracket_legs_carry_their_bot_whatever_the_tag(harness: Harness) -> None:
    """The order's events can arrive before TopStepX answers the place: the attribution is known
    from the tag beforehand, and the bracket legs are announced with their bot."""
    h = harness
    await h.start_manager()
    await h.start_observer()
    command = PlaceOrder(
        command_id="c-attr",
        order_id="ord-attr",
        bot_id="bot_1",
        custom_tag="manualtag",
        symbol="MES",
        side=Side.BUY,
        quantity=1,
        stop_loss_ticks=20,
        take_profit_ticks=40,
    )
    await h.send(command)
    await eventually(lambda: len(h.payloads(Fill)) == 1, what="fill")
    fill = h.payloads(Fill)[0]
    assert (fill.bot_id, fill.order_id, fill.custom_tag) == ("bot_1", "ord-attr", "manualtag")
    # The fill can arrive before the command's result (published once the bracket legs are linked).
    await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="the result")
    result = h.payloads(CommandResult)[0]

    def legs() -> set[int]:
        return {
            u.exchange_order_id
            for u in h.payloads(OrderUpdate)
            if u.exchange_order_id != result.exchange_order_id and u.bot_id == "bot_1"
        }

    await eventually(lambda: len(legs()) == 2, what="both legs attributed")


async def test_closing_cancels_the_positions_stops_after_the_close_and_nothing_else(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    await h.send(place("cl", quantity=2))  # long 2 with a bracket
    await eventually(lambda: any(p.net_quantity == 2 for p in h.payloads(PositionUpdate)), what="long 2")
    # Another bot's entry: a sell limit far above the market (the exit side of this position).
    assert (await manager.execute_command(other_bots_sell_limit("bot_3-entry", 99_000.0))).ok
    result = await manager.execute_command(
        ClosePosition(command_id="close-all", symbol="MES", bot_id="bot_2")
    )
    assert result.ok, result
    rest = manager.rest
    assert await rest.search_open_positions(h.sim.account_id) == []
    still_open = await rest.search_open_orders(h.sim.account_id)
    assert [o.custom_tag for o in still_open] == ["bot_3-entry"]


async def test_a_failed_close_leaves_the_stops_in_place(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    await h.send(place("fc", quantity=1))
    await eventually(lambda: any(p.net_quantity == 1 for p in h.payloads(PositionUpdate)), what="long 1")
    await eventually(
        lambda: len([u for u in h.payloads(OrderUpdate) if u.status is OrderStatus.OPEN]) >= 2,
        what="legs working",
    )
    await h.sim.admin("faults/http", {"path": "/api/Position/closeContract", "status": 503, "count": 20})
    result = await manager.execute_command(ClosePosition(command_id="close-f", symbol="MES", bot_id="bot_2"))
    assert not result.ok
    await h.sim.clear_faults()
    working = await manager.rest.search_open_orders(h.sim.account_id)
    assert len(working) == 2  # the stop and the target still protect the position


async def test_a_closed_short_is_published_flat_though_its_close_event_says_short(harness: Harness) -> None:
    """The simulator pushes a close as ``{"type": 2, "size": 0}`` (the side kept): the manager
    keys on size 0 and publishes a flat position."""
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    await h.send(place("sh", side=Side.SELL, stop=None, target=None))
    await eventually(lambda: any(p.net_quantity == -1 for p in h.payloads(PositionUpdate)), what="short 1")
    result = await manager.execute_command(ClosePosition(command_id="close-sh", symbol="MES", bot_id="bot_2"))
    assert result.ok, result
    await eventually(lambda: h.payloads(PositionUpdate)[-1].net_quantity == 0, what="flat")
    assert manager.positions() == []
    assert manager.state.net_position(h.sim.account_id, "CON.F.US.MES.Z26") == 0


async def test_a_partial_close_handled_before_a_restart_is_not_repeated(harness: Harness) -> None:
    """The first manager closed 1 of 3 contracts and died before acknowledging the command; the
    copy redelivered to the next manager finds the result in the journal: still long 2, not 1."""
    h = harness
    first = await h.start_manager()
    await h.start_observer()
    await h.send(place("pc", quantity=3, stop=None, target=None))
    await eventually(lambda: any(p.net_quantity == 3 for p in h.payloads(PositionUpdate)), what="long 3")
    close = ClosePosition(command_id="close-part", symbol="MES", quantity=1, bot_id="bot_2")
    assert (await first.execute_command(close)).ok
    await first.stop()
    h.managers.remove(first)
    second = await h.start_manager()
    result = await second.execute_command(close)  # the redelivered copy
    assert result.ok
    assert second.executor.repeats == 1
    (position,) = await second.rest.search_open_positions(h.sim.account_id)
    assert position.size == 2


async def test_a_close_whose_first_attempt_never_finished_is_not_run_again(harness: Harness) -> None:
    """A manager claimed a close and stopped in the middle (the journal says started, no result):
    nobody knows whether it reached TopStepX, so the copy is refused, typed, and nothing closes."""
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    await h.send(place("uk", quantity=2, stop=None, target=None))
    await eventually(lambda: any(p.net_quantity == 2 for p in h.payloads(PositionUpdate)), what="long 2")
    crashed = await (await h.bus()).journal("commands").claim("close-unknown")  # as the dead one left it
    assert crashed.new
    await h.send(ClosePosition(command_id="close-unknown", symbol="MES", quantity=1, bot_id="bot_2"))
    await eventually(
        lambda: any(r.command_id == "close-unknown" for r in h.payloads(CommandResult)), what="a result"
    )
    (result,) = h.payloads(CommandResult, lambda r: r.command_id == "close-unknown")
    assert (result.ok, result.failure) == (False, CommandFailure.OUTCOME_UNKNOWN)
    assert "not executed again" in (result.message or "")
    assert manager.executor.unknown_outcomes == 1
    (position,) = await manager.rest.search_open_positions(h.sim.account_id)
    assert position.size == 2
    # Later copies get the same answer (it is journaled now), still without touching the position.
    assert (await manager.execute_command(ClosePosition(command_id="close-unknown", symbol="MES"))) == result


async def test_a_place_whose_first_attempt_never_finished_runs_again_once(harness: Harness) -> None:
    """A place is safe to repeat: its tag is looked up first, so there is still exactly one order."""
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    assert (await (await h.bus()).journal("commands").claim("cmd-again")).new  # the dead attempt
    await manager.execute_command(place("again", stop=None, target=None))
    assert (await manager.execute_command(place("again", stop=None, target=None))).ok
    assert len(await sim_orders_tagged(h, "bot_2-again")) == 1


async def test_failures_are_typed(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    stale = await manager.execute_command(
        place("typed-stale"), sent_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    )
    invalid = await manager.execute_command(ClosePosition(command_id="typed-flat", symbol="MES"))
    refused = await manager.execute_command(place("typed-refused", quantity=500, stop=None, target=None))
    assert stale.failure is CommandFailure.STALE
    assert invalid.failure in (CommandFailure.INVALID, CommandFailure.EXCHANGE_REFUSED)
    assert refused.failure is CommandFailure.EXCHANGE_REFUSED and refused.error_code is not None
    ok = await manager.execute_command(place("typed-ok", stop=None, target=None))
    assert ok.ok and ok.failure is None


async def test_updating_sltp_moves_the_positions_own_orders_and_never_another_bots(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    assert (await manager.execute_command(place("own", stop=None, target=None))).ok  # bot_2 long 1
    (position,) = await manager.rest.search_open_positions(h.sim.account_id)
    entry = position.average_price
    # bot_3's entry: a sell limit on this position's exit side.
    assert (await manager.execute_command(other_bots_sell_limit("bot_3-1", round(entry + 50, 2)))).ok
    update = UpdateStopLossTakeProfit(
        command_id="u1", symbol="MES", bot_id="bot_2", take_profit=round(entry + 10, 2), stop_loss=entry - 10
    )
    assert (await manager.execute_command(update)).ok
    by_tag = {o.custom_tag: o for o in await manager.rest.search_open_orders(h.sim.account_id)}
    assert by_tag["bot_3-1"].limit_price == round(entry + 50, 2)  # untouched
    assert by_tag["bot_2-u1-tp"].limit_price == round(entry + 10, 2)  # a target of its own
    assert by_tag["bot_2-u1-sl"].stop_price == entry - 10


async def test_an_interrupted_place_found_by_its_tag_is_reported_placed_even_when_stale(
    harness: Harness,
) -> None:
    """The manager that placed it died before recording the result; the copy redelivered minutes
    later is too old to place, but it was placed: the tag finds it, and the result says so."""
    h = harness
    manager = await h.start_manager()
    command = place("late", stop=None, target=None)
    assert (await (await h.bus()).journal("commands").claim(command.command_id)).new  # the dead attempt
    request = PlaceOrderRequest(  # ... which did reach TopStepX (the same order: a market buy of 1)
        account_id=h.sim.account_id,
        contract_id=manager.contracts.contract_id("MES"),
        type=2,
        side=0,
        size=1,
        custom_tag=command.custom_tag,
    )
    order_id = await manager.rest.place_order(request)
    result = await manager.execute_command(command, sent_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    assert (result.ok, result.exchange_order_id, result.failure) == (True, order_id, None)
    assert await sim_orders_tagged(h, command.custom_tag) == [order_id]


def record_order_searches(manager: ConnectionManager) -> list[str]:
    """The order searches the manager makes from now on, in order: ``open`` (searchOpen) or
    ``history`` (search)."""
    searches: list[str] = []
    rest = manager.rest
    history, open_orders = rest.search_orders, rest.search_open_orders

    async def search_orders(*args: Any, **kwargs: Any) -> Any:
        searches.append("history")
        return await history(*args, **kwargs)

    async def search_open_orders(*args: Any, **kwargs: Any) -> Any:
        searches.append("open")
        return await open_orders(*args, **kwargs)

    rest.search_orders = search_orders  # type: ignore[method-assign]
    rest.search_open_orders = search_open_orders  # type: ignore[method-assign]
    return searches


async def test_bracket_legs_are_found_among_the_open_orders_not_the_accounts_history(
    harness: Harness,
) -> None:
    """The legs of a bracketed place are looked up with one search of the account's open orders
    (a handful), never of its recent history (every order of the last minutes, on the fill's
    way); they are announced with their bot all the same."""
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    searches = record_order_searches(manager)
    await h.send(place("legs"))  # with its bracket
    await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="the result")
    result = h.payloads(CommandResult)[0]
    assert result.ok
    legs = {
        u.exchange_order_id
        for u in h.payloads(OrderUpdate)
        if u.exchange_order_id != result.exchange_order_id and u.bot_id == "bot_2"
    }
    assert len(legs) == 2
    assert searches == ["open"]


async def test_a_resting_entrys_suspended_legs_are_found_in_the_history_and_announced(
    harness: Harness,
) -> None:
    """A limit entry that rests keeps its bracket legs Suspended, which ``searchOpen`` leaves
    out: the legs missing there are looked up in the account's recent orders, and announced
    with their bot (the aggregator cancels them when that bot goes flat)."""
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    searches = record_order_searches(manager)
    resting = msgspec.structs.replace(place("rest"), order_type=OrderType.LIMIT, limit_price=100.0)
    await h.send(resting)
    await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="the result")
    result = h.payloads(CommandResult)[0]
    assert result.ok
    await eventually(
        lambda: (
            len(
                {
                    u.exchange_order_id
                    for u in h.payloads(OrderUpdate)
                    if u.exchange_order_id != result.exchange_order_id and u.bot_id == "bot_2"
                }
            )
            == 2
        ),
        what="both legs announced with their bot",
    )
    assert searches == ["open", "history"]


async def test_the_order_placed_line_is_logged_after_the_result_is_journaled(harness: Harness) -> None:
    """A log line costs tenths of a millisecond, and the order's fill (its hub events, which
    arrive with the place's answer) waits for whatever the command does before it next waits: the
    "order placed" line comes after the journal write, not before it, and it still comes."""
    h = harness
    manager = await h.start_manager()
    await h.start_observer()
    journal = manager.executor.journal
    finish = journal.finish
    logged_at_finish: list[list[str]] = []
    with structlog.testing.capture_logs() as logs:

        async def recording_finish(key: str, result: bytes) -> None:
            logged_at_finish.append([entry["event"] for entry in logs])
            await finish(key, result)

        journal.finish = recording_finish  # type: ignore[method-assign]
        await h.send(place("logged", stop=None, target=None))
        await eventually(lambda: len(h.payloads(CommandResult)) == 1, what="the result")
        await eventually(
            lambda: any(entry["event"] == "order placed" for entry in logs), what="the placed line"
        )
    result = h.payloads(CommandResult)[0]
    assert result.ok
    assert len(logged_at_finish) == 1
    assert "order placed" not in logged_at_finish[0]
    placed = [entry for entry in logs if entry["event"] == "order placed"]
    assert [entry["order_id"] for entry in placed] == [result.exchange_order_id]


async def test_a_fill_goes_out_before_the_rest_of_its_hub_frame(sim: SimHandle) -> None:
    """The user hub brings an order's events, its trade, the position and the account in one
    frame: the fill is handed to the bus's readers before the rest of the frame is handled (in
    one process: its consumer runs before the position is published)."""
    h = Harness(sim, "memory", "redis://127.0.0.1:1/0", "fill-first")
    try:
        await h.start_manager()
        await h.start_observer()
        bus = await h.bus()
        fills = await bus.subscribe(channels.CM_FILLS, group="fill-reader")
        positions = bus._stream(channels.CM_POSITIONS)  # type: ignore[attr-defined]
        before = positions.end
        await h.send(place("first", stop=None, target=None))
        async with asyncio.timeout(5):  # (in this task: wait_for would read in a task of its own)
            batch = await fills.next_batch(10)
        published_when_read = positions.end
        assert [type(m.envelope.payload) for m in batch] == [Fill]
        await eventually(lambda: positions.end > before, what="the position published")
        assert published_when_read == before
    finally:
        await h.close()
