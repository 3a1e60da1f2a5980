"""The simulator's state and its feed loop: clock, contracts, markets, exchange, tokens, rate
limits, faults and the two hubs, all in one object the REST handlers and the admin API share."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

from aiohttp import web

from tsxbot.config.instruments import Instruments
from tsxbot.config.simulator import SimulatorConfig
from tsxbot.log import get_logger
from tsxbot.sim.clock import SimClock
from tsxbot.sim.contracts import ContractTable
from tsxbot.sim.exchange.venue import Exchange
from tsxbot.sim.faults.specs import install as install_faults
from tsxbot.sim.faults.state import FaultState
from tsxbot.sim.hubs import protocol
from tsxbot.sim.hubs.market_hub import MarketHub
from tsxbot.sim.hubs.user_hub import UserHub
from tsxbot.sim.marketdata.live import ContractMarket
from tsxbot.sim.marketdata.series import MinuteSeries
from tsxbot.sim.marketdata.universe import build_markets
from tsxbot.sim.ratelimit import RateLimiter
from tsxbot.sim.start_time import choose_start
from tsxbot.sim.tokens import TokenInfo, TokenStore
from tsxbot.sim.wire.present import Presenter
from tsxbot.sim.wire.timestamps import from_ns

log = get_logger("tsxbot.sim")

# Real seconds between feed steps in real-time mode, and simulated seconds per step when racing.
REALTIME_STEP_S = 0.02
RACE_STEP_NS = 1_000_000_000


class Simulator:
    def __init__(
        self,
        config: SimulatorConfig,
        instruments: Instruments,
        *,
        recorded: dict[str, MinuteSeries] | None = None,
        start_ns: int | None = None,
    ) -> None:
        self.config = config
        # The line saying which start ``simulator.startTime`` picked and why (logged at start);
        # None when the caller gives the start (a recording's own time).
        self.start_note: str | None = None
        if start_ns is None:
            choice = choose_start(config, instruments)
            start_ns, self.start_note = choice.ns, choice.line
        self.start_ns = start_ns
        self.clock = SimClock(start_ns, speed=config.speed, paused=config.paused)
        self.contracts = ContractTable(
            instruments,
            from_ns(start_ns).date(),
            years_back=config.exchange.contract_years_back,
            years_ahead=config.exchange.contract_years_ahead,
        )
        self.markets: dict[str, ContractMarket] = build_markets(config, self.contracts, start_ns, recorded)
        self.exchange = Exchange(config, self.contracts, self.markets, self.clock)
        self.faults = FaultState(config.faults, config.seed)
        lifetime = install_faults(self.faults, config.faults, time.monotonic())
        self.tokens = TokenStore(lifetime if lifetime is not None else config.auth.token_lifetime)
        limits = config.rate_limits
        self.limiter = RateLimiter(
            {"all": limits.all, "history": limits.history}, enabled=limits.enabled, algorithm=limits.algorithm
        )
        self.rest_present = Presenter(config.wire, "rest")
        self.user_hub = UserHub(config.hub, config.wire, self.tokens, self.faults)
        self.market_hub = MarketHub(config.hub, config.wire, self.tokens, self.faults, self._market_now)
        self.exchange.user = self.user_hub
        self.exchange.market_events = self.market_hub
        self._feed: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.prints = 0
        self.exchange.on_clock(start_ns)

    def _market_now(self, contract_id: str) -> ContractMarket | None:
        if contract_id not in self.markets:
            return None
        return self.exchange.market_at(contract_id, self.clock.now_ns())

    # --- requests --------------------------------------------------------------------------
    def rate_limit(
        self, bucket: str, request: web.Request, token: TokenInfo | None, raw: str | None
    ) -> web.Response | None:
        limits = self.config.rate_limits
        if not self.limiter.enabled:
            return None
        if limits.scope == "ip" or token is None:
            key = request.remote or "?"
        elif limits.scope == "token":
            key = raw or "?"
        else:
            key = token.user_name.lower()
        both = bucket == "history" and limits.history_counts_against_all
        buckets = ("all", "history") if both else (bucket,)
        wait = self.limiter.take(buckets, key)
        if not wait:
            return None
        headers = {"Retry-After": RateLimiter.retry_after(wait)} if limits.retry_after_header else {}
        return web.Response(status=429, headers=headers)

    async def token_revoked(self, jti: str) -> None:
        """Logout: hub connections opened with that token get GatewayLogout, then Close."""
        for hub in (self.user_hub, self.market_hub):
            for conn in list(hub.connections.values()):
                if conn.token.jti == jti:
                    conn.send(protocol.push("GatewayLogout"))
                    await conn.close("Logged out.", allow_reconnect=False)

    # --- the feed --------------------------------------------------------------------------
    def start(self) -> None:
        self._feed = asyncio.ensure_future(self._run_feed())

    async def stop(self) -> None:
        if self._feed is not None:
            self._feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed
        for hub in (self.user_hub, self.market_hub):
            for conn in list(hub.connections.values()):
                await conn.close("Server is shutting down.", allow_reconnect=True)

    def wake(self) -> None:
        """The clock was moved by the admin API: step the feed now."""
        self._wake.set()

    def advance_clock(self, target_ns: int) -> None:
        """Moves the clock forward to ``target_ns``, playing the markets in one-second steps so
        stops, brackets and account rules see every print on the way."""
        now = self.clock.now_ns()
        while now < target_ns:
            now = min(target_ns, now + RACE_STEP_NS)
            self.clock.advance_to(now)
            self.step(now)
        self.wake()

    def step(self, ns: int) -> int:
        count = self.exchange.advance(ns)
        self.prints += count
        return count

    async def _run_feed(self) -> None:
        clock = self.clock
        while True:
            if clock.racing:
                target = clock.now_ns() + RACE_STEP_NS
                clock.advance_to(target)
                self.step(target)
                await self._backpressure()
                await asyncio.sleep(0)
                continue
            self.step(clock.now_ns())
            await self._backpressure()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), REALTIME_STEP_S)

    async def _backpressure(self) -> None:
        """Waits for slow readers: past maxQueuedBytes a connection gets slowConsumerGrace
        seconds to drain, then it is closed. A connection stalled by fault injection is not
        waited for (its queue is what it gets when the stall ends) unless its queue passes four
        times the limit."""
        limit = self.config.hub.max_queued_bytes
        now = time.monotonic()
        for hub in (self.market_hub, self.user_hub):
            for conn in list(hub.connections.values()):
                if conn.closed or conn.queued_bytes <= limit:
                    continue
                if conn.stalled_until > now and conn.queued_bytes <= 4 * limit:
                    continue
                if not await conn.wait_drained(self.config.hub.slow_consumer_grace):
                    log.warning("closing a slow hub consumer", hub=hub.name, connection=conn.id)
                    await conn.abort(reason="slow consumer")

    # --- admin views -----------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return from_ns(self.clock.now_ns())
