"""The connection manager: the one component that talks to TopStepX.

It owns the gateway (REST + user and market hubs), mirrors exchange truth, publishes market data,
order updates, fills, positions and account updates on the bus, and executes order commands from
the bus. On start and after every user-hub reconnect it reconciles orders, fills and positions with
the exchange and publishes the truth, so nothing downstream trades on a stale position and no fill
that happened during an outage goes unreported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tsxbot.bus import Message, MessageBus, Subscription
from tsxbot.bus.backoff import Backoff
from tsxbot.config import Config
from tsxbot.config.secrets import Secret
from tsxbot.connection_manager.accounts import AccountSelector
from tsxbot.connection_manager.api import ConnectionManagerApi
from tsxbot.connection_manager.commands import COMMAND_TYPES, Command, CommandExecutor
from tsxbot.connection_manager.contracts import ContractResolver
from tsxbot.connection_manager.exchange_state import ExchangeState
from tsxbot.connection_manager.market_data import MARKET_EVENTS, MarketDataFeed
from tsxbot.gateway.errors import AuthenticationError, CircuitOpenError, GatewayError, TransportError
from tsxbot.gateway.exchange_clock import SEARCH_FLOOR, ExchangeClock
from tsxbot.gateway.hub import HubConnection, HubInvocationError
from tsxbot.gateway.models import Account, Order, Position, Trade
from tsxbot.gateway.normalize import Normalizer, UnknownValueError
from tsxbot.gateway.payloads import user_entities
from tsxbot.gateway.rest import ProjectXRest
from tsxbot.log import get_logger
from tsxbot.messages import (
    CommandResult,
    Envelope,
    Fill,
    HistoryRequest,
    MarketTrade,
    OrderUpdate,
    PlaceOrder,
    PositionUpdate,
    Quote,
    channels,
)
from tsxbot.messages.channels import Channel
from tsxbot.messages.payload import Payload, Scalar
from tsxbot.runtime import Service, StartupError, listen_error
from tsxbot.runtime.metrics import numeric_leaves, publish_metrics_periodically

SOURCE = "connection-manager"
USER_EVENTS = ["GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade"]
log = get_logger("tsxbot.connection_manager")
# Waits between attempts to handle a command from the bus whose handling failed (then: fail).
COMMAND_RETRY_SECONDS = (0.5, 2.0, 5.0)
# Waits between attempts of a reconciliation that failed (the last one repeats until it works).
RECONCILE_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
# Published fills kept for ``GET /api/fills``.
FILLS_KEPT = 10_000
TRADING_DAY = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Endpoints:
    api_url: str
    user_hub_url: str
    market_hub_url: str
    username: Secret
    api_key: Secret


@dataclass
class Counters:
    reconciliations: int = 0
    published: int = 0
    bad_events: int = 0
    commands: int = 0
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class ConnectionManager(Service):
    name = "connection-manager"

    def __init__(
        self,
        config: Config,
        bus: MessageBus,
        endpoints: Endpoints | Callable[[], Endpoints],
        api_key: Secret,
        *,
        symbols: list[str] | None = None,
        http_port: int | None = None,
        reconcile_interval: float | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.bus = bus
        # A callable is resolved at start (run-all: the embedded simulator's bound port).
        self._endpoints = endpoints
        # The exchange's time: the simulator's when it runs in this process (exact); otherwise
        # estimated from the exchange's own answers, never the host's clock taken as the truth.
        self.exchange_clock = ExchangeClock()
        self._exact_clock = clock
        self.clock: Callable[[], dt.datetime] = clock or self.exchange_clock.now
        settings = config.global_config
        self.settings = settings.topstepx.gateway
        self.symbols = (
            symbols if symbols is not None else sorted({b.instrument.symbol for b in config.enabled_bots})
        )
        self.normalizer = Normalizer(config.instruments)
        self.state = ExchangeState(self.normalizer)
        endpoint = settings.services.connection_manager
        self.api = ConnectionManagerApi(
            self, api_key, endpoint.host, endpoint.port if http_port is None else http_port
        )
        self.counters = Counters()
        self.reconcile_interval = reconcile_interval or self.settings.reconcile_interval_seconds
        self._reconciler: asyncio.Task[None] | None = None
        self._bar_flusher: asyncio.Task[None] | None = None
        self._metrics: asyncio.Task[None] | None = None
        self._stopping = False
        self._command_task: asyncio.Task[None] | None = None
        self._commands: Subscription | None = None
        self._history: Subscription | None = None
        self._history_task: asyncio.Task[None] | None = None
        self._in_flight: asyncio.Task[CommandResult] | None = None
        # Hub events and reconciliation apply exchange state one at a time, so a snapshot taken
        # before an event can never be applied after it.
        self._state_lock = asyncio.Lock()
        self._links_looked_up: set[int] = set()
        # Why the manager is not ready yet ("" once started).
        self._not_ready = "starting"
        # Whether the last reconciliation failed (positions may be stale), and the task retrying it.
        self.reconcile_failing = False
        self._reconcile_retry: asyncio.Task[None] | None = None
        self.recent_fills: deque[Fill] = deque(maxlen=FILLS_KEPT)
        # From when ``recent_fills`` holds every fill (the first successful reconciliation's
        # Trade/search window); None until then.
        self._fills_searched_from: dt.datetime | None = None
        # Set in start().
        self.rest: ProjectXRest
        self.accounts: AccountSelector
        self.contracts: ContractResolver
        self.executor: CommandExecutor
        self.market: MarketDataFeed
        self.user_hub: HubConnection
        self.market_hub: HubConnection
        self.endpoints: Endpoints

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Binds the HTTP API first (a port in use is a start-up error before anything connects;
        ``/health`` answers not ready while starting), then logs in, retrying with backoff while
        TopStepX is unreachable, then connects the hubs."""
        self.endpoints = self._endpoints() if callable(self._endpoints) else self._endpoints
        tx = self.config.global_config.topstepx
        try:
            await self.api.start()
        except OSError as exc:
            raise listen_error(
                "connection manager",
                self.api.host,
                self.api.port,
                exc,
                "services.connectionManager.port or CONNECTION_MANAGER_PORT",
            ) from None
        self.rest = ProjectXRest(
            self.endpoints.api_url,
            self.endpoints.username,
            self.endpoints.api_key,
            self.settings,
            clock=self._exact_clock,
            exchange_clock=self.exchange_clock,
        )
        await self._log_in()
        self._not_ready = "connecting the hubs"
        self.accounts = AccountSelector(await self.rest.search_accounts(True), tx.account_id, tx.account_name)
        self.contracts = ContractResolver(self.rest, self.config.instruments, tx.live_data)
        await self.contracts.load()
        self.executor = CommandExecutor(
            self.rest,
            self.state,
            self.accounts,
            self.contracts,
            max_age=dt.timedelta(seconds=self.settings.command_max_age_seconds),
            clock=self.clock,
            on_placed=self._link_bracket_legs,
            journal=self.bus.journal("commands"),
        )
        self.market = MarketDataFeed(
            self.rest,
            self.contracts,
            self.config.instruments,
            self.normalizer,
            self._publish_market,
            self.symbols,
            live=tx.live_data,
            clock=self.clock,
        )
        self.user_hub = HubConnection(
            "user",
            self.endpoints.user_hub_url,
            self.rest.session_token,
            self.rest.renew_token,
            USER_EVENTS,
            self._on_user_event,
            self.settings,
            on_connected=self._on_user_connected,
        )
        await self.user_hub.subscribe("SubscribeAccounts")
        await self._subscribe_accounts()
        await self.user_hub.start()  # its first connect reconciles
        self.market_hub = HubConnection(
            "market",
            self.endpoints.market_hub_url,
            self.rest.session_token,
            self.rest.renew_token,
            MARKET_EVENTS,
            self.market.on_event,
            self.settings,
            on_connected=self.market.on_connected,
            on_disconnected=self.market.on_disconnected,
            expect_traffic=self.market.in_session,
        )
        await self.market.subscribe(self.market_hub)
        await self.market_hub.start()
        self._commands = await self.bus.subscribe(channels.CM_COMMANDS, group=SOURCE)
        self._command_task = self._background(self._command_loop(), "cm-commands")
        self._reconciler = self._background(self._reconcile_periodically(), "cm-reconcile")
        self._bar_flusher = self._background(self._flush_bars_periodically(), "cm-bars")
        self._metrics = self._background(
            publish_metrics_periodically(self.bus, SOURCE, lambda: numeric_leaves(self.status())),
            "cm-metrics",
        )
        self._history = await self.bus.subscribe(channels.CM_HISTORY, group=SOURCE)
        self._history_task = self._background(self._history_loop(), "cm-history")
        self._not_ready = ""
        log.info(
            "connection manager started",
            account=self.accounts.default_id,
            symbols=self.symbols,
            contracts=self.market.contract_ids,
        )

    async def _log_in(self) -> None:
        """Logs in, retrying with backoff (the gateway's retry settings) while TopStepX cannot be
        reached: the simulator may start later, the network may be down. A definite refusal of
        the credentials is a start-up error."""
        url = self.endpoints.api_url
        backoff = Backoff(self.settings.retry_base_seconds, self.settings.retry_cap_seconds)
        attempt = 0
        while True:
            attempt += 1
            self._not_ready = f"logging in to {url} (attempt {attempt})"
            log.info("logging in to TopStepX", url=url, attempt=attempt)
            try:
                await self.rest.login()
                return
            except AuthenticationError as exc:
                target = self.config.global_config.topstepx.target
                where = (
                    "simulator.credentials"
                    if target == "simulator"
                    else "TOPSTEPX_USERNAME / TOPSTEPX_API_KEY"
                )
                raise StartupError(
                    f"connection manager: {url} refused the login: {exc} (check {where})"
                ) from None
            except GatewayError as exc:
                delay = backoff.next_delay()
                if isinstance(exc, CircuitOpenError):
                    delay = max(delay, exc.reopens_in)
                cause = _short_cause(exc)
                self._not_ready = f"logging in to {url}: {cause} (attempt {attempt})"
                log.warning(
                    "cannot log in to TopStepX yet; retrying",
                    url=url,
                    attempt=attempt,
                    error=cause,
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A task that must run as long as the service: if it ends by an error, the service fails
        (the runner stops everything) instead of running on half-broken."""

        def ended(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("background work died; the connection manager fails", task=name, error=repr(error))
                self.fail(error)

        task = asyncio.create_task(work, name=name)
        task.add_done_callback(ended)
        return task

    async def stop(self) -> None:
        """Stops taking commands, lets the one in flight finish, closes hubs and the API."""
        self._stopping = True
        for task in (
            self._reconciler,
            self._bar_flusher,
            self._reconcile_retry,
            self._metrics,
            self._history_task,
        ):
            if task is not None:
                task.cancel()
        if self._history is not None:
            await self._history.close()
        if self._commands is not None:
            await self._commands.close()  # unacknowledged commands stay pending for the next run
        if self._command_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._command_task), 15)
            except TimeoutError:
                log.error("a command did not finish within 15 s of shutdown")
                self._command_task.cancel()
            except Exception:  # it failed earlier: logged and reported then
                pass
        for hub in (getattr(self, "market_hub", None), getattr(self, "user_hub", None)):
            if hub is not None:
                await hub.stop()
        await self.api.stop()
        if hasattr(self, "rest"):
            await self.rest.close()
        log.info("connection manager stopped")

    @property
    def accepting_commands(self) -> bool:
        return not self._stopping and not self.failed.done()

    @property
    def healthy(self) -> bool:
        return self.readiness()[0]

    @property
    def starting(self) -> str:
        """While the start has not finished, what it is doing (else "")."""
        return self._not_ready

    def readiness(self) -> tuple[bool, str]:
        """Whether the manager is ready to trade and, when not, why (``/health``)."""
        if self._stopping:
            return False, "stopping"
        if self.failed.done():
            return False, f"failed: {self.failed.result()}"
        if self._not_ready:
            return False, self._not_ready
        if not self.bus.metrics().connected:  # commands and results travel over it
            return False, "the bus is not connected"
        for hub in (self.user_hub, self.market_hub):
            if not hub.connected:
                return False, f"the {hub.name} hub is not connected ({hub.state.value})"
        return True, ""

    # --- publishing -------------------------------------------------------------------------------

    async def _publish(
        self,
        channel: Channel,
        payload: Payload,
        *,
        message_id: str | None = None,
        metadata: dict[str, Scalar] | None = None,
    ) -> None:
        envelope = Envelope.wrap(payload, SOURCE, metadata=metadata, message_id=message_id)
        await self.bus.publish(channel, envelope)
        self.counters.published += 1
        self.api.broadcast(envelope)

    async def _emit(
        self, channel: Channel, message: Payload | None, *, message_id: str | None = None
    ) -> None:
        """Publishes what an ``ExchangeState.apply_*`` returned (None: nothing changed) and then
        keeps the change; when the publish fails the state forgets it, so the next event or
        reconciliation publishes it again: never marked as published before it was."""
        if message is None:
            self.state.commit()
            return
        try:
            await self._publish(channel, message, message_id=message_id)
        except BaseException:
            self.state.rollback()
            raise
        self.state.commit()

    async def _publish_market(
        self, channel: Channel, payload: Payload, metadata: dict[str, Scalar] | None
    ) -> None:
        if isinstance(payload, (Quote, MarketTrade)):  # live market events: the exchange's time
            self.exchange_clock.observe(payload.timestamp)
        await self._publish(channel, payload, metadata=metadata)

    # --- user hub ---------------------------------------------------------------------------------

    async def _on_user_event(self, target: str, arguments: list[Any]) -> None:
        async with self._state_lock:
            for _action, row in user_entities(arguments):
                try:
                    await self._apply_user_row(target, row)
                except (msgspec.ValidationError, UnknownValueError) as exc:
                    self.counters.bad_events += 1
                    log.error("unusable user-hub event", target=target, error=str(exc), row=row)

    async def _apply_user_row(self, target: str, row: dict[str, Any]) -> None:
        if target == "GatewayUserOrder":
            order = msgspec.convert(row, Order)
            # An order event happens now: its update time is the exchange's time.
            self.exchange_clock.observe(order.update_timestamp, fresh=True)
            self.exchange_clock.observe(order.creation_timestamp)
            await self._emit(channels.CM_ORDER_UPDATES, self.state.apply_order(order))
        elif target == "GatewayUserTrade":
            trade = msgspec.convert(row, Trade)
            self.exchange_clock.observe(trade.creation_timestamp, fresh=True)
            if not self.state.is_attributed(trade.order_id) and trade.order_id not in self._links_looked_up:
                self._links_looked_up.add(trade.order_id)
                await self._learn_order_links(trade.account_id, trade.creation_timestamp)
            await self._emit_fill(trade)
        elif target == "GatewayUserPosition":
            position = msgspec.convert(row, Position)
            self.exchange_clock.observe(position.creation_timestamp)
            await self._emit(channels.CM_POSITIONS, self.state.apply_position(position, self.clock()))
        elif target == "GatewayUserAccount":
            account = msgspec.convert(row, Account)
            self.accounts.update(account)
            await self._emit(channels.CM_ACCOUNT_UPDATES, self.state.apply_account(account))

    async def _emit_fill(self, trade: Trade) -> None:
        fill = self.state.apply_trade(trade)
        await self._emit(channels.CM_FILLS, fill, message_id=f"fill-{trade.account_id}-{trade.id}")
        if fill is not None:
            self.recent_fills.append(fill)
            # The fill goes out now, with what was published before it, not after the rest of
            # the hub's frame (its position, account, the bracket's legs: 0.1-0.3 ms): the bus's
            # writer runs before the next event is handled (in order: nothing overtakes it).
            await asyncio.sleep(0)

    async def _learn_order_links(self, account_id: int, when: dt.datetime) -> None:
        """Bracket legs arrive on the hub without their parent's id; an order search has it, and
        with it the bot the leg's fill belongs to."""
        try:
            for order in await self.rest.search_orders(account_id, when - dt.timedelta(hours=24)):
                await self._emit(channels.CM_ORDER_UPDATES, self.state.apply_order(order))
        except GatewayError as exc:
            log.warning("could not look up bracket links; the fill goes out unattributed", error=str(exc))

    async def _link_bracket_legs(self, order_id: int, account_id: int, command: PlaceOrder) -> None:
        """After a bracketed place: find its legs (their parent id is in an order search, not in
        the hub's events) and announce them with their bot. The account's open orders are
        searched first (a handful of orders, not every order of the last minutes, on the fill's
        way); when a leg is missing there (a resting entry's legs are Suspended, which
        ``searchOpen`` leaves out; a leg already closed) its recent history is searched too, so
        every leg is announced with its bot and the aggregator can cancel it when the bot's
        position goes flat."""
        expected = (command.stop_loss_ticks is not None) + (command.take_profit_ticks is not None)
        try:
            orders = await self.rest.search_open_orders(account_id)
        except GatewayError as exc:
            log.warning("could not look up the bracket legs", order_id=order_id, error=str(exc))
            orders = []
        legs = {order.id: order for order in orders if order.parent_order_id == order_id}
        if len(legs) < expected:
            try:
                recent = await self.rest.search_orders(
                    account_id, self.rest.search_start(dt.timedelta(minutes=5))
                )
            except GatewayError as exc:
                log.warning("could not look up the bracket legs", order_id=order_id, error=str(exc))
                recent = []
            for order in recent:  # (the legs already found kept as searchOpen gave them)
                if order.parent_order_id == order_id:
                    legs.setdefault(order.id, order)
        async with self._state_lock:
            for order in legs.values():
                changed = self.state.apply_order(order)
                await self._emit(channels.CM_ORDER_UPDATES, changed or self.state.describe(order.id))

    async def _on_user_connected(self, first: bool) -> None:
        await self.reconcile(reason="start" if first else "user hub reconnected")

    async def _flush_bars_periodically(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.market.flush_bars()
            except Exception:  # a failed publish (bus full): the next round tries again
                log.exception("flushing bars failed")

    async def _reconcile_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_interval)
            if self.user_hub.connected:
                try:
                    await self.reconcile(reason="periodic")
                except Exception:  # a failed publish (bus full): rolled back, found again next time
                    log.exception("periodic reconciliation failed")

    async def reconcile(self, reason: str) -> bool:
        """Reads orders, fills, positions and balances from the exchange and publishes whatever
        the bus has not heard: after a hub outage this is what recovers missed fills. A failed
        one marks the positions stale and is retried with backoff until one succeeds (not only
        at the next period or reconnect). Returns whether it succeeded."""
        ok = await self._reconcile_once(reason)
        if not ok:
            self._retry_reconciliation()
        return ok

    async def _reconcile_once(self, reason: str) -> bool:
        async with self._state_lock:
            try:
                await self._learn_exchange_time()
                await self._reconcile_locked()
            except GatewayError as exc:
                self.reconcile_failing = True
                log.error("reconciliation failed; retrying with backoff", reason=reason, error=str(exc))
                return False
            self.reconcile_failing = False
            self.counters.reconciliations += 1
            log.info("reconciled with the exchange", reason=reason)
        await self._subscribe_accounts()  # an account opened since the start (outside the lock)
        return True

    def _retry_reconciliation(self) -> None:
        if self._stopping or (self._reconcile_retry is not None and not self._reconcile_retry.done()):
            return
        self._reconcile_retry = asyncio.create_task(
            self._reconcile_until_it_works(), name="cm-reconcile-retry"
        )

    async def _reconcile_until_it_works(self) -> None:
        attempt = 0
        while not self._stopping and self.reconcile_failing:
            delay = RECONCILE_RETRY_SECONDS[min(attempt, len(RECONCILE_RETRY_SECONDS) - 1)]
            # An open circuit fails fast: wait for its next trial instead.
            circuit = max((b.remaining() or 0.0 for b in self.rest.breakers.values()), default=0.0)
            await asyncio.sleep(max(delay, min(circuit, 30.0)))
            attempt += 1
            try:
                if await self._reconcile_once(f"retry {attempt}"):
                    return
            except Exception:  # a failed publish: rolled back, found again by the next attempt
                log.exception("reconciliation retry failed")

    async def _learn_exchange_time(self) -> None:
        """Before the first search window is set: the exchange's time, from its newest order
        (searched from the floor once; nothing is published from it)."""
        clock = self.exchange_clock
        if self._exact_clock is not None or clock.known:
            return
        for account in self.accounts.accounts:
            await self.rest.search_orders(account.id, SEARCH_FLOOR)
            await self.rest.search_open_positions(account.id)
        if clock.observations:
            log.info("exchange time learned from its orders", exchange_time=self.clock().isoformat())
        else:
            log.info("the exchange holds no orders yet: its time is learned from its first event")

    async def _reconcile_locked(self) -> None:
        trading_day_start = self.rest.search_start(TRADING_DAY)
        first_search = self._fills_searched_from is None
        for account in await self.rest.search_accounts(True):
            self.accounts.update(account)
            await self._emit(channels.CM_ACCOUNT_UPDATES, self.state.apply_account(account))
        for account in self.accounts.accounts:
            aid = account.id
            last_fill = self.state.last_fill_time.get(aid)  # this account's own
            since = last_fill - dt.timedelta(minutes=5) if last_fill else trading_day_start
            unpublished = self.state.unpublished_fill_time.get(aid)
            if unpublished is not None:  # a fill whose publish failed: search from it
                since = min(since, unpublished - dt.timedelta(minutes=1))
            for order in await self.rest.search_orders(aid, min(since, trading_day_start)):
                await self._emit(channels.CM_ORDER_UPDATES, self.state.apply_order(order))
            for order in await self.rest.search_open_orders(aid):
                await self._emit(channels.CM_ORDER_UPDATES, self.state.apply_order(order))
            for trade in sorted(await self.rest.search_trades(aid, since), key=lambda t: t.id):
                await self._emit_fill(trade)
            if unpublished is not None and self.state.unpublished_fill_time.get(aid) == unpublished:
                del self.state.unpublished_fill_time[aid]  # covered, and published now
            positions = await self.rest.search_open_positions(aid)
            now = self.clock()
            for position in self.state.positions_to_reconcile(aid, positions, now):
                await self._emit(channels.CM_POSITIONS, self.state.apply_position(position, now))
        if first_search:  # every account's trades searched from trading_day_start
            self._fills_searched_from = trading_day_start

    async def _subscribe_accounts(self) -> None:
        """Each account's orders, positions and trades on the user hub (the hub remembers them,
        re-invokes them after every reconnect, and ignores a repeat)."""
        for account in self.accounts.accounts:
            for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
                try:
                    await self.user_hub.subscribe(method, account.id)
                except HubInvocationError as exc:  # remembered: invoked again on the next connect
                    log.error(
                        "user hub subscription failed", method=method, account=account.id, error=str(exc)
                    )

    # --- history ----------------------------------------------------------------------------------

    async def _history_loop(self) -> None:
        """Serves ``HistoryRequest``s (a bot's warm-up) from ProjectX's History, one at a time,
        answering on ``history_replies(replyTo)``."""
        assert self._history is not None
        async for message in self._history:
            payload = message.envelope.payload
            if isinstance(payload, HistoryRequest):
                try:
                    reply = channels.history_replies(payload.reply_to)
                except ValueError as exc:
                    log.error("history request with a bad replyTo; dropped", error=str(exc))
                else:
                    answer = await self.market.history(payload)
                    await self._publish(reply, answer, message_id=f"history-{payload.request_id}")
                    log.info(
                        "history served",
                        symbol=payload.symbol,
                        to=payload.reply_to,
                        bars=len(answer.bars),
                        error=answer.error,
                    )
            else:
                log.error("not a history request; dropped", type=message.envelope.type.value)
            await message.ack()

    # --- commands ---------------------------------------------------------------------------------

    async def _command_loop(self) -> None:
        assert self._commands is not None
        async for message in self._commands:
            payload = message.envelope.payload
            if not isinstance(payload, COMMAND_TYPES):
                log.error(
                    "not an order command; dropped",
                    type=message.envelope.type.value,
                    source=message.envelope.source,
                )
                await message.ack()
                continue
            await self._handle_command(payload, message)

    async def _handle_command(self, command: Command, message: Message) -> None:
        """Executes a command from the bus, then acknowledges it. A failure outside the command
        itself (its result could not be published: the bus is full or down) is retried, the
        journal making the retry return the first result; if it persists the service fails and
        the command stays unacknowledged, for the next run."""
        backoff = COMMAND_RETRY_SECONDS
        for attempt in range(1, len(backoff) + 2):
            try:
                await self.execute_command(
                    command, service=message.envelope.source, sent_at=message.envelope.timestamp
                )
                await message.ack()
                return
            except Exception as exc:
                if attempt > len(backoff):
                    raise
                log.warning(
                    "handling a command failed; retrying",
                    command_id=command.command_id,
                    attempt=attempt,
                    error=repr(exc),
                )
                await asyncio.sleep(backoff[attempt - 1])

    async def execute_command(
        self, command: Command, *, service: str = "api", sent_at: dt.datetime | None = None
    ) -> CommandResult:
        """Executes a command (from the bus or the HTTP API) and publishes its result. ``service``
        is the sender (its account is used when the command names none)."""
        self.counters.commands += 1
        result = await self.executor.execute(command, service=service, sent_at=sent_at)
        await self._publish(channels.CM_ORDER_UPDATES, result, message_id=f"result-{command.command_id}")
        return result

    # --- views ------------------------------------------------------------------------------------

    @property
    def positions_stale(self) -> bool:
        """Positions may be out of date: the last reconciliation failed, or the user hub (which
        reports changes) is down."""
        return self.reconcile_failing or not (hasattr(self, "user_hub") and self.user_hub.connected)

    def positions(self) -> list[PositionUpdate]:
        now = self.clock()
        stale = self.positions_stale
        return [self.state.position_update(p, now, stale=stale) for p in self.state.positions.values()]

    def working_orders(self) -> list[OrderUpdate]:
        """Every working order (entries, stops and targets) with its bot."""
        found = []
        for account_id in sorted({o.account_id for o in self.state.orders.values()}):
            for order in self.state.open_orders(account_id):
                update = self.state.describe(order.id)
                if update is not None:
                    found.append(update)
        return found

    def fills_complete_since(self) -> dt.datetime | None:
        """From when :meth:`fills` holds every fill of every account: the first reconciliation's
        search window (Trade/search over the last 24 h of exchange time), or the oldest fill kept
        once older ones have been dropped; None before the first reconciliation succeeded."""
        since = self._fills_searched_from
        if since is not None and len(self.recent_fills) == self.recent_fills.maxlen:
            since = max(since, self.recent_fills[0].timestamp)
        return since

    @property
    def exchange_time(self) -> dt.datetime | None:
        """The exchange's time now, when known."""
        return self.clock() if self._exact_clock is not None or self.exchange_clock.known else None

    def fills(self, since: dt.datetime) -> list[Fill]:
        """Published fills at or after ``since`` (exchange time), oldest first."""
        return sorted(
            (f for f in self.recent_fills if f.timestamp >= since), key=lambda f: (f.timestamp, f.fill_id)
        )

    def status(self) -> dict[str, Any]:
        hubs = {}
        for hub in (getattr(self, "user_hub", None), getattr(self, "market_hub", None)):
            if hub is not None:
                hubs[hub.name] = {
                    "state": hub.state.value,
                    "connects": hub.connects,
                    "subscriptions": len(hub.subscriptions),
                    "handlerErrors": hub.handler_errors,
                }
        return {
            "service": SOURCE,
            "target": self.config.global_config.topstepx.target,
            "healthy": self.healthy,
            "startedAt": self.counters.started_at.isoformat(),
            "rest": {
                "loggedIn": self.rest.token is not None,
                "logins": self.rest.logins,
                "refreshes": self.rest.refreshes,
            }
            if hasattr(self, "rest")
            else {},
            "hubs": hubs,
            # The bus as this process sees it: buffered, dropped, refused, reconnects, consumer depth.
            "bus": msgspec.to_builtins(self.bus.metrics()),
            "defaultAccountId": self.accounts.default_id if hasattr(self, "accounts") else None,
            "symbols": self.symbols,
            "counters": {
                "published": self.counters.published,
                "reconciliations": self.counters.reconciliations,
                "badEvents": self.counters.bad_events,
                "commands": self.counters.commands,
                "marketEvents": self.market.events if hasattr(self, "market") else 0,
                "bars": self.market.bars if hasattr(self, "market") else 0,
                "backfilledBars": self.market.backfilled_bars if hasattr(self, "market") else 0,
            },
        }


def _short_cause(exc: GatewayError) -> str:
    """Why a login attempt failed, briefly: ``connection refused`` rather than the HTTP client's
    chain (aiohttp's connector error is itself an OSError carrying the errno)."""
    if isinstance(exc, TransportError):
        cause: BaseException | None = exc
        while cause is not None:  # the OSError under the client's connect error says what happened
            if isinstance(cause, ConnectionRefusedError) or (
                isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
            ):
                return "connection refused"
            if isinstance(cause, OSError) and cause.strerror:
                return cause.strerror.lower()
            cause = cause.__cause__ or cause.__context__
        text = str(exc).lower()
        if "timeout" in text or "timed out" in text:
            return "timed out"
    return str(exc)
