"""The notifier: a service on the bus that turns events into alerts and sends them to the
configured channels, and (with Telegram) takes commands.

It reads ``connection-manager:fills`` and ``aggregator:risk`` as the durable consumer group
``alerts`` (a restarted notifier gets what it missed), bots' status and ``system:metrics`` as
they come, and the aggregator's state from its API. The consumer only translates and queues:
each channel's outbox sends on its own task, so nothing the channels do (slow, failing, rate
limited) ever holds a bus message, a publisher or trading. An alert still queued when the
process is killed is lost; the events after its last acknowledged message come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from tsxbot.alerts.aggregator_client import AggregatorClient, AggregatorUnavailable
from tsxbot.alerts.aggregator_watch import AggregatorWatch
from tsxbot.alerts.command_journal import CommandJournal
from tsxbot.alerts.events import Alert, level_at_least
from tsxbot.alerts.outbox import Outbox
from tsxbot.alerts.summary import DailySummary
from tsxbot.alerts.telegram_control import TelegramControl
from tsxbot.alerts.translate import Translator
from tsxbot.bus import BusError, MessageBus, RedisBus, Subscription
from tsxbot.config.alerts import AlertsConfig, RouteConfig
from tsxbot.config.types import parse_time_of_day
from tsxbot.log import get_logger
from tsxbot.messages import TradingStateChange, channels
from tsxbot.runtime import Service

log = get_logger("tsxbot.alerts")
GROUP = "alerts"
DURABLE = (channels.CM_FILLS, channels.AGGREGATOR_RISK, channels.ACCOUNT_TRADING_STATE)
STOP_FLUSH_SECONDS = 5.0


class Route:
    """One outbox and what it takes (its channel's ``minLevel`` and ``kinds``)."""

    def __init__(self, outbox: Outbox, settings: RouteConfig) -> None:
        self.outbox = outbox
        self.min_level = settings.min_level
        self.kinds = None if settings.kinds is None else frozenset(settings.kinds)

    def accepts(self, alert: Alert) -> bool:
        return level_at_least(alert.level, self.min_level) and (
            self.kinds is None or alert.kind.value in self.kinds
        )


class AlertService(Service):
    name = "alerts"

    def __init__(
        self,
        settings: AlertsConfig,
        bus: MessageBus,
        routes: list[Route],
        http: httpx.AsyncClient,
        aggregator: AggregatorClient,
        *,
        bot_ids: list[str],
        clock: Callable[[], dt.datetime],
        control: TelegramControl | None = None,
        journal: CommandJournal | None = None,
        observe: Callable[[dt.datetime], None] | None = None,
        market_symbols: list[str] | None = None,
        in_process_group: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.bus = bus
        self.routes = routes
        self.http = http
        self.aggregator = aggregator
        self.bot_ids = bot_ids
        self.clock = clock
        self.control = control
        self.journal = journal
        self.observe = observe
        self.market_symbols = market_symbols or []
        # run-all: the consumer group lives only while the process runs (over Redis it is created
        # at the streams' ends at start and removed at stop, as the console's), so a run-all
        # without alerts later leaves no group behind holding the streams untrimmed.
        self.in_process_group = in_process_group
        self.monotonic = monotonic
        self.translator = Translator(settings.levels.chosen(), settings.connection_stale_seconds)
        self.watch = AggregatorWatch(aggregator, self.translator, clock)
        self.summary = (
            DailySummary(parse_time_of_day(settings.daily_summary_at), settings.timezone)
            if settings.daily_summary_at
            else None
        )
        self.counters = {"messages": 0, "alerts": 0, "badMessages": 0}
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.journal is not None:
            await self.journal.start()
        if self.in_process_group and isinstance(self.bus, RedisBus):
            await self.bus.remove_group(GROUP, DURABLE, recreate=True)
        durable = await self.bus.subscribe(DURABLE, group=GROUP)
        ephemeral = await self.bus.subscribe(
            [
                channels.SYSTEM_METRICS,
                *(channels.bot_status(b) for b in self.bot_ids),
                *(channels.market_data(s) for s in self.market_symbols),
            ]
        )
        self._subscriptions = [durable, ephemeral]
        self._tasks = [
            self._background(self._consume(durable), "alerts-durable"),
            self._background(self._consume(ephemeral), "alerts-events"),
            self._background(self._tick(), "alerts-tick"),
            *(self._background(r.outbox.run(), f"alerts-{r.outbox.name}") for r in self.routes),
        ]
        if self.control is not None:
            self._tasks.append(self._background(self.control.run(), "alerts-telegram-commands"))
        log.info(
            "alerts started",
            channels=[r.outbox.name for r in self.routes],
            commands=self.control is not None,
        )

    async def stop(self) -> None:
        """Stops reading; gives the outboxes up to 5 s to send what waits."""
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(subscription.close(), 3.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(r.outbox.drained() for r in self.routes)), STOP_FLUSH_SECONDS
            )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.control is not None:
            await self.control.stop()
        if self.journal is not None:
            await self.journal.stop()
        await self.http.aclose()
        if self.in_process_group and isinstance(self.bus, RedisBus):
            try:
                await self.bus.remove_group(GROUP, DURABLE)
            except (BusError, TimeoutError) as exc:
                log.warning("could not remove the alerts' consumer group", error=str(exc))
        left = sum(r.outbox.pending for r in self.routes)
        log.info("alerts stopped", unsent=left)

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        def ended(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("alerts background work died", task=name, error=repr(error))
                self.fail(error)

        task = asyncio.create_task(work, name=name)
        task.add_done_callback(ended)
        return task

    # --- events -----------------------------------------------------------------------------------

    def dispatch(self, alerts: list[Alert]) -> None:
        now = self.clock() if alerts else None
        for alert in alerts:
            self.counters["alerts"] += 1
            if self.summary is not None and now is not None:
                self.summary.count(alert, now)
            for route in self.routes:
                if route.accepts(alert):
                    route.outbox.offer(alert)

    async def _consume(self, subscription: Subscription) -> None:
        while True:
            batch = await subscription.next_batch(500)
            if not batch:
                return
            now = self.monotonic()
            for message in batch:
                self.counters["messages"] += 1
                try:
                    if self.observe is not None:
                        stamp = getattr(message.envelope.payload, "timestamp", None)
                        if isinstance(stamp, dt.datetime) and stamp.tzinfo is not None:
                            self.observe(stamp)
                    payload = message.envelope.payload
                    if isinstance(payload, TradingStateChange):
                        self.dispatch(self.watch.on_state_change(payload))
                    else:
                        self.dispatch(self.translator.translate(message, now))
                except Exception:  # one message that cannot be shown must not stop the others
                    self.counters["badMessages"] += 1
                    log.exception("an event could not be turned into an alert", message=repr(message))
                finally:
                    await message.ack()

    async def _tick(self) -> None:
        """Once per ``aggregatorPollSeconds``: the aggregator's state, the connection manager's
        silence, the daily summary."""
        while True:
            try:
                now = self.clock()
                self.dispatch(self.translator.check_silence(self.monotonic(), now))
                self.dispatch(await self.watch.poll())
                if self.summary is not None and (day := self.summary.due(now)) is not None:
                    try:
                        status: dict[str, Any] | None = await self.aggregator.status()
                    except AggregatorUnavailable:
                        status = None
                    self.dispatch([self.summary.render(day, status, now, self.translator.alert)])
            except Exception:
                log.exception("alerts housekeeping failed")
            await asyncio.sleep(self.settings.aggregator_poll_seconds)

    def metrics(self) -> dict[str, float]:
        values: dict[str, float] = {k: float(v) for k, v in self.counters.items()}
        for route in self.routes:
            for field, value in vars(route.outbox.counters).items():
                values[f"{route.outbox.name}.{field}"] = float(value)
        return values
