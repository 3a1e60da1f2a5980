"""One market-data reader per symbol for all the bots of a process.

The bots of a process that trade a symbol are fed from one subscription of
``connection-manager:market-data:<SYMBOL>`` and one task: each message goes to every bot in turn,
in the order the bus delivered it, as a call rather than a task woken per bot (with 100 bots a
bar's wake-ups alone cost about as much as their decisions). A bar is decided by every bot first,
each in one call that does not wait (``market_bar``: the strategy, then its orders built); then
every bot's orders are published in one batch (``publish_many``: in the bots' order, each bot's in
its own order), then, after one yield that lets the orders' readers run (the aggregator), every
bot that decided something reports it (its log lines, its status). Python's garbage collector
does not run until the orders are out: a bar's allocations trigger it after.

A bot that cannot take a message at once (it is warming up, the bar follows a gap it fills from
History first, or it is busy sending) keeps the message, and every one after it, in its own queue
that its own task handles in order (``BotService.market_bar``): the other bots are not held up,
and each bot still sees its market data one message at a time, in order. Only a bus that refuses
the orders (``aggregator:orders`` full) holds the feed, as it would hold every bot sending; a bot
whose orders could not be published fails (as a bot whose publish raised always did).
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Sequence
from typing import Protocol

from tsxbot.bots.orders import OrderMessage
from tsxbot.bus import BusFullError, MessageBus, Subscription
from tsxbot.log import get_logger
from tsxbot.messages import Bar, Envelope, MarketTrade, Quote, channels, utc_now

__all__ = ["FedBot", "MarketFeed", "join_market_feed"]

log = get_logger("tsxbot.bots")


class FedBot(Protocol):
    """What the feed needs of a bot (``BotService``)."""

    bot_id: str

    @property
    def send_lock(self) -> asyncio.Lock:
        """Held from the bar's decision until its orders are published: the bot's own order
        handling (fills, stop moves) waits behind a publish that has to wait for room on the bus."""

    def market_bar(self, bar: Bar, received: float) -> list[OrderMessage] | None:
        """Decides ``bar`` without waiting: the orders to publish; None when it has nothing to
        send nor report after it."""

    def orders_sent(self, orders: Sequence[OrderMessage], seconds: float) -> None:
        """``orders`` were published, ``seconds`` after the bar came."""

    def market_flow(self, payload: MarketTrade | Quote) -> None:
        """A print or a quote."""

    def say_deferred(self) -> None:
        """Writes the log lines of the orders the last bar sent."""

    async def publish_status(self) -> None: ...

    def market_failed(self, error: Exception) -> None:
        """The bot's market data ended with ``error`` (the bot fails)."""


# The feeds of each bus, by symbol.
_FEEDS: weakref.WeakKeyDictionary[MessageBus, dict[str, MarketFeed]] = weakref.WeakKeyDictionary()


async def join_market_feed(bus: MessageBus, symbol: str, bot: FedBot) -> MarketFeed:
    """``bot`` gets ``symbol``'s market data from the process's feed of it on ``bus`` (started by
    the first bot that joins), from now on."""
    feeds = _FEEDS.setdefault(bus, {})
    while True:
        feed = feeds.get(symbol)
        if feed is None or feed.ended:
            feed = feeds[symbol] = MarketFeed(bus, symbol)
        if await feed.join(bot):
            return feed


def _failed(future: asyncio.Future[None]) -> bool:
    return future.cancelled() or future.exception() is not None


