"""The matching engine, driven directly on a paused clock: every order type, the book walk,
partial fills, modify and cancel, brackets (suspended children, OCO), validation messages, and
determinism under a seed. Expected fills are derived from the simulated prints themselves."""

from __future__ import annotations

from typing import Any

import pytest

from support.exchange import advance, fills, make, market, place, prints_between
from support.sim import COMBINE, ES, MES, PRACTICE
from tsxbot.gateway.enums import OrderStatus, OrderType
from tsxbot.gateway.models import Bracket
from tsxbot.sim import Simulator
from tsxbot.sim.exchange.orders import SimOrder


def test_a_market_order_fills_at_the_best_ask_and_walks_the_book_when_bigger() -> None:
    sim, events = make()
    m = market(sim)
    _, asks = m.book()
    top_size = asks[0][1]
    result = place(sim, size=1)
    assert result.ok and fills(events, result.order_id) == [(1, asks[0][0])]
    sim2, events2 = make()
    _, asks2 = market(sim2).book()
    size = asks2[0][1] + asks2[1][1] + 1
    result = place(sim2, size=size, account_id=PRACTICE)
    got = fills(events2, result.order_id)
    assert got == [(asks2[0][1], asks2[0][0]), (asks2[1][1], asks2[1][0]), (1, asks2[2][0])]
    order = sim2.exchange.orders[result.order_id]
    assert order.status is OrderStatus.FILLED and order.fill_volume == size
    assert top_size == asks2[0][1]


def test_a_market_order_bigger_than_the_book_fills_partly_then_over_later_prints() -> None:
    sim, events = make()
    _, asks = market(sim).book()
    depth = sum(s for _, s in asks)
    result = place(sim, size=depth + 40, account_id=PRACTICE)
    order = sim.exchange.orders[result.order_id]
    assert order.status is OrderStatus.OPEN and order.fill_volume == depth  # partial, still working
    assert [s for _, s, _ in [(o, st, fv) for o, st, fv in events.orders if o == order.id]][
        -1
    ] is OrderStatus.OPEN
    advance(sim, 5)
    assert order.status is OrderStatus.FILLED and order.fill_volume == depth + 40
    assert len(fills(events, order.id)) > len(asks)


def test_a_marketable_limit_fills_up_to_its_price_and_rests_the_rest() -> None:
    sim, events = make()
    _, asks = market(sim).book()
    limit_ticks = asks[1][0]
    size = asks[0][1] + asks[1][1] + 3
    result = place(sim, type=1, size=size, limit_price=limit_ticks * 0.25, account_id=PRACTICE)
    order = sim.exchange.orders[result.order_id]
    assert fills(events, order.id) == [(asks[0][1], asks[0][0]), (asks[1][1], asks[1][0])]
    assert order.status is OrderStatus.OPEN and order.remaining == 3 and order.limit == limit_ticks


def test_a_resting_limit_fills_at_its_price_when_the_market_trades_through_or_at_it() -> None:
    sim, events = make()
    m = market(sim)
    start = sim.clock.now_ns()
    limit = m.bid - 4
    result = place(sim, type=1, limit_price=limit * 0.25)
    order = sim.exchange.orders[result.order_id]
    queue = order.queue_ahead  # the displayed size at our price when we joined
    assert order.status is OrderStatus.OPEN and not fills(events, order.id) and queue > 0
    advance(sim, 600)
    assert order.status is OrderStatus.FILLED
    ((size, price),) = fills(events, order.id)
    assert (size, price) == (1, limit)
    fill_ns = next(t.ns for t in events.trades if t.order_id == order.id)
    before = prints_between(sim, start, fill_ns - 1)
    assert all(p >= limit for _, p, _, _ in before)  # nothing traded through before the fill
    at_fill = [(p, sd) for ns, p, _, sd in prints_between(sim, start, fill_ns) if ns == fill_ns]
    assert any(p <= limit for p, _ in at_fill)
    if all(p == limit for p, _ in at_fill) and all(sd == 1 for _, sd in at_fill):
        # Filled by sellers hitting our price: only once the queue ahead of us had traded.
        sold_at_limit = sum(
            sz for _, p, sz, sd in prints_between(sim, start, fill_ns) if p == limit and sd == 1
        )
        assert sold_at_limit > queue


