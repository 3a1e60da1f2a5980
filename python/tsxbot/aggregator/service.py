"""The trading aggregator: one per account, between the bots and the connection manager.

Every order a bot submits (``aggregator:orders``) is checked by the Rust ``RiskEngine`` against
the account's live state (positions and working orders per bot from fills and order updates,
realized and open P&L from fills and quotes, the trailing drawdown, the trading state), then
queued (priorities, one account-wide pace, a bound, an expiry) and sent to the connection
manager as an order command, or refused with a typed ``RiskRejection`` to the bot. Fills, order
updates and the bot's share of positions go back to each bot on ``bot:{botId}:orders``.

Handling is sequential (one consumer of the durable channels), so the state a check sees is the
state every earlier message left. A submission is acknowledged on the bus only once its command
is sent or the order refused: one the aggregator dies holding comes back, and is sent with the
same command id and custom tag (the connection manager executes it once).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from tsxbot.aggregator.account import account_from_connection_manager
from tsxbot.aggregator.api import AggregatorApi
from tsxbot.aggregator.day_start import DayStartUnavailable, day_figures_from_exchange
from tsxbot.aggregator.latency import RoundTrips
from tsxbot.aggregator.malformed import RefusalNotJournaledError, read_malformed
from tsxbot.aggregator.metrics import MonitoringServer
from tsxbot.aggregator.order_gate import OrderGate
from tsxbot.aggregator.orders import WorkingOrders
from tsxbot.aggregator.persistence import SaveFailed, StateStore, Write, restore
from tsxbot.aggregator.positions import UNATTRIBUTED, Positions
from tsxbot.aggregator.queue import OrderQueue, Priority, QueuedCommand, QueueFull, RateLimiter
from tsxbot.aggregator.registry import BotRegistry, config_hash
from tsxbot.aggregator.sltp import BracketError, bracket_ticks, safe_prices
from tsxbot.aggregator.trading_state import (
    DAILY,
    AccountState,
    Cause,
    CircuitBreaker,
    ExchangeClock,
    RiskEvent,
    state_name,
    trading_day,
)
from tsxbot.bus import Message, MessageBus, Subscription, ack_all
from tsxbot.config import Config
from tsxbot.config.global_config import CorrelationGroup
from tsxbot.config.secrets import Secret
from tsxbot.config.types import parse_time_of_day
from tsxbot.journal.aggregator_journal import AggregatorJournal
from tsxbot.log import after_queued_work, get_logger
from tsxbot.messages import (
    AccountUpdate,
    AggregatorControl,
    BotHeartbeat,
    BotRegistration,
    CancelOrder,
    ClosePosition,
    CommandFailure,
    CommandResult,
    ControlAction,
    Envelope,
    Fill,
    MessageDecodeError,
    Metrics,
    ModifyOrder,
    OrderStatus,
    OrderSubmission,
    OrderUpdate,
    PlaceOrder,
    PositionUpdate,
    Quote,
    RejectionStage,
    RiskReason,
    RiskRejection,
    Side,
    TradingStateChange,
    UpdateStopLossTakeProfit,
    channels,
    utc_now,
)
from tsxbot.messages.payload import Payload
from tsxbot.risk import (
    OrderRequest,
    RiskEngine,
    RiskInputError,
    TradingState,
    bot_limits_from_config,
    limits_from_config,
    message_reason,
)
from tsxbot.runtime import Service
from tsxbot.sessions import to_ns

SOURCE = "aggregator"
GROUP = "aggregator"
log = get_logger("tsxbot.aggregator")
# A reconciliation mismatch must last this long before it counts (fills and positions travel on
# separate channels and may arrive in either order).
RECONCILE_GRACE_SECONDS = 2.0
HOUSEKEEPING_SECONDS = 0.25
SUBSCRIPTION_CLOSE_SECONDS = 3.0
# Batches whose save is being written while the next is handled (then the consumer waits, and
# has the trade journal write their rows at once). A round trip's batches wait for the journal's
# quiet (journal.quietMs), so that many must not stop the consumer.
SAVES_IN_FLIGHT = 32
# What a batch whose save may give way to an order on its way holds (``order_gate``): events of
# the exchange, handled again alike after a crash.
EXCHANGE_EVENTS = (Fill, OrderUpdate, CommandResult, PositionUpdate, AccountUpdate)
# How long a batch's save and acknowledgement give way to an order on its way (``order_gate``).
ORDER_GATE_HOLD_S = 0.2
KEPT_ORDERS = 100_000


@dataclass
class OrderRecord:
    """One bot order as the aggregator saw it (for ``/orders`` and idempotency)."""

    bot_id: str
    order_id: str
    symbol: str
    side: str
    quantity: int
    # QUEUED, SENT, WORKING, UNKNOWN (the gateway failed: maybe at the exchange), FILLED,
    # CANCELLED, REJECTED, EXPIRED, REFUSED
    status: str
    command_id: str | None = None
    custom_tag: str | None = None
    exchange_order_id: int | None = None
    filled: int = 0
    reason: str | None = None
    # What the risk engine accepted (to count it as working again after a restart).
    price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    reduce_only: bool = False

    @property
    def open(self) -> bool:
        return self.status in ("QUEUED", "SENT", "WORKING", "UNKNOWN")

    def to_json(self) -> dict[str, Any]:
        return {
            "botId": self.bot_id,
            "orderId": self.order_id,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": self.quantity,
            "status": self.status,
            "commandId": self.command_id,
            "customTag": self.custom_tag,
            "exchangeOrderId": self.exchange_order_id,
            "filled": self.filled,
            "reason": self.reason,
        }


@dataclass
class SentCommand:
    command: Payload | None
    bot_id: str | None
    order_key: str | None
    # Cancels of protective orders and flatten steps: a failure there (the order already gone)
    # is expected and does not count toward the circuit breaker.
    best_effort: bool = False


def order_key(bot_id: str, order_id: str) -> str:
    return f"{bot_id}:{order_id}"


def custom_tag(bot_id: str, order_id: str) -> str:
    """``<botId>-<hash of the order id>``: unique per bot order, the same on every retry (so
    TopStepX refuses a second order with it), and the bot readable as the prefix."""
    digest = hashlib.sha256(order_id.encode()).hexdigest()[:20]
    return f"{bot_id}-{digest}"


# Open P&L on bot:{id}:pnl as quotes move it: at most this often per bot (fills publish at once).
PNL_INTERVAL_S = 1.0


class Aggregator(Service):
    name = "aggregator"

    def __init__(
        self,
        config: Config,
        bus: MessageBus,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        account_id: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        api_key: Secret | None = None,
        api_port: int | None = None,
        monitoring_port: int | None = None,
        journal: AggregatorJournal | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        # The trade journal (tsxbot.journal): every event recorded, written before the batch is
        # acknowledged; the day's P&L comes back from it after a restart without a snapshot.
        self.journal = journal
        self._journal_day_pending = False
        # The day's realized P&L (before fees) and fees from before this run (restored or read
        # from the exchange); the risk engine counts what this run applies on top.
        self.carried_realized = 0.0
        self.carried_fees = 0.0
        # Where the day's start came from: state, journal, exchange, firstBalance (the exchange's
        # trades could not be had; with day_start_warning), roll, or pending.
        self.day_start_source = "pending"
        self.day_start_warning: str | None = None
        self._fresh_day = False  # nothing restored: the day's start is read from the exchange
        self._first_balance_pending = False
        # Exchange fills already in the balance the day's start was read with (fill ids of
        # today, and the day: an earlier day's fill is in it too); the bus may still deliver them.
        self.in_balance: set[int] = set()
        self.in_balance_day: dt.date | None = None
        self._pnl_published_at: dict[str, float] = {}
        self._strategies = {b.id: b.config.strategy.type for b in config.enabled_bots}
        self.bus = bus
        settings = config.global_config.aggregator
        self.settings = settings
        self.risk_settings = config.global_config.risk
        self._exchange_clock = ExchangeClock()
        self.clock: Callable[[], dt.datetime] = clock or self._exchange_clock.now
        # Time-driven actions (the day roll, flattenAt) wait until the exchange's time is known.
        self.clock_known: Callable[[], bool] = (
            (lambda: True) if clock is not None else (lambda: self._exchange_clock.known)
        )
        self.monotonic = monotonic
        self.instruments = config.instruments
        # Each symbol's correlation groups, with their configured instruments' mini-equivalents.
        self._correlated: dict[str, list[tuple[CorrelationGroup, list[tuple[str, float]]]]] = {}
        for group in self.settings.correlation_groups:
            members = [
                (s, self.instruments.get(s).mini_equivalent) for s in group.symbols if s in self.instruments
            ]
            for symbol in group.symbols:
                self._correlated.setdefault(symbol, []).append((group, members))
        bots = {b.id: bot_limits_from_config(b.config, b.params) for b in config.enabled_bots}
        self.engine = RiskEngine(limits_from_config(self.risk_settings, config.instruments, bots))
        self.registry = BotRegistry(
            ((b.id, b.instrument.symbol, config_hash(b.config)) for b in config.enabled_bots),
            settings.heartbeat_timeout_seconds,
            settings.require_registration,
        )
        self.queue = OrderQueue(settings.max_queue_size, settings.max_queue_seconds, monotonic)
        self.limiter = RateLimiter(settings.commands_per_second, settings.command_burst, monotonic)
        self.account = AccountState()
        self.breaker = CircuitBreaker(settings.circuit_breaker_count, settings.circuit_breaker_window_seconds)
        self.positions = Positions()
        self.working = WorkingOrders()
        self.account_id = account_id if account_id is not None else config.global_config.topstepx.account_id
        self._api_key = api_key
        # Set once the account is known: durable messages wait for it (never another account's).
        self._pinned = asyncio.Event()
        self._foreign_accounts: set[int] = set()
        self.orders: OrderedDict[str, OrderRecord] = OrderedDict()
        self.sent: dict[str, SentCommand] = {}
        self.exchange_positions: dict[str, int] = {}
        self._mismatch_since: dict[str, float] = {}
        self._fills_seen: OrderedDict[tuple[int, int], None] = OrderedDict()
        self.fills_added = 0  # fill ids seen by this run (the persistence saves the new ones)
        # Orders created or changed by an exchange event since the last save (open ones are
        # compared at every save anyway).
        self.touched_orders: dict[str, None] = {}  # (in the order they arrived)
        # Each bot's orders that may still fill (keys into ``orders``; pruned as they close).
        self._open_by_bot: dict[str, set[str]] = {}
        # Symbols the aggregator is closing (flatten): their unattributed fills close bot positions.
        self.closing: set[str] = set()
        self.tags: set[str] = set()
        self.contracts: dict[str, str] = {}
        self.current_trading_day: dt.date | None = None
        self.flattened_for_loss = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # Handled batches acknowledged once their save is written (oldest first).
        self._acking: deque[asyncio.Task[None]] = deque()
        self._subscriptions: list[Subscription] = []
        self._stopping = False
        self.counters: dict[str, int] = {
            "submissions": 0,
            "accepted": 0,
            "rejected": 0,
            "sent": 0,
            "expired": 0,
            "fills": 0,
            "orderUpdates": 0,
            "commandFailures": 0,
            "badMessages": 0,
            "malformedSubmissions": 0,  # undecodable on aggregator:orders (dead-lettered by the bus)
            "otherAccounts": 0,  # events of an account that is not this aggregator's (ignored)
        }
        # Trading-state changes waiting to go out on account:trading-state (in order).
        self._state_changes: list[TradingStateChange] = []
        self._state_wake = asyncio.Event()
        self.store = StateStore(bus.journal("aggregator"))
        # One message, API call or quote at a time changes the state.
        self._lock = asyncio.Lock()
        endpoint = config.global_config.services.aggregator
        self.api = (
            AggregatorApi(self, api_key, endpoint.host, endpoint.api_port if api_port is None else api_port)
            if api_key is not None
            else None
        )
        monitoring = config.global_config.features.enable_monitoring
        self.monitoring = (
            MonitoringServer(
                self, endpoint.host, endpoint.monitoring_port if monitoring_port is None else monitoring_port
            )
            if monitoring and (api_key is not None or monitoring_port is not None)
            else None
        )
        self._dirty = False
        self._pending_acks: list[Message] = []  # submissions the dispatcher handled, acked at the next save
        self._saved_at = 0.0
        self._reconnects_seen = 0
        self._session_flattened: dt.date | None = None
        self.restored: dict[str, Any] | None = None
        # Submission handling time (decode excluded), seconds; for metrics.
        self.check_seconds: list[float] = []
        # Submission -> the connection manager's first answer (placement ack or order update).
        self.round_trips = RoundTrips()
        # The latest Metrics of every other service (system:metrics) and when it came (monotonic).
        self.service_metrics: dict[str, tuple[dict[str, float], float]] = {}
        if journal is not None:  # its rows wait while an order is on its way (journal.quietMs)
            journal.writer.hold_while(self.orders_on_the_way)
        self.order_gate = OrderGate(self.orders_on_the_way, ORDER_GATE_HOLD_S)

    # --- lifecycle --------------------------------------------------------------------------------

    def orders_on_the_way(self) -> bool:
        """Whether a command waits to be sent or was sent and not answered yet."""
        return bool(self.sent) or len(self.queue) > 0

    def fill_ids(self) -> list[tuple[int, int]]:
        return list(self._fills_seen)

    @property
    def fills_kept(self) -> int:
        return len(self._fills_seen)

    def newest_fill_ids(self, count: int) -> list[tuple[int, int]]:
        """The ``count`` fill ids seen last, oldest first."""
        return list(itertools.islice(reversed(self._fills_seen), count))[::-1]

    def restore_fill_ids(self, ids: list[tuple[int, int]]) -> None:
        for account_id, fill_id in ids:
            self._fills_seen[(account_id, fill_id)] = None

    async def start(self) -> None:
        if self.journal is not None:
            await self.journal.start()
        snapshot = await self.store.load()
        if snapshot is not None:
            self.restored = restore(self, snapshot, self.now_ns())
            log.warning("aggregator state restored", **self.restored)
        # The day rolls by the exchange's clock, never by the state's age: a state saved on an
        # earlier trading day loses its daily causes now (a kill-switch halt stays).
        self.roll_day_if_due()
        if snapshot is None and (self.journal is None or not self._restore_from_journal()):
            self._fresh_day = True
        self._state_changed("START", None)  # where it starts (a restored HALTED included)
        self._reconnects_seen = self.bus.metrics().reconnects
        durable = [
            channels.AGGREGATOR_ORDERS,
            channels.AGGREGATOR_CONTROL,
            channels.CM_ORDER_UPDATES,
            channels.CM_FILLS,
            channels.CM_POSITIONS,
            channels.CM_ACCOUNT_UPDATES,
        ]
        main = await self.bus.subscribe(durable, group=GROUP, on_malformed=self.on_malformed)
        market = await self.bus.subscribe(
            [
                channels.AGGREGATOR_HEARTBEATS,
                channels.SYSTEM_METRICS,
                *(channels.market_data(s) for s in self.instruments.symbols),
            ]
        )
        self._subscriptions = [main, market]
        self._tasks = [
            self._background(self._pin_account(), "aggregator-account"),
            self._background(self._consume(main), "aggregator-consume"),
            self._background(self._consume_market(market), "aggregator-market"),
            self._background(self._dispatch_loop(), "aggregator-dispatch"),
            self._background(self._housekeeping(), "aggregator-housekeeping"),
            self._background(self._publish_state_changes(), "aggregator-trading-state"),
        ]
        if self.api is not None:
            await self.api.start()
        if self.monitoring is not None:
            await self.monitoring.start()
        log.info("aggregator started", bots=self.registry.ids(), account=self.account_id)

    async def _pin_account(self) -> None:
        """The account, then (on a fresh start) the day's start from the exchange: durable
        messages, submissions included, are handled only after both."""
        if self.account_id is None:
            if self._api_key is None:
                log.error("no topstepx.accountId and no API key to ask the connection manager: not trading")
                return
            self.account_id = await account_from_connection_manager(self.config, self._api_key, SOURCE)
            log.info("trading account from the connection manager", account=self.account_id)
        if self._fresh_day:
            await self._day_start_from_exchange(self.account_id)
        self._pinned.set()

    async def _day_start_from_exchange(self, account_id: int) -> None:
        """Nothing restored: the day's start is today's first balance less what today's fills
        realized net of fees at the exchange (``risk.startingBalance`` is the account's start,
        not the day's). Without them: the first balance, with a warning."""
        if self._api_key is None:
            self._day_start_at_first_balance("no API key to ask the connection manager")
            return
        try:
            figures = await day_figures_from_exchange(
                self.config, self._api_key, account_id, lambda: self.clock() if self.clock_known() else None
            )
        except DayStartUnavailable as exc:
            self._day_start_at_first_balance(str(exc))
            return
        async with self._lock:
            if self.current_trading_day not in (None, figures.trading_day):
                self._day_start_at_first_balance(
                    f"the exchange's day {figures.trading_day} is not ours {self.current_trading_day}"
                )
                return
            self.current_trading_day = figures.trading_day
            self.set_day_start(figures.start, figures.balance, figures.realized, figures.fees)
            self.in_balance = set(figures.fill_ids)
            self.in_balance_day = figures.trading_day
            self.day_start_source = "exchange"
            self._dirty = True
        log.warning(
            "the day's start from the exchange",
            day=figures.trading_day.isoformat(),
            start=figures.start,
            balance=figures.balance,
            realized=figures.realized,
            fees=figures.fees,
            fills=len(figures.fill_ids),
        )

    def _day_start_at_first_balance(self, why: str) -> None:
        self._first_balance_pending = True
        self.day_start_source = "firstBalance"
        self.day_start_warning = (
            f"today's trades could not be had from the exchange ({why}): the day's P&L counts from "
            "the first balance this run sees, not from the day's start"
        )
        log.warning("the day's start is the first balance", why=why)

    def set_day_start(self, start: float, balance: float, realized: float, fees: float) -> None:
        """The day's starting equity, the balance now, and the day's realized P&L and fees so far."""
        self.engine.on_balance(start)
        self.engine.new_trading_day()
        self.engine.on_balance(balance)
        self.carried_realized, self.carried_fees = realized, fees

    @property
    def realized_today(self) -> float:
        return self.carried_realized + self.engine.realized_today

    @property
    def fees_today(self) -> float:
        return self.carried_fees + self.engine.fees_today

    def _already_in_balance(self, fill: Fill) -> bool:
        """A fill the balance the day's start was read with already holds (delivered by the bus
        after that read): today's by its id, any of an earlier day."""
        if self.in_balance_day is None:
            return False
        if fill.fill_id in self.in_balance:
            self.in_balance.discard(fill.fill_id)
            return True
        return trading_day(fill.timestamp) < self.in_balance_day

    async def stop(self) -> None:
        """Stops taking messages. Submissions not yet sent stay unacknowledged on the bus and come
        back to the next run (nothing is sent after this)."""
        self._stopping = True
        if self.api is not None:
            await self.api.stop()
        if self.monitoring is not None:
            await self.monitoring.stop()
        await self._finish_acks()  # (before a save they may wait for is cancelled)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._finish_acks()
        for subscription in self._subscriptions:
            # Bounded: a Redis reader that missed its cancellation must not hold the shutdown (the
            # bus closes it again when it closes).
            try:
                await asyncio.wait_for(subscription.close(), SUBSCRIPTION_CLOSE_SECONDS)
            except TimeoutError:
                log.error("a bus subscription did not close in time", subscription=subscription.name)
        if self.journal is not None:
            await self.journal.stop()
        log.info("aggregator stopped", queued=len(self.queue))

    async def _finish_acks(self) -> None:
        """The saves of handled batches written, then their messages acknowledged (bounded)."""
        while self._acking:  # (the consumer may add one while these are waited for)
            self.order_gate.release()
            if self.journal is not None:
                self.journal.writer.hurry()  # their rows now, not after the journal's quiet
            waiting = list(self._acking)
            self._acking.clear()
            _, late = await asyncio.wait(waiting, timeout=SUBSCRIPTION_CLOSE_SECONDS)
            for task in late:
                task.cancel()

    def _restore_from_journal(self) -> bool:
        """No snapshot: the bots' open positions come back from the journal now, and the day's
        realized P&L net of fees now or when the first balance arrives (:meth:`on_account`), so a
        restart cannot reset the daily loss limit. False when the journal knows nothing of today."""
        assert self.journal is not None
        restored = 0
        for (_, bot, symbol), matcher in self.journal.ledger.matchers.items():
            quantity = matcher.position
            if quantity == 0 or symbol not in self.instruments:
                continue
            average = sum(lot.price * lot.quantity for lot in matcher.lots) / abs(quantity)
            side = Side.BUY if quantity > 0 else Side.SELL
            self.engine.on_fill(bot, symbol, side.value, abs(quantity), average, 0.0)
            self.positions.apply(
                bot, symbol, side, abs(quantity), average, 0.0, self.instruments.get(symbol).point_value
            )
            restored += 1
        self.restore_fill_ids(self.journal.exchange_fill_ids)  # a replayed fill is not applied twice
        # The exchange's time not known yet: the journal's last day (the roll follows once it is).
        day = self.current_trading_day = self.current_trading_day or self.journal.last_trading_day(
            self.account_id
        )
        # The trailing drawdown's peak and the day's start and balance journaled that day, at once.
        account_back = self.journal.restore_account(self.engine, self.account_id, day)
        today = self.journal.ledger.day_pnl(None, day) if day is not None else None
        # Else the day's P&L from the journal's fills at the first balance (a day with activity; a
        # fresh start has nothing to bring back).
        self._journal_day_pending = (
            not account_back and today is not None and (today.trades > 0 or today.fees > 0)
        )
        if account_back and today is not None:
            self.carried_realized, self.carried_fees = today.realized, today.fees
        log.warning("no state snapshot: positions restored from the journal", positions=restored)
        if account_back or self._journal_day_pending:
            self.day_start_source = "journal"
            return True
        return False

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        def ended(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("background work died; the aggregator fails", task=name, error=repr(error))
                self.fail(error)

        task = asyncio.create_task(work, name=name)
        task.add_done_callback(ended)
        return task

    def now_ns(self) -> int:
        return to_ns(self.clock())

    # --- consuming --------------------------------------------------------------------------------

    async def _consume(self, subscription: Subscription) -> None:
        """Handles what has arrived, saves the state, then acknowledges: a crash in between
        leaves the messages pending, delivered again to the next run. A batch's save is taken
        when the batch is handled and written while the next batch is handled (the writes go out
        in the order they were taken); its messages are acknowledged once it is written."""
        await self._pinned.wait()
        while not self._stopping:
            batch = await subscription.next_batch(500)
            if not batch:
                return
            to_ack = []
            async with self._lock:
                events = self.account.recorded
                for message in batch:
                    try:
                        deferred = await self._handle(message)
                    except Exception:
                        # A bug must not stop the flow of fills and orders; the message is logged.
                        self.counters["badMessages"] += 1
                        log.exception("a message could not be handled", message=repr(message))
                        deferred = False
                    if not deferred:
                        to_ack.append(message)
                self.order_gate.check()  # (an answer in the batch may have cleared the way)
                refused = self.journal is not None and self.journal.refused_since_checked()
                if refused:
                    log.error("journal queue full: the batch stays unacknowledged", messages=len(to_ack))
                    to_ack = []
                elif not to_ack:
                    # Only submissions, each acknowledged by the dispatcher after the save that
                    # follows its send (a submission only queued is not restored: it comes back).
                    continue
                write = self.store.prepare(self)
                rows = self._journal_rows()
                self._dirty = False
                # Exchange events only, nothing decided (no risk event): the save may give way
                # to an order on its way. Else it records what somebody was told: written now.
                holdable = events == self.account.recorded and all(
                    isinstance(m.envelope.payload, EXCHANGE_EVENTS) for m in batch
                )
            await self._ack_when_written(write, to_ack, rows, holdable=holdable)

    def _journal_rows(self) -> int:
        """The journal records handed out so far: a batch's rows are the ones before this mark."""
        return 0 if self.journal is None else self.journal.recorded()

    async def _ack_when_written(
        self, write: Write, messages: list[Message], rows: int, *, holdable: bool = False
    ) -> None:
        """Acknowledges ``messages`` once their journal rows (the first ``rows`` records) and then
        ``write`` (their batch's save) are written, in the background: the next batch is handled
        meanwhile. ``holdable``: the rows and the write give way to an order on its way
        (``order_gate``); else they are written at once. At most ``SAVES_IN_FLIGHT`` batches wait
        so; a write that fails fails the aggregator, its messages unacknowledged."""
        ticket = self.order_gate.ticket()

        async def ack() -> None:
            # The journal's rows of the batch first: a state that has a fill whose row is not
            # written would, after a crash, drop the redelivered fill as known, its row never
            # written. Waited for here, not while the next batch waits to be handled. (When the
            # database does not answer in time the state is written all the same, as before, and
            # the messages wait for a later save.)
            journaled = self.journal is None or await self.journal.written(rows, hurry=not holdable)
            if holdable:
                await self.order_gate.clear(ticket)  # the writes give way to an order on its way
            try:
                await self.store.write(write)
            except SaveFailed:
                if self._stopping:  # a save before it was cancelled by the stop: not acknowledged
                    return
                raise
            if not journaled:
                log.error(
                    "journal not written in time: acknowledged after a later save", messages=len(messages)
                )
                self._pending_acks[:0] = messages
                self._wake.set()
                return
            await ack_all(messages)

        self._acking.append(self._background(ack(), "aggregator-ack"))
        while self._acking and self._acking[0].done():
            self._acking.popleft()
        if len(self._acking) > SAVES_IN_FLIGHT:
            self.order_gate.release()
            if self.journal is not None:
                self.journal.writer.hurry()
            await asyncio.wait([self._acking.popleft()])

    async def save(self) -> None:
        self.order_gate.release()  # (a held write before it would hold it: it is written in turn)
        acks, self._pending_acks = self._pending_acks, []
        try:
            journaled = self.journal is None or await self.journal.written(self._journal_rows())
            await self.store.save(self)
        except BaseException:
            self._pending_acks[:0] = acks
            raise
        self._dirty = False
        if not journaled:  # acknowledged after a later save, once written (the dispatcher's)
            self._pending_acks[:0] = acks
            self._wake.set()
            return
        await ack_all(acks)

    async def _consume_market(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, Quote):
                async with self._lock:
                    await self.on_quote(payload)
            elif isinstance(payload, BotHeartbeat):
                self.registry.heartbeat(payload.bot_id, self.monotonic())
            elif isinstance(payload, Metrics):
                self.service_metrics[payload.component] = (payload.values, self.monotonic())

    async def _handle(self, message: Message) -> bool:
        """Handles one durable message; True when the handler took over its acknowledgement."""
        envelope = message.envelope
        payload = envelope.payload
        if isinstance(payload, OrderSubmission):
            return await self.on_submission(payload, envelope.source, message, envelope.timestamp)
        if isinstance(payload, Fill):
            await self.on_fill(payload)
        elif isinstance(payload, OrderUpdate):
            await self.on_order_update(payload)
        elif isinstance(payload, CommandResult):
            await self.on_command_result(payload)
        elif isinstance(payload, PositionUpdate):
            self.on_exchange_position(payload)
        elif isinstance(payload, AccountUpdate):
            await self.on_account(payload)
        elif isinstance(payload, AggregatorControl):
            await self.control(payload.action, payload.requested_by, payload.reason, payload.bot_id)
        elif isinstance(payload, BotRegistration):
            if self.on_registration(payload):
                await self.send_bot_snapshot(payload.bot_id)
        elif isinstance(payload, UpdateStopLossTakeProfit):
            self.on_bot_sltp(payload, envelope.source)
        else:
            self.counters["badMessages"] += 1
            log.warning("unexpected message type; dropped", type=envelope.type.value, source=envelope.source)
        return False

    async def on_malformed(self, channel: channels.Channel, data: bytes, error: MessageDecodeError) -> None:
        """A durable message the bus could not decode: a submission whose bot and order id can
        still be read is refused to that bot, naming the wrong field. The bus dead-letters and
        acknowledges the message only once this returns, so the refusal is published and
        confirmed (``bus.flush``) first: a crash in between delivers the message again, and the
        refusal's message id, made from the bytes, makes the second one a duplicate that the
        bot's subscription drops. When publishing fails this raises and the message stays
        pending."""
        if channel.name != channels.AGGREGATOR_ORDERS.name:
            self.counters["badMessages"] += 1
            return
        self.counters["malformedSubmissions"] += 1
        bad = read_malformed(data, error)
        if bad is None or bad.bot_id not in self.registry:
            log.error(
                "malformed submission dead-lettered: no configured bot and order id in it to refuse to",
                error=str(error),
                bot=bad.bot_id if bad else None,
            )
            return
        async with self._lock:
            if order_key(bad.bot_id, bad.order_id) in self.orders:
                # A malformed copy of an order already handled: refusing it would tell the bot
                # that order is not working.
                log.error(
                    "malformed copy of a known order dead-lettered", bot=bad.bot_id, order_id=bad.order_id
                )
                return
            self.counters["rejected"] += 1
            log.info("malformed submission refused", bot=bad.bot_id, order_id=bad.order_id, field=bad.field)
            await self._publish_rejection(
                self._rejection(
                    bad.bot_id,
                    bad.order_id,
                    RiskReason.MALFORMED_SUBMISSION,
                    f"malformed submission, field {bad.field!r}: {bad.detail}",
                ),
                message_id=f"malformed-{hashlib.blake2b(data, digest_size=12).hexdigest()}",
            )
            if self.journal is not None and not await self.journal.flush():
                raise RefusalNotJournaledError("the refusal of a malformed submission was not journaled")
        await self.bus.flush()

    # --- submissions ------------------------------------------------------------------------------

    def is_exit(self, bot_id: str, submission: OrderSubmission) -> bool:
        """Moves the bot's own position toward zero without crossing it, its open orders on the
        same side counted as filled (the risk engine's rule): an order that could cross zero
        opens a position, so it gets a bracket."""
        held = self.positions.quantity(bot_id, submission.symbol)
        if held == 0 or held * submission.side.sign >= 0:
            return False
        pending = self.open_quantity(bot_id, submission.symbol, submission.side.value)
        return submission.quantity + pending <= abs(held)

    def track_open(self, bot_id: str, key: str) -> None:
        self._open_by_bot.setdefault(bot_id, set()).add(key)

    def open_quantity(self, bot_id: str, symbol: str, side: str) -> int:
        """What the bot's open orders (queued, sent, working) in ``symbol`` on ``side`` may still fill."""
        keys = self._open_by_bot.get(bot_id)
        if not keys:
            return 0
        total = 0
        for key in list(keys):
            record = self.orders.get(key)
            if record is None or not record.open:
                keys.discard(key)
            elif record.symbol == symbol and record.side == side:
                total += max(0, record.quantity - record.filled)
        return total

    def reference_price(self, submission: OrderSubmission) -> float | None:
        if submission.limit_price is not None:
            return submission.limit_price
        if submission.stop_price is not None:
            return submission.stop_price
        mark = self.engine.mark_price(submission.symbol)
        return mark if mark > 0 else None

    async def on_submission(
        self,
        submission: OrderSubmission,
        bot_id: str,
        message: Message | None,
        sent_at: dt.datetime | None = None,
    ) -> bool:
        """Checks and queues one submission; True when its acknowledgement is left to the dispatcher.
        Its time in the queue counts from ``sent_at`` (the bot's envelope), so one that comes back
        after a restart is not sent late."""
        started = time.perf_counter()
        self.counters["submissions"] += 1
        key = order_key(bot_id, submission.order_id)
        if key in self.orders:  # the same submission again (a retry, a redelivery): handled once
            log.info("duplicate submission ignored", bot=bot_id, order_id=submission.order_id)
            return False
        age = 0.0 if sent_at is None else max(0.0, (utc_now() - sent_at).total_seconds())
        record = OrderRecord(
            bot_id,
            submission.order_id,
            submission.symbol,
            submission.side.value,
            submission.quantity,
            "QUEUED",
        )
        self._remember(key, record)
        if self.journal is not None:
            self.journal.submission(
                submission,
                bot_id,
                self.now_ns(),
                signal_price=self.reference_price(submission),
                signal_ns=to_ns(sent_at) if sent_at is not None else None,
            )
        if age > self.queue.max_age:
            self.counters["expired"] += 1
            await self._refuse(
                record,
                self._rejection(
                    bot_id,
                    submission.order_id,
                    RiskReason.QUEUE_EXPIRED,
                    f"arrived {age:.3f} s after it was sent "
                    f"(maxQueueSeconds {self.queue.max_age:g}): not sent",
                    limit=self.queue.max_age,
                    value=age,
                ),
            )
            return False
        item = self._check(submission, bot_id, key)
        if isinstance(item, RiskRejection):
            await self._refuse(record, item)
            return False
        item.message = message
        try:
            self.queue.push(item, enqueued_at=self.monotonic() - age)
        except QueueFull as exc:
            self.engine.on_order_closed(key)
            await self._refuse(
                record,
                self._rejection(
                    bot_id,
                    submission.order_id,
                    RiskReason.QUEUE_FULL,
                    str(exc),
                    limit=self.queue.max_size,
                    value=exc.size,
                ),
            )
            return False
        assert isinstance(item.command, PlaceOrder)
        record.command_id = item.command.command_id
        record.custom_tag = item.command.custom_tag
        if item.request is not None:
            record.price, record.stop_loss, record.take_profit = (
                item.request.price,
                item.request.stop_loss,
                item.request.take_profit,
            )
            record.reduce_only = item.request.reduce_only
        self.tags.add(item.command.custom_tag)
        self._open_by_bot.setdefault(bot_id, set()).add(key)
        self.counters["accepted"] += 1
        self.check_seconds.append(time.perf_counter() - started)
        if len(self.check_seconds) > 10_000:
            del self.check_seconds[:5_000]
        self.round_trips.received(key, started)
        self._wake.set()
        return message is not None

    def _check(self, submission: OrderSubmission, bot_id: str, key: str) -> QueuedCommand | RiskRejection:
        """The pre-trade checks; a queued command when they pass."""
        oid = submission.order_id
        entry = self.registry.may_trade(bot_id)
        if entry is None:
            known = "has not registered" if bot_id in self.registry else "is not configured here"
            return self._rejection(bot_id, oid, RiskReason.UNKNOWN_BOT, f"bot {bot_id!r} {known}")
        exit_order = self.is_exit(bot_id, submission)
        if entry.paused and not exit_order:
            return self._rejection(
                bot_id, oid, RiskReason.BOT_PAUSED, f"bot {bot_id} is paused: {entry.pause_reason or ''}"
            )
        if submission.symbol not in self.instruments:
            return self._rejection(
                bot_id, oid, RiskReason.UNKNOWN_SYMBOL, f"unknown symbol {submission.symbol!r}"
            )
        instrument = self.instruments.get(submission.symbol)
        reference = self.reference_price(submission)
        try:
            prices = safe_prices(submission, instrument, reference)
        except BracketError as exc:
            return self._rejection(bot_id, oid, RiskReason.INVALID_PRICE, str(exc))
        if prices.stop_loss is None and submission.stop_loss_ticks is not None and reference is None:
            return self._rejection(
                bot_id, oid, RiskReason.NO_REFERENCE_PRICE, "no market price yet to measure the stop from"
            )
        price = submission.limit_price if submission.limit_price is not None else submission.stop_price
        request = OrderRequest(
            bot_id,
            submission.symbol,
            submission.side.value,
            submission.quantity,
            price,
            prices.stop_loss,
            prices.take_profit,
            submission.reduce_only,
            key,
        )
        verdict = self.engine.check(request, self.now_ns())
        if not verdict.accepted:
            assert verdict.reason is not None
            return self._rejection(
                bot_id, oid, message_reason(verdict.reason), verdict.message, verdict.limit, verdict.value
            )
        stop_ticks: int | None = None
        target_ticks: int | None = None
        if not exit_order:
            if (refused := self._correlation(submission, bot_id)) is not None:
                self.engine.on_order_closed(key)
                return refused
            if prices.stop_loss is not None:
                entry_price = reference
                if entry_price is None:
                    self.engine.on_order_closed(key)
                    return self._rejection(
                        bot_id, oid, RiskReason.NO_REFERENCE_PRICE, "no market price yet for the bracket"
                    )
                try:
                    stop_ticks, target_ticks = bracket_ticks(submission.side, entry_price, prices, instrument)
                except BracketError as exc:
                    self.engine.on_order_closed(key)
                    reason = (
                        RiskReason.TAKE_PROFIT_WRONG_SIDE
                        if exc.what == "take-profit"
                        else RiskReason.STOP_LOSS_WRONG_SIDE
                    )
                    return self._rejection(bot_id, oid, reason, str(exc))
        tag = custom_tag(bot_id, oid)
        command = PlaceOrder(
            command_id=f"agg-{tag}",
            order_id=oid,
            bot_id=bot_id,
            custom_tag=tag,
            symbol=submission.symbol,
            side=submission.side,
            quantity=submission.quantity,
            order_type=submission.order_type,
            account_id=self.account_id,
            limit_price=submission.limit_price,
            stop_price=submission.stop_price,
            trail_price=submission.trail_ticks * instrument.tick_size if submission.trail_ticks else None,
            stop_loss_ticks=stop_ticks,
            take_profit_ticks=target_ticks,
        )
        return QueuedCommand(
            Priority.EXIT if exit_order else Priority.ENTRY,
            command,
            bot_id=bot_id,
            order_key=key,
            bot_priority=submission.priority,
            request=request,
        )

    def _correlation(self, submission: OrderSubmission, bot_id: str) -> RiskRejection | None:
        """Instruments that move together share a limit in mini-equivalents: the worst case of
        the group in the order's direction (positions plus working orders, this one included)."""
        buying = submission.side.sign > 0
        for group, members in self._correlated.get(submission.symbol, ()):
            exposure = 0.0
            for s, mini in members:
                position, _ = self.engine.position(s)
                pending_buy, pending_sell = self.engine.pending(s)
                exposure += mini * (position + pending_buy if buying else -position + pending_sell)
            if exposure > group.max_contracts + 1e-9:
                return self._rejection(
                    bot_id,
                    submission.order_id,
                    RiskReason.CORRELATION_LIMIT,
                    f"{group.name}: {exposure:g} mini-equivalents {'long' if buying else 'short'} with this "
                    f"order, limit {group.max_contracts:g}",
                    limit=group.max_contracts,
                    value=exposure,
                )
        return None

    def _rejection(
        self,
        bot_id: str,
        order_id: str,
        reason: RiskReason,
        message: str,
        limit: float | None = None,
        value: float | None = None,
        stage: RejectionStage = RejectionStage.AGGREGATOR,
    ) -> RiskRejection:
        return RiskRejection(
            order_id=order_id,
            stage=stage,
            reason=reason,
            message=message,
            bot_id=bot_id,
            limit=limit,
            value=value,
        )

    async def _refuse(self, record: OrderRecord, rejection: RiskRejection) -> None:
        self.touched_orders[order_key(record.bot_id, record.order_id)] = None
        record.status = "REFUSED" if rejection.reason is not RiskReason.QUEUE_EXPIRED else "EXPIRED"
        record.reason = rejection.reason.value
        self.counters["rejected"] += 1
        log.info(
            "order refused",
            bot=record.bot_id,
            order_id=record.order_id,
            reason=rejection.reason.value,
            detail=rejection.message,
        )
        await self._publish_rejection(rejection)

    async def _publish_rejection(self, rejection: RiskRejection, message_id: str | None = None) -> None:
        if self.journal is not None:
            self.journal.rejection(rejection, self.now_ns())
        if rejection.bot_id and rejection.bot_id in self.registry:
            await self._publish(channels.bot_orders(rejection.bot_id), rejection, message_id)
        await self._publish(channels.AGGREGATOR_RISK, rejection, message_id)
        if rejection.stage is RejectionStage.EXCHANGE or rejection.reason is RiskReason.RATE_LIMITED:
            await self._trip_check("rejection")

    def _remember(self, key: str, record: OrderRecord) -> None:
        self.orders[key] = record
        self.touched_orders[key] = None
        while len(self.orders) > KEPT_ORDERS:
            self.orders.popitem(last=False)

    async def _publish(
        self, channel: channels.Channel, payload: Payload, message_id: str | None = None
    ) -> None:
        await self.bus.publish(channel, Envelope.wrap(payload, SOURCE, message_id=message_id))

    # --- the queue --------------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while not self._stopping:
            self.order_gate.check()
            for expired in self.queue.take_expired():
                await self._expire(expired)
            if len(self.queue) == 0:  # (nothing queued: nothing to expire either)
                if self._pending_acks:
                    # The submissions just sent are acknowledged once saved: now, after letting
                    # the connection manager take the commands (a publisher waiting for room on
                    # the bus must not wait for the next housekeeping round). The save is taken
                    # under the lock and written without it (messages are handled meanwhile).
                    await asyncio.sleep(0)
                    async with self._lock:
                        acks, self._pending_acks = self._pending_acks, []
                        write = self.store.prepare(self)
                        rows = self._journal_rows()
                        self._dirty = False
                    await self._ack_when_written(write, acks, rows)
                    continue
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self.limiter.wait_time()
            if wait > 0:
                expiry = self.queue.next_expiry_in()
                await asyncio.sleep(min(wait, expiry) if expiry is not None else wait)
                continue
            item = self.queue.pop()
            if item is None:
                continue
            if (
                item.priority is Priority.ENTRY
                and self.engine.trading_state != TradingState.ACTIVE
                and item.order_key is not None
            ):
                halted = self.engine.trading_state == TradingState.HALTED
                await self._drop_queued(
                    item,
                    RiskReason.TRADING_HALTED if halted else RiskReason.TRADING_REDUCING,
                    f"the account went {state_name(self.engine.trading_state)} while it was queued",
                )
                continue
            self.limiter.take()
            await self._send(item)

    async def _send(self, item: QueuedCommand) -> None:
        command = item.command
        self.sent[item.command_id] = SentCommand(
            command, item.bot_id, item.order_key, best_effort=item.priority is Priority.PROTECTIVE
        )
        await self._publish(channels.CM_COMMANDS, command, message_id=item.command_id)
        self.counters["sent"] += 1
        if item.order_key is not None and (record := self.orders.get(item.order_key)) is not None:
            record.status = "SENT"
        self._ack_after_save(item.message)
        await asyncio.sleep(0)  # the command goes out (the bus's writer) before the log line is written
        log.info(
            "command sent", command=command.MESSAGE_TYPE.value, command_id=item.command_id, bot=item.bot_id
        )

    async def _expire(self, item: QueuedCommand) -> None:
        self.counters["expired"] += 1
        age = self.queue.age(item)
        await self._drop_queued(
            item,
            RiskReason.QUEUE_EXPIRED,
            f"still queued after {age:.3f} s (maxQueueSeconds {self.queue.max_age:g}): not sent",
            limit=self.queue.max_age,
            value=age,
        )

    async def _drop_queued(
        self,
        item: QueuedCommand,
        reason: RiskReason,
        message: str,
        limit: float | None = None,
        value: float | None = None,
    ) -> None:
        if item.order_key is not None:
            self.engine.on_order_closed(item.order_key)
            record = self.orders.get(item.order_key)
            if record is not None and item.bot_id is not None:
                await self._refuse(
                    record, self._rejection(item.bot_id, record.order_id, reason, message, limit, value)
                )
        self._ack_after_save(item.message)

    def _ack_after_save(self, message: Message | None) -> None:
        """A submission sent or refused by the dispatcher: acknowledged once the state that
        records it is saved (a crash before that delivers it again; its command id makes a
        second send harmless)."""
        self._dirty = True
        if message is not None:
            self._pending_acks.append(message)

    def enqueue_protective(self, command: Payload, bot_id: str | None = None) -> None:
        self.queue.push(QueuedCommand(Priority.PROTECTIVE, command, bot_id=bot_id))
        self._wake.set()

    # --- exchange truth ---------------------------------------------------------------------------

    def _ours(self, account_id: int) -> bool:
        """This aggregator's account; another's events are ignored, counted and reported once."""
        if account_id == self.account_id:
            return True
        self.counters["otherAccounts"] += 1
        if account_id not in self._foreign_accounts:
            self._foreign_accounts.add(account_id)
            log.warning("events of another account ignored", account=account_id, ours=self.account_id)
        return False

    async def on_order_update(self, update: OrderUpdate) -> None:
        if not self._ours(update.account_id):
            return
        self.counters["orderUpdates"] += 1
        if self.journal is not None:
            self.journal.order_update(update, self.now_ns())
        if update.symbol:
            self.contracts[update.symbol] = update.contract_id
        self.working.apply(update)
        bot = update.bot_id
        if update.order_id and bot:
            key = order_key(bot, update.order_id)
            record = self.orders.get(key)
            if record is not None:
                self.round_trips.answered(key)
                self.touched_orders[key] = None
                record.exchange_order_id = update.exchange_order_id
                record.filled = update.filled_quantity
                record.status = "WORKING" if not update.status.is_final else update.status.value
            if update.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
                self.engine.on_order_closed(key)
            if update.status is OrderStatus.REJECTED:
                await self._trip_check("exchange rejection")
        if bot and bot in self.registry:
            await self._publish(channels.bot_orders(bot), update)

    async def on_command_result(self, result: CommandResult) -> None:
        sent = self.sent.pop(result.command_id, None)
        if sent is None:
            return  # another sender's command
        if sent.order_key is not None:
            if result.ok:
                self.round_trips.answered(sent.order_key)
            else:
                self.round_trips.forget(sent.order_key)
        if result.ok:
            return
        command = sent.command
        closing = isinstance(command, ClosePosition) and command.symbol in self.closing
        if closing and isinstance(command, ClosePosition) and self.positions.net(command.symbol) == 0:
            # Nothing left at the exchange to close: offsetting bot positions close internally.
            self.closing.discard(command.symbol)
            await self._cross_internally(command.symbol)
        self.counters["commandFailures"] += 1
        log.warning(
            "command failed",
            command=result.command.value,
            command_id=result.command_id,
            failure=result.failure.value if result.failure else None,
            detail=result.message,
        )
        unknown = result.failure in (CommandFailure.GATEWAY_ERROR, CommandFailure.OUTCOME_UNKNOWN)
        if sent.order_key is not None and sent.bot_id is not None and unknown:
            # The gateway failed or the outcome is unknown: the order may or may not be at the
            # exchange. It stays counted as working (the safe side) until an order update or the
            # reconciliation tells.
            record = self.orders.get(sent.order_key)
            if record is not None:
                record.status = "UNKNOWN"
                record.reason = result.message
            self._record(
                "ORDER_OUTCOME_UNKNOWN",
                f"{sent.bot_id} order {sent.order_key}: {result.message or 'gateway error'}",
                None,
            )
            await self._trip_check("command error")
            return
        if sent.order_key is not None and sent.bot_id is not None:
            self.engine.on_order_closed(sent.order_key)
            record = self.orders.get(sent.order_key)
            if record is not None:
                record.status = "REJECTED"
                record.reason = result.message
                await self._publish_rejection(
                    self._rejection(
                        sent.bot_id,
                        record.order_id,
                        RiskReason.EXCHANGE_REJECTED,
                        f"{(result.failure.value if result.failure else 'FAILED')}: {result.message or ''}",
                        stage=RejectionStage.EXCHANGE,
                    )
                )
                return
        if not sent.best_effort:
            await self._trip_check("command error")

    async def on_fill(self, fill: Fill) -> None:
        if not self._ours(fill.account_id):
            return
        key = (fill.account_id, fill.fill_id)
        if key in self._fills_seen or fill.voided:
            return
        self._fills_seen[key] = None
        self.fills_added += 1
        if len(self._fills_seen) > 100_000:
            self._fills_seen.popitem(last=False)
        self._exchange_clock.observe(fill.timestamp)
        symbol = fill.symbol or self._symbol_of(fill.contract_id)
        if symbol is None or symbol not in self.instruments:
            log.error("fill in an unknown instrument; not counted", contract=fill.contract_id)
            return
        self.contracts[symbol] = fill.contract_id
        self.counters["fills"] += 1
        bot = fill.bot_id if fill.bot_id is not None and fill.bot_id in self.registry else UNATTRIBUTED
        if bot == UNATTRIBUTED and symbol in self.closing:
            shares = self._close_shares(symbol, fill)
        else:
            shares = [(bot, fill.quantity)]
        applied: list[str] = []  # the bots whose share is applied (and journaled)
        try:
            for owner, quantity in shares:
                await self._apply_fill(owner, symbol, fill, quantity, applied)
            if symbol in self.closing and self.positions.net(symbol) == 0:
                self.closing.discard(symbol)
                await self._cross_internally(symbol)
            await self.evaluate()
            # What it published (the fill, the position) goes out now, to the bus's writer or a
            # bot in this process, not after the rest of the batch. A message boundary, as a
            # batch's end is: the fill is wholly applied (a limit it broke has already changed
            # the trading state the dispatcher reads).
            await asyncio.sleep(0)
        finally:
            # The day's P&L after it, off the fill's way (also when a publish above failed).
            await self._publish_pnl(applied)

    async def _cross_internally(self, symbol: str) -> None:
        """The account is flat in ``symbol`` but bots still hold positions that offset each other
        (one long, one short): after a flatten they are closed against each other at the market,
        without an order (the account's position does not change)."""
        holders = [(bot, p.quantity) for bot, s, p in self.positions.items() if s == symbol and p.quantity]
        if not holders:
            return
        price = self.engine.mark_price(symbol)
        if price <= 0:  # no quote seen: at the holders' average (no P&L made up)
            price = self.positions.get(holders[0][0], symbol).average_price
        point_value = self.instruments.get(symbol).point_value
        for bot, quantity in holders:
            side = Side.SELL if quantity > 0 else Side.BUY
            self.engine.on_fill(bot, symbol, side.value, abs(quantity), price, 0.0)
            self.positions.apply(bot, symbol, side, abs(quantity), price, 0.0, point_value)
            if self.journal is not None:
                self.journal.internal_cross(
                    bot or "", symbol, side.value, abs(quantity), price, self.now_ns(), self.account_id
                )
            if bot:
                await self._publish(channels.bot_orders(bot), self.bot_position(bot, symbol))
        self._record(
            "INTERNAL_CROSS",
            f"{symbol}: offsetting positions closed against each other at {price:g}",
            None,
            {"positions": {bot or "UNATTRIBUTED": q for bot, q in holders}},
        )

    def _close_shares(self, symbol: str, fill: Fill) -> list[tuple[str, int]]:
        """A fill of the aggregator's own close of ``symbol`` (flatten): it closes the bots'
        positions there, each toward zero (what is left over, no bot's)."""
        remaining = fill.quantity
        shares: list[tuple[str, int]] = []
        for owner, s, position in self.positions.items():
            if s != symbol or owner == UNATTRIBUTED or position.quantity * fill.side.sign >= 0:
                continue
            take = min(remaining, abs(position.quantity))
            if take:
                shares.append((owner, take))
                remaining -= take
        if remaining:
            shares.append((UNATTRIBUTED, remaining))
        return shares

    async def _apply_fill(self, bot: str, symbol: str, fill: Fill, quantity: int, applied: list[str]) -> None:
        """``quantity`` of ``fill`` is ``bot``'s: into the risk engine, the positions and the
        journal (then ``bot`` joins ``applied``), out to the bot; not applied when the risk
        engine refuses it."""
        share = fill if quantity == fill.quantity and bot == (fill.bot_id or UNATTRIBUTED) else None
        fees = fill.fees * quantity / fill.quantity
        engine_key = order_key(bot, fill.order_id) if bot and fill.order_id and share is not None else None
        counted = self._already_in_balance(fill)
        balance = self.engine.balance
        try:
            realized = self.engine.on_fill(
                bot, symbol, fill.side.value, quantity, fill.price, fees, engine_key
            )
        except RiskInputError as exc:
            log.error("fill refused by the risk engine", error=str(exc), fill_id=fill.fill_id)
            return
        if counted:  # in the balance and the day's figures already (or an earlier day's): not again
            self.engine.on_balance(balance)
            self.carried_realized -= realized
            self.carried_fees -= fees
        point_value = self.instruments.get(symbol).point_value
        before, after, _ = self.positions.apply(
            bot, symbol, fill.side, quantity, fill.price, fees, point_value
        )
        # Its journal row (and the round trip it closes) at once, with the positions: nothing
        # that may fail after this (a publish) can leave the fill counted and its row missing,
        # and an internal cross it leads to comes after it in the ledger.
        if self.journal is not None:
            self.journal.fill(
                msgspec.structs.replace(fill, symbol=symbol), bot, quantity, self._strategies.get(bot, "")
            )
        applied.append(bot)
        if bot:
            if share is None:
                share = msgspec.structs.replace(fill, quantity=quantity, fees=fees, bot_id=bot)
            await self._publish(channels.bot_orders(bot), share)
            await self._publish(channels.bot_orders(bot), self.bot_position(bot, symbol))
            if before != 0 and after == 0:
                self._cancel_protective(bot, symbol)
            elif before != 0 and abs(after) < abs(before) and after * before > 0:
                self._resize_protective(bot, symbol, abs(after))
        else:
            await self._on_unattributed(fill, symbol)

    async def _publish_pnl(self, bots: list[str]) -> None:
        """The day's P&L of each of ``bots`` (from the journal) and of the account."""
        if self.journal is None or not bots:
            return
        for bot in bots:
            if bot:
                await self._publish(channels.bot_pnl(bot), self.journal.pnl_update(bot, self.account_id))
        await self._publish(channels.AGGREGATOR_STATUS, self.journal.pnl_update(None, self.account_id))

    def _symbol_of(self, contract_id: str) -> str | None:
        for symbol, contract in self.contracts.items():
            if contract == contract_id:
                return symbol
        parts = contract_id.split(".")
        if len(parts) >= 4:
            instrument = self.instruments.by_contract_root(parts[3])
            if instrument is not None:
                return instrument.symbol
        return None

    def bot_position(self, bot_id: str, symbol: str) -> PositionUpdate:
        position = self.positions.get(bot_id, symbol)
        return PositionUpdate(
            account_id=self.account_id or 0,
            contract_id=self.contracts.get(symbol, symbol),
            net_quantity=position.quantity,
            average_price=position.average_price,
            timestamp=self.clock(),
            symbol=symbol,
            bot_id=bot_id or None,
        )

    def _resize_protective(self, bot_id: str, symbol: str, size: int) -> None:
        """The bot's position shrank (a partial exit by an opposite order): stops and targets
        larger than it would reverse it, so they are cut to its size."""
        for order in self.working.protective(bot_id, symbol):
            if order.quantity - order.filled_quantity <= size:
                continue
            after_queued_work(
                log.info,
                "bot position smaller: resizing its protective order",
                bot=bot_id,
                exchange_order_id=order.exchange_order_id,
                size=size,
            )
            self.enqueue_protective(
                ModifyOrder(
                    command_id=f"agg-resize-{order.exchange_order_id}-{size}",
                    account_id=order.account_id,
                    exchange_order_id=order.exchange_order_id,
                    quantity=size,
                ),
                bot_id,
            )

    def _cancel_protective(self, bot_id: str, symbol: str) -> None:
        """The bot is flat in ``symbol``: its stops and targets there have nothing left to protect."""
        for order in self.working.protective(bot_id, symbol):
            after_queued_work(
                log.info,
                "bot flat: cancelling its protective order",
                bot=bot_id,
                exchange_order_id=order.exchange_order_id,
            )
            self.enqueue_protective(
                CancelOrder(
                    command_id=f"agg-cancel-{order.exchange_order_id}",
                    account_id=order.account_id,
                    exchange_order_id=order.exchange_order_id,
                ),
                bot_id,
            )

    async def _on_unattributed(self, fill: Fill, symbol: str) -> None:
        policy = self.settings.unattributed_fills
        open_qty = self.positions.quantity(UNATTRIBUTED, symbol)
        self._record(
            "UNATTRIBUTED_FILL",
            f"a fill no bot owns: {fill.side.value} {fill.quantity} {symbol}",
            None,
            {"fillId": fill.fill_id, "policy": policy, "openQuantity": open_qty},
        )
        if policy == "track":
            return
        if any(p.quantity != 0 for b, _s, p in self.positions.items() if b == UNATTRIBUTED):
            self._set(Cause.UNATTRIBUTED, f"a position no bot owns ({symbol})", halt=policy == "halt")
        elif policy == "reduce":
            self._clear(Cause.UNATTRIBUTED)

    def on_exchange_position(self, update: PositionUpdate) -> None:
        if not self._ours(update.account_id) or update.bot_id is not None:
            return
        self._exchange_clock.observe(update.timestamp)
        symbol = update.symbol or self._symbol_of(update.contract_id)
        if symbol is None:
            return
        self.contracts.setdefault(symbol, update.contract_id)
        self.exchange_positions[symbol] = update.net_quantity
        self._reconcile_check()

    def _reconcile_check(self) -> None:
        now = self.monotonic()
        mismatched = []
        for symbol in set(self.exchange_positions) | self.positions.symbols():
            ours, theirs = self.positions.net(symbol), self.exchange_positions.get(symbol, 0)
            if ours != theirs:
                since = self._mismatch_since.setdefault(symbol, now)
                if now - since >= RECONCILE_GRACE_SECONDS:
                    mismatched.append(f"{symbol}: ours {ours}, exchange {theirs}")
            else:
                self._mismatch_since.pop(symbol, None)
        if mismatched:
            self._set(Cause.RECONCILIATION, "positions disagree with the exchange: " + "; ".join(mismatched))
        elif Cause.RECONCILIATION in self.account.causes:
            self._clear(Cause.RECONCILIATION)

    async def on_account(self, update: AccountUpdate) -> None:
        if not self._ours(update.account_id):
            return
        if self._journal_day_pending and self.journal is not None and self.current_trading_day is not None:
            # The day's start equity as the journal knows it: today's balance less what was
            # realized (net of fees) today.
            self._journal_day_pending = False
            day = self.journal.ledger.day_pnl(None, self.current_trading_day)
            self.set_day_start(
                update.balance - (day.realized - day.fees), update.balance, day.realized, day.fees
            )
            log.warning("daily P&L restored from the journal", realized=day.realized, fees=day.fees)
        elif self._first_balance_pending:
            self._first_balance_pending = False
            self.set_day_start(update.balance, update.balance, 0.0, 0.0)
        self.engine.on_balance(update.balance)
        await self.evaluate()

    async def on_quote(self, quote: Quote) -> None:
        price = quote.last
        if price is None and quote.bid is not None and quote.ask is not None:
            price = (quote.bid + quote.ask) / 2
        if price is None or quote.symbol not in self.instruments:
            return
        self._exchange_clock.observe(quote.timestamp)
        self.contracts.setdefault(quote.symbol, quote.contract_id)
        if self.journal is not None:
            self.journal.mark(quote.symbol, price, to_ns(quote.timestamp))
            await self._publish_open_pnl(quote.symbol)
        try:
            self.engine.on_mark(quote.symbol, price)
        except RiskInputError:
            return
        await self.evaluate()

    async def _publish_open_pnl(self, symbol: str) -> None:
        """The P&L of bots holding ``symbol`` as its price moves, at most once a second per bot."""
        assert self.journal is not None
        now = self.monotonic()
        for bot in self.journal.holders(symbol):
            if bot and now - self._pnl_published_at.get(bot, -PNL_INTERVAL_S) >= PNL_INTERVAL_S:
                self._pnl_published_at[bot] = now
                await self._publish(channels.bot_pnl(bot), self.journal.pnl_update(bot, self.account_id))

    def on_registration(self, registration: BotRegistration) -> bool:
        """Registers a bot; False when it is not configured here."""
        entry = self.registry.register(registration.bot_id, registration.config_hash, self.monotonic())
        if entry is None:
            self._record(
                "UNKNOWN_BOT_REGISTRATION", f"bot {registration.bot_id!r} is not configured here", None
            )
            return False
        log.info("bot registered", bot=registration.bot_id, config_hash=registration.config_hash)
        if entry.expected_hash is not None and registration.config_hash != entry.expected_hash:
            self._record(
                "BOT_CONFIG_MISMATCH",
                f"bot {registration.bot_id} runs config {registration.config_hash}, "
                f"the aggregator loaded {entry.expected_hash}",
                None,
                {"botId": registration.bot_id},
            )
        return True

    async def send_bot_snapshot(self, bot_id: str) -> None:
        """What a (re)starting bot holds, on ``bot:{id}:orders``: its working stops and targets
        (``ORDER_UPDATE``), then its position in each of its symbols (``POSITION_UPDATE``), so a
        restarted bot carries on with its trade instead of taking it again."""
        symbols = {s for b, s, _p in self.positions.items() if b == bot_id}
        entry = self.registry.get(bot_id)
        if entry is not None and entry.symbol:
            symbols.add(entry.symbol)
        for name in sorted(symbols):
            for order in self.working.protective(bot_id, name):
                await self._publish(channels.bot_orders(bot_id), order)
            await self._publish(channels.bot_orders(bot_id), self.bot_position(bot_id, name))

    def on_bot_sltp(self, command: UpdateStopLossTakeProfit, bot_id: str) -> None:
        """A bot moves its own stop or target: sent as the bot's (only its protective orders
        move), with the protective changes' priority."""
        if bot_id not in self.registry:
            self.counters["badMessages"] += 1
            log.warning("stop/target change from an unknown bot; dropped", bot=bot_id)
            return
        self.enqueue_protective(
            msgspec.structs.replace(command, bot_id=bot_id, account_id=command.account_id or self.account_id),
            bot_id,
        )

    # --- the account's trading state --------------------------------------------------------------

    def _record(
        self, kind: str, message: str, requested_by: str | None, details: dict[str, Any] | None = None
    ) -> None:
        self.account.record(RiskEvent(self.clock(), kind, message, requested_by, details or {}))
        if self.journal is not None and requested_by is not None:
            self.journal.control(self.now_ns(), requested_by, kind, message, details)
        log.warning("risk event", kind=kind, message=message, requested_by=requested_by)

    def _set(self, cause: Cause, why: str, *, halt: bool = False) -> None:
        before = self.account.state
        if self.account.set(cause, why, halt=halt):
            self._record(f"{cause.value}_ON", why, None)
            self._state_changed(f"{cause.value}_ON", before)
        self._apply_state(before)

    def _clear(self, cause: Cause) -> None:
        before = self.account.state
        if self.account.clear(cause):
            self._record(f"{cause.value}_OFF", f"{cause.value} resolved", None)
            self._state_changed(f"{cause.value}_OFF", before)
        self._apply_state(before)

    def _state_changed(self, change: str, before: TradingState | None) -> None:
        """Queues the account's trading state for ``account:trading-state``."""
        self._state_changes.append(
            TradingStateChange(
                state=state_name(self.account.state),
                causes=self.account.why(),
                circuit_breaker=Cause.CIRCUIT_BREAKER in self.account.causes,
                timestamp=self.clock(),
                change=change,
                was=state_name(before) if before is not None else None,
                account_id=self.account_id,
            )
        )
        self._state_wake.set()

    async def _publish_state_changes(self) -> None:
        while not self._stopping:
            await self._state_wake.wait()
            self._state_wake.clear()
            while self._state_changes:
                change = self._state_changes[0]
                try:
                    await self._publish(channels.ACCOUNT_TRADING_STATE, change)
                except Exception:  # the bus is down: kept, tried again
                    log.exception("publishing the trading state failed; retrying")
                    await asyncio.sleep(0.5)
                    continue
                self._state_changes.pop(0)

    def _apply_state(self, before: TradingState) -> None:
        self._dirty = True
        after = self.account.state
        self.engine.trading_state = after
        if after != before:
            if self.journal is not None:
                self.journal.state_change(
                    self.now_ns(),
                    state_name(before),
                    state_name(after),
                    "; ".join(f"{cause}: {why}" for cause, why in self.account.why().items()) or "cleared",
                    self.account_id,
                )
            log.warning(
                "trading state", state=state_name(after), was=state_name(before), why=self.account.why()
            )

    async def evaluate(self) -> None:
        """The prop-firm rules on the day's figures (after every fill, mark and balance)."""
        daily = self.engine.daily_pnl
        if self.journal is not None and self.current_trading_day and not self._journal_day_pending:
            self.journal.account_figures(
                self.account_id, self.current_trading_day, self.engine, self.now_ns()
            )
        risk = self.risk_settings
        if -daily >= risk.max_daily_loss and Cause.DAILY_LOSS not in self.account.causes:
            self._set(
                Cause.DAILY_LOSS,
                f"daily loss {-daily:.2f} reached the limit {risk.max_daily_loss:g}",
                halt=True,
            )
            if self.settings.flatten_on_daily_loss and not self.flattened_for_loss:
                self.flattened_for_loss = True
                await self.flatten_all("risk", "daily loss limit", Cause.DAILY_LOSS)
        target = risk.max_daily_profit
        if target is not None and daily >= target and Cause.PROFIT_TARGET not in self.account.causes:
            self._set(Cause.PROFIT_TARGET, f"daily profit {daily:.2f} reached the target {target:g}")
        room = self.engine.equity - self.engine.drawdown_floor
        if room <= self.settings.reducing_distance:
            if Cause.NEAR_MAX_LOSS not in self.account.causes:
                self._set(Cause.NEAR_MAX_LOSS, f"equity is {room:.2f} above the trailing maximum loss floor")
        elif Cause.NEAR_MAX_LOSS in self.account.causes:
            self._clear(Cause.NEAR_MAX_LOSS)

    async def _trip_check(self, what: str) -> None:
        if self.breaker.record(self.monotonic()) and Cause.CIRCUIT_BREAKER not in self.account.causes:
            self._set(
                Cause.CIRCUIT_BREAKER,
                f"{self.breaker.count} rejections, errors or disconnects within "
                f"{self.breaker.window:g} s (last: {what})",
            )

    async def _count_disconnects(self) -> None:
        """Bus reconnects (the connection to Redis lost) count toward the circuit breaker."""
        reconnects = self.bus.metrics().reconnects
        if reconnects > self._reconnects_seen:
            self._record("BUS_DISCONNECT", f"the bus reconnected ({reconnects} times so far)", None)
            for _ in range(reconnects - self._reconnects_seen):
                await self._trip_check("bus disconnect")
        self._reconnects_seen = reconnects

    def roll_day_if_due(self) -> None:
        if not self.clock_known():
            return
        day = trading_day(self.clock())
        if self.current_trading_day is None or day == self.current_trading_day:
            self.current_trading_day = day
            return
        self.current_trading_day = day
        self.engine.new_trading_day()
        self.carried_realized = self.carried_fees = 0.0
        self.day_start_source, self.day_start_warning = "roll", None
        self.in_balance, self.in_balance_day = set(), None
        self._first_balance_pending = False
        self.positions.new_day()
        self.flattened_for_loss = False
        for cause in DAILY:
            self._clear(cause)
        self._record("TRADING_DAY", f"new trading day {day.isoformat()}", None)

    async def flatten_if_due(self) -> bool:
        """At ``risk.flattenAt`` (exchange time, in the trading hours' zone; TopStepX flattens
        at 15:10 CT) everything is flattened once per trading day and the account stays HALTED
        until the next one."""
        at = self.risk_settings.flatten_at
        if at is None or not self.clock_known():
            return False
        hours = self.risk_settings.trading_hours
        zone = ZoneInfo(hours.timezone)
        now = self.clock()
        local = now.astimezone(zone)
        day = trading_day(now)
        due = parse_time_of_day(at) <= local.time() < parse_time_of_day(hours.start)
        if not due or day == self._session_flattened or local.weekday() >= 5:
            return False
        self._session_flattened = day
        async with self._lock:
            await self.flatten_all("schedule", f"flattenAt {at}", Cause.SESSION_END)
            await self.save()
        return True

    async def _housekeeping(self) -> None:
        while not self._stopping:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            self.roll_day_if_due()
            await self.flatten_if_due()
            now = self.monotonic()
            await self._count_disconnects()
            for entry in self.registry.newly_stale(now):
                self._record("BOT_STALE", f"bot {entry.bot_id} stopped heartbeating", None)
            if self._mismatch_since or Cause.RECONCILIATION in self.account.causes:
                self._reconcile_check()
            # A state change from quotes (not while an order is on its way, unless sent
            # submissions wait for it: a full queue may keep the dispatcher's save off); fresh.
            quiet = not self.orders_on_the_way() or self._pending_acks
            if (self._dirty and quiet) or now - self._saved_at > 30.0:
                self._saved_at = now
                try:
                    async with self._lock:  # never a batch's state half handled
                        await self.save()
                except Exception:
                    log.exception("saving the aggregator state failed; retrying")

    # --- the kill switch --------------------------------------------------------------------------

    async def command(
        self, action: ControlAction, requested_by: str, reason: str, bot_id: str | None = None
    ) -> str:
        """A kill-switch action from the API: applied between messages, then saved."""
        async with self._lock:
            done = await self.control(action, requested_by, reason, bot_id)
            await self.save()
            self.order_gate.check()
            return done

    @property
    def healthy(self) -> bool:
        return not self._stopping and not self.failed.done() and self.bus.metrics().connected

    async def control(
        self, action: ControlAction, requested_by: str, reason: str, bot_id: str | None = None
    ) -> str:
        """Applies a kill-switch action; returns what was done (raises ``LookupError`` for an unknown bot)."""
        if action is ControlAction.HALT:
            self._record("HALT", reason or "halt", requested_by)
            self._set(Cause.KILL_SWITCH, f"halted by {requested_by}: {reason}", halt=True)
            await self._purge_queue(RiskReason.TRADING_HALTED, f"halted by {requested_by}")
            return "halted"
        if action is ControlAction.RESUME:
            self._record("RESUME", reason or "resume", requested_by)
            self.breaker.reset()
            for cause in (Cause.KILL_SWITCH, Cause.CIRCUIT_BREAKER):
                self._clear(cause)
            if self.settings.unattributed_fills == "halt":
                self._clear(Cause.UNATTRIBUTED)
            return state_name(self.account.state)
        if action is ControlAction.FLATTEN:
            await self.flatten_all(requested_by, reason)
            return "flattening"
        if bot_id is None or (entry := self.registry.get(bot_id)) is None:
            raise LookupError(f"unknown bot {bot_id!r}")
        entry.paused = action is ControlAction.PAUSE_BOT
        entry.pause_reason = reason if entry.paused else None
        self._record(action.value, f"{bot_id}: {reason}", requested_by, {"botId": bot_id})
        return "paused" if entry.paused else "resumed"

    async def _purge_queue(self, reason: RiskReason, why: str) -> None:
        for item in self.queue.remove_where(lambda i: i.priority is not Priority.PROTECTIVE):
            await self._drop_queued(item, reason, why)

    async def flatten_all(self, requested_by: str, reason: str, cause: Cause = Cause.KILL_SWITCH) -> None:
        """HALTED (by ``cause``: the kill switch until RESUME; the daily loss or the session's end
        until the next trading day); every queued bot order refused; every position closed and
        every working order cancelled, across bots."""
        self._record("FLATTEN", reason or "flatten", requested_by)
        self._set(cause, f"flattened by {requested_by}: {reason}", halt=True)
        await self._purge_queue(RiskReason.TRADING_HALTED, f"flatten by {requested_by}")
        stamp = self.clock().strftime("%Y%m%dT%H%M%S%f")
        symbols = {s for s, q in self.exchange_positions.items() if q != 0} | self.positions.symbols()
        # Close first (the connection manager then cancels each position's stops and targets):
        # if a close fails, the stops still protect. Then every other working order goes.
        for symbol in sorted(symbols):
            if self.exchange_positions.get(symbol, 0) == 0 and self.positions.net(symbol) == 0:
                await self._cross_internally(symbol)  # nothing to close at the exchange
                continue
            self.closing.add(symbol)
            self.enqueue_protective(
                ClosePosition(
                    command_id=f"agg-flatten-{stamp}-{symbol}", symbol=symbol, account_id=self.account_id
                )
            )
        for order in self.working.all():
            self.enqueue_protective(
                CancelOrder(
                    command_id=f"agg-flatten-{stamp}-{order.exchange_order_id}",
                    account_id=order.account_id,
                    exchange_order_id=order.exchange_order_id,
                ),
                order.bot_id,
            )

    # --- views ------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        risk = self.risk_settings
        engine = self.engine
        return {
            "service": SOURCE,
            "tradingState": state_name(engine.trading_state),
            "why": self.account.why(),
            "accountId": self.account_id,
            "tradingDay": self.current_trading_day.isoformat() if self.current_trading_day else None,
            "queueDepth": len(self.queue),
            "limits": {
                "dailyLoss": {"limit": risk.max_daily_loss, "used": max(0.0, -engine.daily_pnl)},
                "dailyProfit": {"limit": risk.max_daily_profit, "made": max(0.0, engine.daily_pnl)},
                "trailingDrawdown": {
                    "floor": engine.drawdown_floor,
                    "equity": engine.equity,
                    "room": engine.equity - engine.drawdown_floor,
                },
                "openContracts": {"limit": risk.max_open_contracts, "used": engine.exposure},
                "workingOrders": engine.working_orders,
                "circuitBreaker": {"limit": self.breaker.count, "recent": self.breaker.recent},
            },
            "pnl": {
                "daily": engine.daily_pnl,
                "realized": self.realized_today,
                "open": engine.open_pnl,
                "fees": self.fees_today,
                "balance": engine.balance,
            },
            "dayStart": {
                "equity": engine.equity - engine.daily_pnl,
                "source": self.day_start_source,
                "warning": self.day_start_warning,
            },
            "counters": dict(self.counters),
        }

    def positions_view(self) -> dict[str, Any]:
        per_bot = [
            {
                "botId": bot or None,
                "symbol": symbol,
                "quantity": p.quantity,
                "averagePrice": p.average_price,
                "realizedPnl": p.realized_pnl,
                "fees": p.fees,
            }
            for bot, symbol, p in self.positions.items()
        ]
        symbols = sorted({s for _, s, _p in self.positions.items()} | set(self.exchange_positions))
        net = [
            {
                "symbol": s,
                "quantity": self.positions.net(s),
                "exchangeQuantity": self.exchange_positions.get(s),
            }
            for s in symbols
        ]
        return {"perBot": per_bot, "net": net}
