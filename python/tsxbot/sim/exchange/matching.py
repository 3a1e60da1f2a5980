"""How orders meet the simulated market, in integer ticks.

- Market orders (and triggered stops) sweep the opposite side of the book level by level;
  what the displayed depth cannot fill stays working and fills against later books.
- Limit orders fill at once up to their price if marketable; the rest rests with a queue ahead
  of it (the size displayed at its price). A print through the price fills it; a print at the
  price fills it once the queue ahead has traded.
- Stops trigger on a print at or through the stop; trailing stops follow the best print.
"""

from __future__ import annotations

from tsxbot.gateway.enums import OrderType, TradeLogType
from tsxbot.sim.exchange.orders import SimOrder
from tsxbot.sim.marketdata.live import ContractMarket

Fill = tuple[int, int]  # (size, price ticks)
SELL_AGGRESSOR = int(TradeLogType.SELL)


def sweep(market: ContractMarket, buy: bool, qty: int, limit: int | None) -> list[Fill]:
    """Takes up to ``qty`` from the opposite side of the book, best price first, not past
    ``limit``; records what it took so later orders see the thinner book."""
    bids, asks = market.book()
    levels = asks if buy else bids
    fills: list[Fill] = []
    for price, size in levels:
        if qty <= 0:
            break
        if limit is not None and (price > limit if buy else price < limit):
            break
        if size <= 0:
            continue
        take = min(size, qty)
        fills.append((take, price))
        market.consumed[price] = market.consumed.get(price, 0) + take
        qty -= take
    return fills


def queue_at(market: ContractMarket, buy: bool, price: int) -> int:
    """Displayed size a new resting order at ``price`` would queue behind."""
    bids, asks = market.book()
    for level_price, size in bids if buy else asks:
        if level_price == price:
            return size
    best = market.bid if buy else market.ask
    if best is None:
        return 0
    inside = price > best if buy else price < best
    if inside:
        return 0
    levels = bids if buy else asks
    return levels[-1][1] if levels else 0


def enter(order: SimOrder, market: ContractMarket) -> list[Fill]:
    """What a newly working (or just modified, or just triggered) order fills at once."""
    if order.acts_as_market():
        return sweep(market, order.is_buy, order.remaining, None)
    if order.acts_as_limit() and order.limit is not None:
        fills = sweep(market, order.is_buy, order.remaining, order.limit)
        order.queue_ahead = queue_at(market, order.is_buy, order.limit)
        return fills
    return []


def on_print(order: SimOrder, market: ContractMarket, price: int, size: int, side: int) -> list[Fill]:
    """Fills (and stop triggers) caused by one print, for a working order of that contract."""
    buy = order.is_buy
    if order.type is OrderType.TRAILING_STOP and not order.triggered:
        _trail(order, price)
    if order.type in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP) and not order.triggered:
        stop = order.stop
        if stop is None or (price < stop if buy else price > stop):
            return []
        order.triggered = True
        return enter(order, market)
    if order.acts_as_market():
        return sweep(market, buy, order.remaining, None)
    limit = order.limit
    if limit is None or not order.acts_as_limit():
        return []
    through = price < limit if buy else price > limit
    if through:
        return [(order.remaining, limit)]
    if price != limit:
        return []
    seller_hit_us = (side == SELL_AGGRESSOR) == buy
    if not seller_hit_us:
        # The opposite side came to our price: we were there first.
        return [(min(order.remaining, size), limit)]
    order.queue_ahead -= size
    if order.queue_ahead >= 0:
        return []
    take = min(order.remaining, -order.queue_ahead)
    order.queue_ahead = 0
    return [(take, limit)]


def _trail(order: SimOrder, price: int) -> None:
    distance = order.trail_ticks or 0
    if order.is_buy:
        water = price if order.water is None else min(order.water, price)
        order.water = water
        order.stop = water + distance
    else:
        water = price if order.water is None else max(order.water, price)
        order.water = water
        order.stop = water - distance


def start_trailing(order: SimOrder, last: int) -> None:
    order.water = None
    _trail(order, last)