def test_a_buy_stop_triggers_on_a_print_at_or_above_it_and_fills_at_market() -> None:
    sim, events = make()
    m = market(sim)
    start = sim.clock.now_ns()
    stop = m.last + 3
    result = place(sim, type=4, stop_price=stop * 0.25)
    order = sim.exchange.orders[result.order_id]
    assert order.status is OrderStatus.OPEN
    advance(sim, 900)
    assert order.status is OrderStatus.FILLED
    ((_, price),) = fills(events, order.id)
    fill_ns = next(t.ns for t in events.trades if t.order_id == order.id)
    trigger = [p for ns, p, _, _ in prints_between(sim, start, fill_ns) if ns == fill_ns]
    assert trigger and max(trigger) >= stop and price >= stop
    assert all(p < stop for _, p, _, _ in prints_between(sim, start, fill_ns - 1))


def test_stops_on_the_wrong_side_of_the_market_are_rejected() -> None:
    sim, _ = make()
    last = market(sim).last
    result = place(sim, type=4, stop_price=(last - 2) * 0.25)
    assert (result.code, result.message) == (
        2,
        "Invalid stop price. The stop price must be above the market price.",
    )
    result = place(sim, type=4, side=1, stop_price=(last + 2) * 0.25)
    assert result.message == "Invalid stop price. The stop price must be below the market price."


def test_a_stop_limit_becomes_a_limit_once_triggered() -> None:
    sim, events = make()
    last = market(sim).last
    result = place(sim, type=3, side=1, stop_price=(last - 2) * 0.25, limit_price=(last - 3) * 0.25)
    order = sim.exchange.orders[result.order_id]
    assert order.status is OrderStatus.OPEN and not order.triggered
    advance(sim, 900)
    assert order.triggered
    for _, price in fills(events, order.id):
        assert price >= last - 3  # a sell limit never fills below its limit
    sim2, _ = make("simulator.exchange.allowStopLimit=false")
    assert place(sim2, type=3, stop_price=1.0, limit_price=1.0).message == "Invalid order type."


def test_a_trailing_stop_follows_the_market_and_reads_back_a_distance() -> None:
    sim, events = make()
    m = market(sim)
    last = m.last
    result = place(sim, type=5, side=1, trail_price=(last - 8) * 0.25)
    order = sim.exchange.orders[result.order_id]
    assert order.trail_ticks == 8 and order.stop == last - 8
    presented = sim.rest_present.order(order)
    assert float(presented.trail_price) == 2.0 and presented.trail_distance == 8  # type: ignore[attr-defined, arg-type]
    stops = [order.stop]
    for _ in range(60):
        advance(sim, 10)
        stops.append(order.stop)
        if order.status is not OrderStatus.OPEN:
            break
    assert stops == sorted(stops)  # a sell trailing stop only ever moves up
    assert order.water is not None and order.stop == order.water - 8
    if order.status is OrderStatus.FILLED:
        fill_ns = next(t.ns for t in events.trades if t.order_id == order.id)
        assert min(p for ns, p, _, _ in prints_between(sim, fill_ns - 1, fill_ns)) <= stops[-1]


def test_trailing_stop_messages() -> None:
    sim, _ = make()
    last = market(sim).last
    assert place(sim, type=5, side=1).message == "Trail Distance not set."
    assert place(sim, type=5, side=1, trail_price=last * 0.25 + 0.1).message == (
        "Invalid trail price. Price is not aligned to tick size."
    )
    assert place(sim, type=5, side=1, trail_price=0.25).message == "Trail Distance exceeds maximum (1000)"


def test_join_bid_and_join_ask_rest_at_the_best_prices() -> None:
    sim, _ = make()
    m = market(sim)
    bid, ask = m.bid, m.ask
    buy = sim.exchange.orders[place(sim, type=6, side=0).order_id]
    sell = sim.exchange.orders[place(sim, type=7, side=1, account_id=PRACTICE).order_id]
    assert (buy.limit, sell.limit) == (bid, ask)
    assert buy.status is OrderStatus.OPEN and sell.status is OrderStatus.OPEN


