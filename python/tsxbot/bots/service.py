"""One bot: a strategy on one instrument, fed from the bus, trading through the aggregator.

Lifecycle (published on ``bot:{id}:status`` at every change, after bars that decide something
and with every heartbeat):
INITIALIZING (subscribing, registering with the aggregator) -> WARMING_UP (History's bars from the
connection manager, fed to the strategy without acting) -> RUNNING <-> PAUSED -> STOPPED, or ERROR
(the strategy raised: new entries stop, exits are still managed).

- Market data: ``connection-manager:market-data:<SYMBOL>``, read once for all the bots of the
  process that trade the symbol (``tsxbot.bots.feed``). One-minute bars are combined into the
  strategy's timeframe (``BarResampler``) and fed to the ``StrategyEngine``; prints feed its flow,
  quotes the strategy and the open P&L. A gap between two bars is filled from History before the
  strategy sees the next one.
- What the engine decides goes to ``aggregator:orders``: entries as ``ORDER_SUBMISSION`` with
  their bracket in ticks from the entry, exits as reduce-only submissions, stop/target moves as
  ``UPDATE_SLTP``.
- ``bot:{id}:orders`` (from the aggregator): fills (into the engine), the bot's position (the
  truth: the engine is corrected to it, a restarted bot restores its trade from it), working
  stops and targets, rejections (an entry that never became a position is given back).
- ``bot:{id}:control``: ``BotControl`` commands (START, STOP, PAUSE, RESUME, FLATTEN, RELOAD).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import msgspec

from tsxbot.aggregator.registry import config_hash
from tsxbot.bars import timeframe_seconds
from tsxbot.bots.feed import MarketFeed, join_market_feed
from tsxbot.bots.orders import OrderMessage, entry_submission, exit_submission, sltp_command
from tsxbot.bots.resample import BarResampler
from tsxbot.bus import MessageBus, Subscription, ack_all
from tsxbot.bus.history import HistoryReplies
from tsxbot.config import Config
from tsxbot.config.loader import BotSettings
from tsxbot.log import get_logger
from tsxbot.messages import (
    Aggressor,
    Bar,
    BotCommand,
    BotControl,
    BotHeartbeat,
    BotRegistration,
    BotState,
    BotStatus,
    Envelope,
    Fill,
    HistoryRequest,
    MarketTrade,
    OrderStatus,
    OrderSubmission,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Quote,
    RiskRejection,
    Side,
    UpdateStopLossTakeProfit,
    channels,
)
from tsxbot.messages.payload import Payload, Scalar
from tsxbot.runtime import Service
from tsxbot.sessions import from_ns, to_ns
from tsxbot.strategies.params import ReloadError, StrategyParams, reload_params
from tsxbot.strategy.bar import BarLike, ClosedBar, closed_bar
from tsxbot.strategy.engine import Outcome, StrategyEngine
from tsxbot.strategy.position import Position
from tsxbot.strategy.registry import load_strategy
from tsxbot.strategy.signals import Exit, MoveStop, Reason
from tsxbot.strategy.sizing import Sized
from tsxbot.strategy.skip import Skip

__all__ = ["BotService", "ReloadError"]

log = get_logger("tsxbot.bots")
_NS = 1_000_000_000
# History asked for at start: enough for the previous day's levels over a weekend, and any
# indicator's warm-up.
WARMUP_DAYS = 4
HISTORY_TIMEOUT_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0
STATUS_SECONDS = 1.0
# Bars kept to rebuild the strategy on RELOAD (one trading week of one-minute bars).
KEPT_BARS = 7_000
# Skipped signals reported in full in the status (all are counted by reason).
RECENT_SKIPS = 20
# At most this many order-channel messages are handled before their acknowledgement.
ORDER_BATCH = 500


class _SharedConversion:
    """The bots of one process receive the same message objects (``tsxbot.bots.feed``): the
    conversion each needs (a bar to a ``ClosedBar``, a print's or a quote's time to nanoseconds)
    is made once for all of them. A bar is kept by the message's identity (the last one only); a
    time by its identity (the last one) and by its value (the last ``TIMES_KEPT``: a bot with its
    own queue of market data reads the same prints a little later)."""

    TIMES_KEPT = 4096
    __slots__ = ("_bar", "_closed", "_last_ns", "_last_time", "_times")

    def __init__(self) -> None:
        self._bar: Bar | None = None
        self._closed: ClosedBar | None = None
        self._times: dict[dt.datetime, int] = {}
        # The last time converted, by identity: every bot of the feed asks for the same object.
        self._last_time: dt.datetime | None = None
        self._last_ns = 0

    def closed_bar(self, message: Bar) -> ClosedBar:
        if message is not self._bar or self._closed is None:
            self._closed = closed_bar(message)
            self._bar = message
        return self._closed

    def ns(self, when: dt.datetime) -> int:
        if when is self._last_time:
            return self._last_ns
        times = self._times
        found = times.get(when)
        if found is None:
            if len(times) >= self.TIMES_KEPT:
                times.clear()
            found = times[when] = to_ns(when)
        self._last_time, self._last_ns = when, found
        return found


_SHARED = _SharedConversion()


def _entry_words(sized: Sized) -> str:
    """An entry as the status and the log say it."""
    target = "none" if sized.target is None else f"{sized.target:g}"
    return (
        f"{sized.reason.setup}: {sized.side} {sized.quantity} at ~{sized.entry:g}, "
        f"stop {sized.stop:g}, target {target}"
    )


class BotService(Service):
    def __init__(
        self,
        config: Config,
        bot_id: str,
        bus: MessageBus,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        history: bool = True,
    ) -> None:
        super().__init__()
        settings = config.bots[bot_id]
        self.name = f"bot {bot_id}"
        self.config = config
        self.settings: BotSettings = settings
        self.bot_id = bot_id
        self.bus = bus
        self.clock = clock
        self.use_history = history
        self.symbol = settings.instrument.symbol
        self.point_value = settings.instrument.point_value
        self.tick_size = settings.instrument.tick_size
        self.strategy_class = load_strategy(settings.config.strategy.type)
        self.params: StrategyParams = settings.params
        self.engine = self._new_engine(self.params)
        self.resampler = BarResampler(timeframe_seconds(self.params.timeframe))
        self.extra_resamplers = self._extra_resamplers(self.engine)
        self.state = BotState.INITIALIZING
        self.message: str | None = None
        # Exchange truth from the aggregator.
        self.position = 0
        self.average_price = 0.0
        self.protective: dict[int, OrderUpdate] = {}
        self.realized_pnl = 0.0
        self.last_price: float | None = None
        # What the bot sent, and what came of it.
        self.entries: dict[str, Sized] = {}
        # Round trips closed this trading day (reset at the trading-day roll, 17:00 CT for CME).
        self.trades_today = 0
        self.trading_date: int | None = None
        # The last order the strategy's signals made: an entry is put in words when first read.
        self._last_signal: str | Sized | None = None
        self.last_skip: str | None = None
        self.skip_reason: str | None = None
        self.skips: Counter[str] = Counter()
        self.recent_skips: deque[str] = deque(maxlen=RECENT_SKIPS)
        self.error: str | None = None
        self.pending_params: StrategyParams | None = None
        self.kept_bars: deque[ClosedBar] = deque(maxlen=KEPT_BARS)
        self.last_bar_end: int | None = None
        self.counters: dict[str, int] = {
            "bars": 0,
            "prints": 0,
            "submissions": 0,
            "fills": 0,
            "skips": 0,
            "market_dropped": 0,  # prints and quotes dropped from a full queue (``_queue_market``)
        }
        # Bar close (bar received) to the submission published, seconds; for benchmarks and status.
        self.decision_seconds: deque[float] = deque(maxlen=1000)
        self._fills_seen: set[int] = set()
        self._order_seq = itertools.count(1)
        self._history_seq = itertools.count(1)
        self._history = HistoryReplies()
        self._held_bars: list[Bar] | None = None
        # Market data waiting behind a message the bot could not take at once (``market_bar``).
        self._market_backlog: deque[Bar | MarketTrade | Quote] | None = None
        self._backlog_limit = config.global_config.bus.consumer_buffer_size
        self._feed: MarketFeed | None = None
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._first_market: asyncio.Event = asyncio.Event()
        self._market_time: dt.datetime | None = None
        self._stopping = False
        self._status_at = 0.0
        self._lock = asyncio.Lock()
        # Log records of the orders a bar sent, written after every bot has sent its own.
        self._said: list[tuple[str, dict[str, Any]]] = []
        # UPDATE_SLTP due after an order message (sent by ``send_stop_moves``), and the stop price
        # last asked for that way (asked once).
        self._stop_moves: list[UpdateStopLossTakeProfit] = []
        self._unified_stop: float | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def _new_engine(self, params: StrategyParams) -> StrategyEngine:
        return StrategyEngine(
            self.strategy_class, params, self.settings.config, self.settings.instrument, build_bars=False
        )

    @staticmethod
    def _extra_resamplers(engine: StrategyEngine) -> list[tuple[str, BarResampler]]:
        """The strategy's ``extra_timeframes``, built from the same one-minute bars."""
        return [(tf, BarResampler(timeframe_seconds(tf))) for tf in engine.strategy.extra_timeframes()]

    @staticmethod
    def _feed_extra(engine: StrategyEngine, extras: list[tuple[str, BarResampler]], bar: ClosedBar) -> None:
        """``bar`` into the strategy's other timeframes: each bar it completes goes to the
        strategy (``on_extra_bar``) before the main timeframe's bar closing with it."""
        for timeframe, resampler in extras:
            for done in resampler.add(bar):
                engine.on_extra_bar(timeframe, done)

    def now(self) -> dt.datetime:
        if self.clock is not None:
            return self.clock()
        if self._market_time is not None:
            return self._market_time
        return dt.datetime.now(dt.UTC)

    async def start(self) -> None:
        await self._set_state(BotState.INITIALIZING)
        orders = await self.bus.subscribe(channels.bot_orders(self.bot_id), group=f"bot-{self.bot_id}")
        control = await self.bus.subscribe(channels.bot_control(self.bot_id), group=f"bot-{self.bot_id}")
        replies = await self.bus.subscribe(
            channels.history_replies(self.bot_id), group=f"bot-{self.bot_id}-history"
        )
        self._subscriptions = [orders, control, replies]
        self._held_bars = []  # live bars wait while the warm-up runs
        self._tasks = [
            self._background(self._consume_orders(orders), "orders"),
            self._background(self._consume_control(control), "control"),
            self._background(self._history.consume(replies), "history"),
        ]
        self._feed = await join_market_feed(self.bus, self.symbol, self)
        await self._publish(
            channels.AGGREGATOR_ORDERS,
            BotRegistration(
                bot_id=self.bot_id,
                config_hash=config_hash(self.settings.config),
                symbol=self.symbol,
                strategy=self.settings.config.strategy.type,
            ),
        )
        await self._set_state(BotState.WARMING_UP)
        await self.warm_up()
        self._tasks.append(self._background(self._heartbeats(), "heartbeat"))
        await self._set_state(BotState.PAUSED if self.engine.gate.paused else BotState.RUNNING)
        log.info(
            "bot started", bot=self.bot_id, symbol=self.symbol, strategy=self.settings.config.strategy.type
        )

    async def stop(self) -> None:
        """Stops taking market data and commands. An open position keeps its working stop and
        target at the exchange (protected)."""
        self._stopping = True
        if self._feed is not None:
            feed, self._feed = self._feed, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(feed.leave(self), 5.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(subscription.close(), 5.0)
        if self.state not in (BotState.ERROR,):
            self.state = BotState.STOPPED
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.publish_status(), 2.0)
        if self.position:
            stop, target = self.working_bracket()
            if stop is None:
                log.error(
                    "bot stopped with a position and no working stop known to it: check the exchange",
                    bot=self.bot_id,
                    position=self.position,
                )
            else:
                log.warning(
                    "bot stopped; its position stays protected at the exchange",
                    bot=self.bot_id,
                    position=self.position,
                    stop=stop,
                    target=target,
                )
        log.info("bot stopped", bot=self.bot_id, position=self.position)

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        def ended(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and (error := task.exception()) is not None:
                self._died(name, error)

        task = asyncio.create_task(work, name=f"bot-{self.bot_id}-{name}")
        task.add_done_callback(ended)
        return task

    def _died(self, work: str, error: BaseException) -> None:
        log.error("bot background work died; the bot fails", bot=self.bot_id, task=work, error=repr(error))
        self.fail(error)

    def market_failed(self, error: Exception) -> None:
        """The feed's call into this bot raised what the bot did not handle."""
        self._died("market", error)

    async def _heartbeats(self) -> None:
        """A heartbeat (and the status) at start, then every ``HEARTBEAT_SECONDS``. Each bot of a
        process beats at its own phase (from its id): 100 bots started together would otherwise
        publish their 100 statuses at the same moment, and a bar coming then would wait for them."""
        phase = zlib.crc32(self.bot_id.encode()) / 2**32
        wait = HEARTBEAT_SECONDS * phase
        while not self._stopping:
            await self._publish(
                channels.AGGREGATOR_HEARTBEATS, BotHeartbeat(bot_id=self.bot_id, state=self.state)
            )
            await self.publish_status()
            await asyncio.sleep(wait)
            wait = HEARTBEAT_SECONDS

    # --- warm-up and history ----------------------------------------------------------------------

    async def history(self, start: dt.datetime, end: dt.datetime) -> list[Bar]:
        """One-minute bars in [start, end) from the connection manager (ProjectX History); [] when
        it does not answer in time or answers an error (logged)."""
        request_id = f"{self.bot_id}-{to_ns(self.now()) // _NS}-{next(self._history_seq)}"
        request = HistoryRequest(
            request_id=request_id, reply_to=self.bot_id, symbol=self.symbol, start=start, end=end
        )
        try:
            answer = await self._history.ask(request, self._publish_history, HISTORY_TIMEOUT_SECONDS)
        except TimeoutError:
            log.error("History did not answer; going on without it", bot=self.bot_id, start=start.isoformat())
            return []
        if answer.error is not None:
            log.error("History refused", bot=self.bot_id, error=answer.error)
            return []
        return answer.bars

    async def _publish_history(self, request: HistoryRequest) -> None:
        await self._publish(channels.CM_HISTORY, request)

    async def warm_up(self) -> None:
        """Feeds History's bars up to now to the strategy without acting on them, then the live
        bars that arrived meanwhile: the first live bar after this can trade."""
        bars: list[Bar] = []
        if self.use_history:
            if self.clock is None:
                # Without a clock the exchange's time comes from its market data.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._first_market.wait(), 10.0)
            end_ns = to_ns(self.now()) // (60 * _NS) * 60 * _NS
            end = from_ns(end_ns)
            bars = await self.history(end - dt.timedelta(days=WARMUP_DAYS), end)
        async with self._lock:
            self.engine.warming_up = True
            try:
                for bar in bars:
                    self._feed_bar(closed_bar(bar), warm=True)
            except Exception as exc:
                self._strategy_failed(exc, None)
            finally:
                self.engine.warming_up = False
            held = self._held_bars if self._held_bars is not None else []
            log.info("bot warmed up", bot=self.bot_id, history_bars=len(bars), live_bars=len(held))
        # The live bars held, and those that come while they are decided, in order.
        done = 0
        while done < len(held):
            await self.on_bar_message(held[done])
            done += 1
        self._held_bars = None

    # --- market data ------------------------------------------------------------------------------

    def market_bar(self, message: Bar, received: float) -> list[OrderMessage] | None:
        """A bar from the process's market feed (received at ``received``, ``perf_counter``),
        decided now, without waiting: the orders it calls for, which the feed publishes in one
        batch with the other bots' (then calls ``orders_sent``); what reports them (their log
        lines: ``say_deferred``, the status) is left to the feed, once every bot's orders are out.
        None when there is nothing to send nor report ([]: a report and no order).

        A bar the bot cannot decide at once waits in the bot's own queue, handled in order by its
        own task, with every message after it: a bar that comes while the bot warms up (held for
        the warm-up), one after a gap (filled from History first), one while the bot is busy
        sending (its lock held)."""
        if self._stopping:
            return None
        if self._market_backlog is not None:
            self._queue_market(message)
            return None
        if self._held_bars is not None:
            self._held_bars.append(message)
            return None
        if not message.complete or message.timeframe != "1m":
            return None
        bar = _SHARED.closed_bar(message)
        if self.last_bar_end is not None and bar.end <= self.last_bar_end:
            return None  # already seen (History and the live feed overlap)
        if self._lock.locked() or self._gap_before(bar):
            self._queue_market(message)
            return None
        # Nothing else runs until the feed takes the lock (``send_lock``) to publish the orders.
        decided = self._feed_bar(bar, warm=False)
        if any(outcomes for _bar, outcomes in decided):
            return self.orders(decided)
        return [] if self._status_due() else None

    @property
    def send_lock(self) -> asyncio.Lock:
        """The lock the feed holds while it publishes this bot's orders of a bar."""
        return self._lock

    def orders_sent(self, orders: Sequence[OrderMessage], seconds: float) -> None:
        """The feed published ``orders`` (``market_bar``'s), ``seconds`` after the bar came."""
        for order in orders:
            if type(order) is OrderSubmission:
                self.decision_seconds.append(seconds)
                return

    def market_flow(self, payload: MarketTrade | Quote) -> None:
        """A print or a quote from the process's market feed."""
        if self._stopping:
            return
        if self._market_backlog is not None:
            self._queue_market(payload)
        elif isinstance(payload, MarketTrade):
            self.on_trade(payload)
        else:
            self.on_quote(payload)

    def _queue_market(self, payload: Bar | MarketTrade | Quote) -> None:
        """Into the bot's own queue of market data (its task handles it, in order). Beyond the
        bus's ``consumerBufferSize`` the oldest print or quote goes (counted, logged): never a bar."""
        backlog = self._market_backlog
        if backlog is None:
            backlog = self._market_backlog = deque()
            self._tasks = [t for t in self._tasks if not t.done()]
            self._tasks.append(self._background(self._drain_market(backlog), "market"))
        if len(backlog) >= self._backlog_limit:
            oldest = next((i for i, p in enumerate(backlog) if not isinstance(p, Bar)), 0)
            del backlog[oldest]
            self.counters["market_dropped"] += 1
            if self.counters["market_dropped"] == 1:
                log.warning(
                    "market data dropped while the bot waited: the oldest print or quote first",
                    bot=self.bot_id,
                    limit=self._backlog_limit,
                )
        backlog.append(payload)

    async def _drain_market(self, backlog: deque[Bar | MarketTrade | Quote]) -> None:
        """The bot's own queue of market data, in order; once it is empty the feed's messages
        come straight to the bot again."""
        while backlog:
            payload = backlog.popleft()
            if isinstance(payload, Bar):
                await self.on_bar_message(payload)
            elif isinstance(payload, MarketTrade):
                self.on_trade(payload)
            else:
                self.on_quote(payload)
        self._market_backlog = None

    def on_quote(self, quote: Quote) -> None:
        """A quote: the exchange's time, the last price, and the strategy's ``on_quote``."""
        self._market_time = quote.timestamp
        self._first_market.set()
        if quote.last is not None:
            self.last_price = quote.last
        if quote.bid is not None and quote.ask is not None and self.state is not BotState.ERROR:
            try:
                self.engine.on_quote(_SHARED.ns(quote.timestamp), quote.bid, quote.ask)
            except Exception as exc:
                self._strategy_failed(exc, None)

    def on_trade(self, trade: MarketTrade) -> None:
        """A print: the strategy's flow (VWAP, volume profile, delta) and its ``on_print``."""
        self._market_time = trade.timestamp
        self._first_market.set()
        self.last_price = trade.price
        aggressor = trade.aggressor
        side = 1 if aggressor is Aggressor.BUY else -1 if aggressor is Aggressor.SELL else 0
        self.counters["prints"] += 1
        if self.state is not BotState.ERROR:
            try:
                self.engine.on_print(_SHARED.ns(trade.timestamp), trade.price, float(trade.size), side)
            except Exception as exc:
                self._strategy_failed(exc, None)

    async def on_bar_message(self, message: Bar) -> None:
        """A one-minute bar from the bus: a gap before it is filled from History first."""
        if not message.complete or message.timeframe != "1m":
            return
        received = time.perf_counter()
        bar = _SHARED.closed_bar(message)
        if self.last_bar_end is not None and bar.end <= self.last_bar_end:
            return  # already seen (History and the live feed overlap)
        if self._gap_before(bar):
            assert self.last_bar_end is not None
            for missing in await self.history(from_ns(self.last_bar_end), from_ns(bar.start)):
                await self._on_closed(closed_bar(missing), None)
        await self._on_closed(bar, received)

    def _gap_before(self, bar: ClosedBar) -> bool:
        """Bars are missing between the last one seen and ``bar`` (History fills them)."""
        return self.use_history and self.last_bar_end is not None and bar.start > self.last_bar_end

    def _status_due(self) -> bool:
        """The status after a bar: whenever the bar decided something, else at most once a second
        (a process of many bots must not spend its bar closes on status nobody waits for)."""
        return time.monotonic() - self._status_at >= STATUS_SECONDS

    async def _on_closed(self, bar: ClosedBar, received: float | None) -> None:
        acted = await self._decide(bar, received)
        if not acted and (received is None or not self._status_due()):
            return
        # The orders are out. What only reports them (their log lines, the status) waits until the
        # other work of the process has had its turn: one yield.
        try:
            if self._said:
                await asyncio.sleep(0)
        finally:
            self.say_deferred()
        if received is not None:
            await self.publish_status()

    async def _decide(self, bar: ClosedBar, received: float | None) -> bool:
        """``bar`` into the strategy and its orders published; True when it decided something."""
        async with self._lock:
            decided = self._feed_bar(bar, warm=False)
            acted = any(outcomes for _bar, outcomes in decided)
            if acted:
                orders = self.orders(decided)
                await self.send(orders)
                if received is not None:
                    self.orders_sent(orders, time.perf_counter() - received)
        return acted

    def _say(self, event: str, **fields: Any) -> None:
        """An INFO record about an order just sent, written once the bar's orders are all out."""
        self._said.append((event, fields))

    def say_deferred(self) -> None:
        said, self._said = self._said, []
        for event, fields in said:
            signal = fields.get("signal")
            if isinstance(signal, Sized):
                fields["signal"] = _entry_words(signal)
            log.info(event, bot=self.bot_id, **fields)

    @property
    def last_signal(self) -> str | None:
        signal = self._last_signal
        if isinstance(signal, Sized):
            signal = self._last_signal = _entry_words(signal)
        return signal

    def _feed_bar(self, bar: ClosedBar, *, warm: bool) -> list[tuple[BarLike, list[Outcome]]]:
        """One one-minute bar into the strategy's timeframe; the outcomes of each bar it completes."""
        if self.last_bar_end is not None and bar.end <= self.last_bar_end:
            return []
        self.last_bar_end = bar.end
        self.kept_bars.append(bar)
        self._roll_day(bar.end)
        out: list[tuple[BarLike, list[Outcome]]] = []
        if self.extra_resamplers and self.state is not BotState.ERROR:
            try:
                self._feed_extra(self.engine, self.extra_resamplers, bar)
            except Exception as exc:
                self._strategy_failed(exc, bar)
        for done in self.resampler.add(bar):
            self.counters["bars"] += 1
            if self.pending_params is not None and not warm:
                self._apply_reload(self.pending_params)
            if self.state is BotState.ERROR and not warm:
                out.append((done, self._exits_only(done)))
                continue
            try:
                out.append((done, self.engine.on_bar(done, feed_flow=warm)))
            except Exception as exc:
                self._strategy_failed(exc, done)
                if not warm:
                    out.append((done, self._exits_only(done)))
        return out

    def _exits_only(self, bar: BarLike) -> list[Outcome]:
        """A bot in ERROR: no strategy, but its position's exits are still managed."""
        engine = self.engine
        engine.ctx.now = bar.end
        if engine.ctx.position.flat:
            return []
        flatten = engine.gate.flatten_due(bar.end)
        return list(engine.exits.on_bar(bar, flatten_due=flatten, atr=None))

    def _strategy_failed(self, exc: Exception, bar: BarLike | None) -> None:
        where = (
            f"the bar {from_ns(bar.start).isoformat()}..{from_ns(bar.end).isoformat()} "
            f"O {bar.open:g} H {bar.high:g} L {bar.low:g} C {bar.close:g} V {bar.volume:g}"
            if bar is not None
            else "market data"
        )
        self.error = f"the strategy raised {type(exc).__name__}: {exc} (on {where}); new entries paused"
        log.error(
            "strategy raised: new entries paused, exits still managed",
            bot=self.bot_id,
            error=repr(exc),
            bar=where,
            exc_info=exc,
        )
        self.engine.gate.paused = True
        self.state = BotState.ERROR
        self.message = self.error

    # --- decisions to orders ----------------------------------------------------------------------

    async def send(self, orders: Sequence[OrderMessage]) -> None:
        """``orders`` on ``aggregator:orders``, in order, in one batch."""
        if orders:
            envelopes = [Envelope.wrap(order, self.bot_id) for order in orders]
            await self.bus.publish_many(channels.AGGREGATOR_ORDERS, envelopes)

    def orders(self, decided: Sequence[tuple[BarLike, list[Outcome]]]) -> list[OrderMessage]:
        """The messages for ``aggregator:orders`` the outcomes call for, in order, with the bot's
        bookkeeping of them (entries in flight, last signal, skips, counters, log records)."""
        out: list[OrderMessage] = []
        for bar, outcomes in decided:
            for outcome in outcomes:
                order = self._order(bar, outcome)
                if order is not None:
                    out.append(order)
        return out

    def _order(self, bar: BarLike, outcome: Outcome) -> OrderMessage | None:
        n = next(self._order_seq)
        if isinstance(outcome, Skip):
            self.counters["skips"] += 1
            self.skips[outcome.kind.value] += 1
            self.last_skip = f"{outcome.reason.setup}: {outcome.detail}"
            self.skip_reason = outcome.kind.value
            when = from_ns(bar.end).isoformat()
            self.recent_skips.append(f"{when} {outcome.kind.value}: {self.last_skip}")
            self._say(
                "signal skipped",
                setup=outcome.reason.setup,
                reason=outcome.kind.value,
                detail=outcome.detail,
            )
            return None
        if isinstance(outcome, Sized):
            submission = entry_submission(outcome, self.symbol, self.tick_size, bar.end, n)
            self.entries[submission.order_id] = outcome
            self._last_signal = outcome
            self.counters["submissions"] += 1
            self._say("entry sent", signal=outcome, order_id=submission.order_id)
            return submission
        if isinstance(outcome, Exit):
            exit_order = exit_submission(self.engine.ctx.position.quantity, outcome, self.symbol, bar.end, n)
            if exit_order is None:
                return None
            self._last_signal = (
                f"exit ({outcome.reason.setup}): {exit_order.side.value} {exit_order.quantity}"
            )
            self.counters["submissions"] += 1
            self._say("exit sent", why=outcome.reason.setup, quantity=exit_order.quantity)
            return exit_order
        command = sltp_command(outcome, self.bot_id, self.symbol, bar.end, n)  # MoveStop, MoveTarget
        self._say(
            "stop/target moved", why=outcome.reason.setup, stop=command.stop_loss, target=command.take_profit
        )
        return command

    async def _submit(self, submission: OrderSubmission) -> None:
        self.counters["submissions"] += 1
        await self._publish(channels.AGGREGATOR_ORDERS, submission)

    async def flatten(self, why: str) -> None:
        """Closes the bot's whole position at the market (its stops and targets are then
        cancelled by the aggregator)."""
        n = next(self._order_seq)
        order = exit_submission(self.position, None, self.symbol, to_ns(self.now()), n, tag="f")
        if order is not None:
            await self._submit(order)
            log.warning("bot flattening", bot=self.bot_id, why=why, quantity=order.quantity)

    # --- the bot's orders, fills and position -----------------------------------------------------

    async def _consume_orders(self, subscription: Subscription) -> None:
        """Handles what has arrived, in order, then acknowledges it together (one pipeline over
        Redis) and publishes the status once: a fill behind order updates waits for none of their
        acknowledgements. A message is acknowledged only once handled, so a crash before then
        delivers it again (a fill already counted is not counted twice: ``on_fill``)."""
        while batch := await subscription.next_batch(ORDER_BATCH):
            async with self._lock:
                for message in batch:
                    try:
                        self.on_order_message(message.envelope.payload)
                    except Exception:
                        log.exception(
                            "a message on the bot's order channel could not be handled", bot=self.bot_id
                        )
                await self.send_stop_moves()
            await ack_all(batch)
            await self.publish_status()

    async def send_stop_moves(self) -> None:
        """The UPDATE_SLTP the bot's orders called for (one stop for a scaled-in position)."""
        moves, self._stop_moves = self._stop_moves, []
        for move in moves:
            await self._publish(channels.AGGREGATOR_ORDERS, move)
            log.info("stop moved", bot=self.bot_id, why="scale-in: one stop", stop=move.stop_loss)

    def on_order_message(self, payload: Payload) -> None:
        if isinstance(payload, Fill):
            self.on_fill(payload)
        elif isinstance(payload, PositionUpdate):
            self.on_position(payload)
        elif isinstance(payload, OrderUpdate):
            self.on_order_update(payload)
        elif isinstance(payload, RiskRejection):
            self.on_rejection(payload)

    def on_fill(self, fill: Fill) -> None:
        if fill.fill_id in self._fills_seen or fill.voided or (fill.symbol and fill.symbol != self.symbol):
            return
        self._fills_seen.add(fill.fill_id)
        self.counters["fills"] += 1
        done = self.engine.on_fill(
            to_ns(fill.timestamp), "buy" if fill.side is Side.BUY else "sell", fill.quantity, fill.price
        )
        if done.realized_points is not None:
            self.realized_pnl += done.realized_points * fill.quantity * self.point_value
        self.realized_pnl -= fill.fees
        self._roll_day(to_ns(fill.timestamp))
        if self.engine.ctx.position.flat:
            self._unified_stop = None  # the next scale-in's stops are joined again
            if done.realized_points is not None:
                self.trades_today += 1
        self.position = self.engine.ctx.position.quantity
        self.average_price = self.engine.ctx.position.average_price

    def _roll_day(self, now_ns: int) -> None:
        """A new trading day (the session calendar's, from market time): its counts start at 0."""
        gate = self.engine.gate
        day = gate.clock.trading_date(now_ns)
        if day is None or day == self.trading_date:
            return
        if self.trading_date is None or day > self.trading_date:
            self.trading_date = day
            self.trades_today = 0
            gate.roll(now_ns)

    def on_position(self, update: PositionUpdate) -> None:
        """The aggregator's account of the bot's position: the truth the engine follows."""
        if update.symbol is not None and update.symbol != self.symbol:
            return
        held = self.engine.ctx.position
        self.position, self.average_price = update.net_quantity, update.average_price
        if held.quantity == update.net_quantity:
            return
        if held.flat and update.net_quantity != 0 and self.engine.exits.position is None:
            stop, target = self.working_bracket()
            log.warning(
                "position restored from the aggregator",
                bot=self.bot_id,
                quantity=update.net_quantity,
                average_price=update.average_price,
                stop=stop,
                target=target,
            )
            if stop is None:
                # A position without a known stop: say so; the exit manager follows it from the entry.
                stop = update.average_price
            self.engine.restore(update.net_quantity, update.average_price, stop, target)
            return
        log.warning(
            "bot position corrected to the aggregator's",
            bot=self.bot_id,
            engine=held.quantity,
            aggregator=update.net_quantity,
        )
        if update.net_quantity == 0:
            self.engine.restore(0, 0.0, 0.0, None)
            self.engine.exits.close()
        else:
            self.engine.ctx.position = Position(update.net_quantity, update.average_price)
            self.engine.exits.set_quantity(abs(update.net_quantity))

    def working_bracket(self) -> tuple[float | None, float | None]:
        stop = target = None
        for order in self.protective.values():
            if order.order_type in (OrderType.STOP, OrderType.TRAILING_STOP) and order.stop_price is not None:
                stop = order.stop_price
            elif order.order_type is OrderType.LIMIT and order.limit_price is not None:
                target = order.limit_price
        return stop, target

    def on_order_update(self, update: OrderUpdate) -> None:
        if update.order_id is None:  # a stop or target (bracket leg)
            if update.status in (OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.SUSPENDED):
                self.protective[update.exchange_order_id] = update
                self._follow_exchange_bracket(update)
                self._one_stop()
            else:
                self.protective.pop(update.exchange_order_id, None)
            return
        if update.order_id in self.entries and update.status.is_final and update.filled_quantity == 0:
            self.entries.pop(update.order_id, None)
            self.engine.entry_rejected()
            log.warning(
                "entry ended unfilled", bot=self.bot_id, order_id=update.order_id, status=update.status.value
            )

    def _follow_exchange_bracket(self, leg: OrderUpdate) -> None:
        """The bracket the exchange placed (from the fill, not the bar's close) becomes the exit
        manager's: its R is measured from the real stop while the stop has not been moved yet."""
        managed = self.engine.exits.position
        held = self.engine.ctx.position
        if managed is None:
            # A position the exit manager does not follow (an entry that filled while the bot
            # restarted): once its stop is known, its exits are managed again.
            stop, target = self.working_bracket()
            if not held.flat and held.side is not None and stop is not None:
                self.engine.exits.open(held.side, held.average_price, stop, target, abs(held.quantity))
                log.warning("exits managed again for a position found held", bot=self.bot_id, stop=stop)
            return
        if leg.order_type in (OrderType.STOP, OrderType.TRAILING_STOP) and leg.stop_price is not None:
            if managed.stop == managed.initial_stop:
                managed.initial_stop = leg.stop_price
            managed.stop = leg.stop_price
        elif leg.order_type is OrderType.LIMIT and leg.limit_price is not None:
            managed.target = leg.limit_price

    def _one_stop(self) -> None:
        """After a scale-in each entry has its own bracket, so the position has stops at two
        prices. A trader expects one protective stop for the whole size: the tightest working stop
        becomes every stop's price (UPDATE_SLTP moves all of the bot's stops; it only tightens,
        so no entry risks more than it was sized for)."""
        managed = self.engine.exits.position
        if managed is None or self.position == 0:
            return
        prices = {
            o.stop_price
            for o in self.protective.values()
            if o.order_type in (OrderType.STOP, OrderType.TRAILING_STOP) and o.stop_price is not None
        }
        if len(prices) < 2:
            return
        tightest = max(prices) if managed.side == "long" else min(prices)
        managed.stop = tightest
        if self._unified_stop == tightest:
            return
        self._unified_stop = tightest
        reason = Reason(setup="scale-in", note="one stop for the whole position")
        self._stop_moves.append(
            sltp_command(
                MoveStop(price=tightest, reason=reason),
                self.bot_id,
                self.symbol,
                to_ns(self.now()),
                next(self._order_seq),
            )
        )

    def on_rejection(self, rejection: RiskRejection) -> None:
        log.warning(
            "order refused",
            bot=self.bot_id,
            order_id=rejection.order_id,
            reason=rejection.reason.value,
            detail=rejection.message,
        )
        self.skips[f"REFUSED_{rejection.reason.value}"] += 1
        self.last_skip = f"order {rejection.order_id} refused: {rejection.message}"
        self.skip_reason = rejection.reason.value
        if self.entries.pop(rejection.order_id, None) is not None:
            self.engine.entry_rejected()

    # --- control ----------------------------------------------------------------------------------

    async def _consume_control(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, BotControl) and payload.bot_id == self.bot_id:
                await self.control(payload.command, payload.params)
            await message.ack()

    async def control(self, command: BotCommand, params: dict[str, Scalar] | None = None) -> str:
        """Applies one control command; returns what happened (also the status ``message``)."""
        params = params or {}
        gate = self.engine.gate
        if command is BotCommand.PAUSE:
            gate.paused = True
            await self._set_state(BotState.PAUSED, "paused: no new entries, exits still managed")
        elif command in (BotCommand.RESUME, BotCommand.START):
            gate.paused = False
            self.error = None
            await self._set_state(BotState.RUNNING, f"{command.value.lower()}ed")
        elif command is BotCommand.FLATTEN:
            gate.paused = True
            await self.flatten("FLATTEN command")
            await self._set_state(BotState.PAUSED, "flattened, then paused")
        elif command is BotCommand.STOP:
            gate.paused = True
            flatten = params.get("flatten")
            mode = (
                ("flatten" if flatten else "protect")
                if isinstance(flatten, bool)
                else self.settings.config.on_stop
            )
            if mode == "flatten":
                await self.flatten("STOP command")
            await self._set_state(
                BotState.STOPPED,
                "stopped: position closed" if mode == "flatten" else "stopped: position left with its stop",
            )
        elif command in (BotCommand.RELOAD, BotCommand.UPDATE_CONFIG):
            try:
                self.pending_params = self.validate_params(params)
            except ReloadError as exc:
                await self._set_state(self.state, f"RELOAD refused: {exc}")
                log.warning("RELOAD refused", bot=self.bot_id, error=str(exc))
                return f"RELOAD refused: {exc}"
            await self._set_state(self.state, "RELOAD accepted: new params apply at the next bar")
        assert self.message is not None
        return self.message

    def validate_params(self, changes: dict[str, Scalar]) -> StrategyParams:
        """The current params with ``changes`` applied (``tsxbot.strategies.reload_params``)."""
        return reload_params(self.params, changes)

    def _apply_reload(self, params: StrategyParams) -> None:
        """At a bar: a new strategy with the new params, warmed on the bars kept, taking over the
        old engine's gate, exits and position."""
        self.pending_params = None
        old = self.engine
        try:
            engine = self._new_engine(params)
            engine.warming_up = True
            resampler = BarResampler(timeframe_seconds(params.timeframe))
            extras = self._extra_resamplers(engine)
            for kept in list(self.kept_bars)[:-1]:
                self._feed_extra(engine, extras, kept)
                for done in resampler.add(kept):
                    engine.on_bar(done, feed_flow=True)
            engine.warming_up = False
        except Exception as exc:
            log.error(
                "RELOAD failed while warming the new strategy; the old one goes on",
                bot=self.bot_id,
                error=repr(exc),
            )
            self.message = f"RELOAD failed: {type(exc).__name__}: {exc}"
            return
        engine.gate = old.gate
        engine.exits = old.exits
        engine.ctx.position = old.ctx.position
        # The entries held and in flight carry over (what risk.maxPositions counts).
        engine._held, engine._unfilled, engine._pending = old._held, old._unfilled, old._pending
        self.engine = engine
        self.extra_resamplers = extras
        self.params = params
        self.message = "RELOAD applied"
        log.info("RELOAD applied", bot=self.bot_id, params=msgspec.to_builtins(params))

    # --- status -----------------------------------------------------------------------------------

    async def _set_state(self, state: BotState, message: str | None = None) -> None:
        if state is not self.state:
            log.info("bot state", bot=self.bot_id, state=state.value, was=self.state.value, why=message)
        self.state = state
        if message is not None:
            self.message = message
        await self.publish_status()

    def open_pnl(self) -> float:
        if self.position == 0 or self.last_price is None:
            return 0.0
        return (self.last_price - self.average_price) * self.position * self.point_value

    def status(self) -> BotStatus:
        try:
            raw = self.engine.strategy.state()
        except Exception as exc:  # a strategy's own report must not break the bot's
            raw = {"stateError": repr(exc)}
        stop, target = self.working_bracket()
        return BotStatus(
            bot_id=self.bot_id,
            name=self.settings.config.bot.name,
            strategy=self.settings.config.strategy.type,
            symbol=self.symbol,
            state=self.state,
            position=self.position,
            signals_today=self.engine.gate.entries_today,
            trades_today=self.trades_today,
            message=self.message,
            average_price=self.average_price,
            realized_pnl=round(self.realized_pnl, 2),
            open_pnl=round(self.open_pnl(), 2),
            strategy_state=dict(raw),
            last_signal=self.last_signal,
            last_skip=self.last_skip,
            skip_reason=self.skip_reason,
            skips=dict(self.skips),
            recent_skips=list(self.recent_skips),
            working_stop=stop,
            working_target=target,
        )

    async def publish_status(self) -> None:
        self._status_at = time.monotonic()
        await self._publish(channels.bot_status(self.bot_id), self.status())

    async def _publish(self, channel: channels.Channel, payload: Payload) -> None:
        await self.bus.publish(channel, Envelope.wrap(payload, self.bot_id))