class MarketFeed:
    def __init__(self, bus: MessageBus, symbol: str) -> None:
        self.bus = bus
        self.symbol = symbol
        self.bots: tuple[FedBot, ...] = ()
        self._opening: asyncio.Future[None] | None = None
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._loop = asyncio.get_running_loop()

    @property
    def ended(self) -> bool:
        """Closed (its last bot left), failed to open, or of an event loop no longer running."""
        task, opening = self._task, self._opening
        return (
            self._closed
            or (task is not None and task.done())
            or (
                opening is not None
                and opening.done()
                and (opening.cancelled() or opening.exception() is not None)
            )
            or self._loop is not asyncio.get_running_loop()
        )

    async def join(self, bot: FedBot) -> bool:
        """False when the feed closed while ``bot`` waited for it to open (its last bot left)."""
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        await asyncio.shield(self._opening)
        if self._closed:
            return False
        self.bots = (*self.bots, bot)
        return True

    async def leave(self, bot: FedBot) -> None:
        """``bot`` gets no more market data; the last bot to leave closes the feed."""
        self.bots = tuple(b for b in self.bots if b is not bot)
        if self.bots:
            return
        if self._opening is not None:
            await asyncio.wait([self._opening])  # a bot stopped while the feed opened
        if self.bots or self._closed:
            return
        self._closed = True
        feeds = _FEEDS.get(self.bus)
        if feeds is not None and feeds.get(self.symbol) is self:
            del feeds[self.symbol]
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._subscription is not None:
            await self._subscription.close()

    async def _open(self) -> None:
        self._subscription = await self.bus.subscribe(channels.market_data(self.symbol))
        self._task = asyncio.create_task(self._read(self._subscription), name=f"market-feed-{self.symbol}")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The reader died (it never should: each bot's errors are its own): every bot fails."""
        if not task.cancelled() and isinstance(error := task.exception(), Exception):
            for bot in self.bots:
                bot.market_failed(error)

    async def _read(self, subscription: Subscription) -> None:
        while batch := await subscription.next_batch():
            for message in batch:
                payload = message.envelope.payload
                if isinstance(payload, Bar):
                    await self._bar(payload)
                elif isinstance(payload, (MarketTrade, Quote)):
                    for bot in self.bots:
                        try:
                            bot.market_flow(payload)
                        except Exception as exc:
                            self._failed(bot, exc)
                # Depth: no bot reads it.

    async def _bar(self, bar: Bar) -> None:
        """Every bot decides the bar, their orders go out in one batch, then the bots that decided
        something report it. Python's garbage collector waits until the orders are out (and their
        readers had their turn): a collection the bar's allocations would trigger comes after."""
        received = time.perf_counter()
        due: list[FedBot] = []
        sending: list[tuple[FedBot, list[OrderMessage]]] = []
        collecting = gc.isenabled()
        gc.disable()
        try:
            for bot in self.bots:
                try:
                    orders = bot.market_bar(bar, received)
                except Exception as exc:
                    self._failed(bot, exc)
                    continue
                if orders is not None:
                    due.append(bot)
                    if orders:
                        sending.append((bot, orders))
            if sending:
                failed = await self._send(sending, received)
                due = [bot for bot in due if bot not in failed]
            if due:
                await asyncio.sleep(0)  # the orders are out: their readers come first
        finally:
            if collecting:
                gc.enable()
            for bot in due:
                bot.say_deferred()
        for bot in due:
            try:
                await bot.publish_status()
            except Exception as exc:
                self._failed(bot, exc)

    async def _send(self, sending: list[tuple[FedBot, list[OrderMessage]]], received: float) -> list[FedBot]:
        """The bar's orders, every bot's, published in one batch, each sending bot's lock held
        meanwhile (nothing ran since its decision: taking it does not wait); a bot whose orders
        were not all published fails. Returns the failed bots."""
        now = utc_now()
        envelopes = [
            Envelope.wrap(order, bot.bot_id, timestamp=now) for bot, orders in sending for order in orders
        ]
        failed: list[FedBot] = []
        locks = [bot.send_lock for bot, _orders in sending]
        for lock in locks:
            await lock.acquire()
        try:
            await self.bus.publish_many(channels.AGGREGATOR_ORDERS, envelopes)
        except Exception as exc:
            published = exc.published if isinstance(exc, BusFullError) else 0
            out = []
            for bot, orders in sending:
                published -= len(orders)
                if published >= 0:
                    out.append((bot, orders))
                else:
                    failed.append(bot)
            sending = out
            for bot in failed:
                self._failed(bot, exc)
        finally:
            for lock in locks:
                lock.release()
        seconds = time.perf_counter() - received
        for bot, orders in sending:
            bot.orders_sent(orders, seconds)
        return failed

    def _failed(self, bot: FedBot, error: Exception) -> None:
        """A bot's market data ends with an error it did not handle (as its own reader task
        would have died): the bot fails; the other bots go on."""
        self.bots = tuple(b for b in self.bots if b is not bot)
        bot.market_failed(error)