def test_modify_moves_a_limit_into_the_market_and_changes_size() -> None:
    sim, events = make()
    m = market(sim)
    result = place(sim, type=1, limit_price=(m.bid - 10) * 0.25, size=2)
    order = sim.exchange.orders[result.order_id]
    assert sim.exchange.modify(COMBINE, order.id, 3, None, None, None).ok and order.size == 3
    assert order.limit == m.bid - 10  # omitted fields keep their value
    assert sim.exchange.modify(COMBINE, order.id, None, (m.ask + 2) * 0.25, None, None).ok
    assert order.status is OrderStatus.FILLED and sum(s for s, _ in fills(events, order.id)) == 3
    assert sim.exchange.modify(COMBINE, order.id, 1, None, None, None).code == 3  # no longer working
    assert sim.exchange.modify(PRACTICE, order.id, 1, None, None, None).code == 2
    assert sim.exchange.modify(COMBINE, 999_999, 1, None, None, None).code == 2


def test_cancel() -> None:
    sim, _ = make()
    m = market(sim)
    order = sim.exchange.orders[place(sim, type=1, limit_price=(m.bid - 10) * 0.25).order_id]
    assert sim.exchange.cancel(PRACTICE, order.id).code == 2
    assert sim.exchange.cancel(COMBINE, order.id).ok and order.status is OrderStatus.CANCELLED
    assert sim.exchange.cancel(COMBINE, order.id).code == 3
    sim2, _ = make("simulator.accounts=[{id: 7, name: LIVE-7, simulated: false}]")
    assert sim2.exchange.cancel(7, 1).message == "Live accounts not supported"


def _bracket(sim: Simulator, **fields: Any) -> tuple[SimOrder, SimOrder, SimOrder]:
    result = place(
        sim,
        stop_loss_bracket=Bracket(ticks=-6, type=4),
        take_profit_bracket=Bracket(ticks=6, type=1),
        **fields,
    )
    assert result.ok, result
    orders = sim.exchange.orders
    return orders[result.order_id], orders[result.order_id + 1], orders[result.order_id + 2]


def test_bracket_children_wait_suspended_until_the_parent_fills() -> None:
    sim, _ = make()
    m = market(sim)
    parent, sl, tp = _bracket(sim, type=1, limit_price=(m.bid - 4) * 0.25)
    assert parent.status is OrderStatus.OPEN
    assert (sl.status, tp.status) == (OrderStatus.SUSPENDED, OrderStatus.SUSPENDED)
    assert (sl.parent_id, tp.parent_id, sl.linked_id, tp.linked_id) == (parent.id, parent.id, tp.id, sl.id)
    assert (sl.type, tp.type, sl.side, tp.side) == (OrderType.STOP, OrderType.LIMIT, 1, 1)
    open_ids = [o.id for o in sim.exchange.account_orders(sim.exchange.accounts[COMBINE]) if o.status == 1]
    assert open_ids == [parent.id]  # searchOpen leaves the suspended legs out
    advance(sim, 900)
    assert parent.status is OrderStatus.FILLED
    entry = parent.limit
    assert sl.stop == entry - 6 and tp.limit == entry + 6
    assert sl.status in (OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.CANCELLED)


def test_one_bracket_leg_filling_cancels_the_other() -> None:
    sim, events = make()
    parent, sl, tp = _bracket(sim)
    assert parent.status is OrderStatus.FILLED and sl.status is OrderStatus.OPEN
    for _ in range(200):
        advance(sim, 15)
        if not (sl.working and tp.working):
            break
    done, other = (sl, tp) if sl.status is OrderStatus.FILLED else (tp, sl)
    assert done.status is OrderStatus.FILLED and other.status is OrderStatus.CANCELLED
    assert other.size == 1  # a cancelled sibling keeps its size
    assert sim.exchange.accounts[COMBINE].positions == {}
    (closing,) = [t for t in events.trades if t.order_id == done.id]
    assert closing.pnl == pytest.approx((closing.price - parent.avg_fill_ticks) * 12.5)


def test_cancelling_an_unfilled_parent_cancels_its_children() -> None:
    sim, _ = make()
    m = market(sim)
    parent, sl, tp = _bracket(sim, type=1, limit_price=(m.bid - 20) * 0.25)
    assert sim.exchange.cancel(COMBINE, parent.id).ok
    assert (sl.status, tp.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED)


def test_a_partially_filled_parent_sizes_its_children_to_the_fill() -> None:
    sim, _ = make("simulator.accounts=[{id: 1001, name: BIG, maxContracts: null}]")
    _, asks = market(sim).book()
    depth = sum(s for _, s in asks)
    parent, sl, tp = _bracket(sim, size=depth + 30)
    assert parent.status is OrderStatus.OPEN and parent.fill_volume == depth
    assert sl.size == tp.size == depth and sl.status is OrderStatus.OPEN
    advance(sim, 3)
    assert parent.status is OrderStatus.FILLED
    assert sl.size == tp.size == depth + 30 or not (sl.working and tp.working)


@pytest.mark.parametrize(
    ("side", "sl", "tp", "message"),
    [
        (0, 5, 10, "Invalid stop loss ticks (5). Ticks should be less than zero when going long."),
        (0, -5, -10, "Invalid take profit ticks (-10). Ticks should be greater than zero when going long."),
        (1, -5, -10, "Invalid stop loss ticks (-5). Ticks should be greater than zero when going short."),
        (1, 5, 30, "Invalid take profit ticks (30). Ticks should be less than zero when going short."),
    ],
)
def test_bracket_ticks_are_signed_relative_to_the_entry(side: int, sl: int, tp: int, message: str) -> None:
    sim, events = make()
    result = place(
        sim,
        side=side,
        stop_loss_bracket=Bracket(ticks=sl, type=4),
        take_profit_bracket=Bracket(ticks=tp, type=1),
    )
    assert (result.code, result.message) == (2, message)
    assert sim.exchange.orders[result.order_id].status is OrderStatus.REJECTED
    assert events.orders == [(result.order_id, OrderStatus.REJECTED, 0)]


def test_position_brackets_mode_rejects_brackets_but_still_creates_the_order() -> None:
    sim, _ = make("simulator.accounts=[{id: 1001, name: A, bracketMode: positionBrackets}]")
    result = place(sim, take_profit_bracket=Bracket(ticks=10, type=1))
    assert result.code == 2 and isinstance(result.order_id, int)
    assert (
        result.message == "Brackets cannot be used with Position Brackets. You must enable Auto OCO Brackets."
    )
    assert sim.exchange.orders[result.order_id].status is OrderStatus.REJECTED
    assert place(sim).ok  # without brackets it trades


def test_custom_tags_are_unique_within_an_account() -> None:
    sim, _ = make()
    first = place(sim, custom_tag="bot_1-0001")
    assert first.ok
    again = place(sim, custom_tag="bot_1-0001")
    assert (again.code, again.order_id) == (2, None)
    assert place(sim, custom_tag="bot_1-0001", account_id=PRACTICE).ok


def _run(seed: int) -> list[tuple[int, int, int, int]]:
    sim, events = make(f"simulator.seed={seed}")
    m = market(sim)
    place(sim, type=1, limit_price=(m.bid - 3) * 0.25, size=2)
    place(sim, type=4, side=1, stop_price=(m.last - 5) * 0.25, account_id=PRACTICE)
    _bracket(sim, account_id=PRACTICE)
    for _ in range(30):
        advance(sim, 20)
        place(sim, side=len(events.trades) % 2, size=1 + len(events.trades) % 3, account_id=PRACTICE)
    return [(t.ns, t.order_id, t.price, t.size) for t in events.trades]


def test_same_seed_and_orders_give_the_same_fills() -> None:
    first, second = _run(7), _run(7)
    assert first == second and len(first) > 30
    assert _run(8) != first


def test_micro_contracts_trade_at_their_minis_price() -> None:
    sim, _ = make()
    assert abs(market(sim, MES).last - market(sim, ES).last) <= 4
