"""The manual trading page's server. Reads: the connection manager's positions and working
orders, candles from its History (over the bus) and live bars from the bus. Actions go through
the services' own APIs with the internal key, after the person's role is checked (a trader's):
moving a stop or target (the connection manager's ``/api/position/update-sltp``) and flatten all
(the aggregator's ``/flatten``)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from aiohttp import web

from tsxbot.bus import MessageBus, Subscription
from tsxbot.config import Config
from tsxbot.config.secrets import Secret
from tsxbot.log import get_logger
from tsxbot.messages import Bar, Envelope, HistoryBars, HistoryRequest, channels
from tsxbot.runtime import Service
from tsxbot.runtime.auth import ROLE_KEY, SAFE_METHODS, Role, reload_keys_on_sighup
from tsxbot.runtime.http import HttpServer, broadcast, error_response, json_response, stream_queue
from tsxbot.web import page_application
from tsxbot.web.forward import ServiceClient

log = get_logger("tsxbot.manual_trading")
SOURCE = "manual-trading"
TIMEFRAMES = {"1m": dt.timedelta(days=2), "5m": dt.timedelta(days=7)}
HISTORY_TIMEOUT_SECONDS = 15.0
MAX_BODY = 16 * 1024
WS_QUEUE = 256


class SltpRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    stop_loss: Annotated[float, msgspec.Meta(gt=0)] | None = None
    take_profit: Annotated[float, msgspec.Meta(gt=0)] | None = None


class FlattenRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


def required_role(request: web.Request) -> Role:
    return Role.VIEWER if request.method in SAFE_METHODS else Role.TRADER


class ManualTrading(Service):
    name = "manual-trading"

    def __init__(
        self,
        config: Config,
        bus: MessageBus,
        api_key: Secret,
        aggregator_url: Callable[[], str],
        connection_manager_url: Callable[[], str],
        *,
        clock: Callable[[], dt.datetime] | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.bus = bus
        self.aggregator_url = aggregator_url
        self.connection_manager_url = connection_manager_url
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # The symbols the bots trade (the connection manager's market data), else every instrument.
        self.symbols = sorted({b.instrument.symbol for b in config.enabled_bots}) or list(
            config.instruments.symbols
        )
        endpoint = config.global_config.services.manual_trading
        app, self.auth = page_application(api_key, "manual", required_role, MAX_BODY)
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/api/bars", self.bars)
        app.router.add_get("/ws", self.stream)
        app.router.add_post("/api/sltp", self.move_sltp)
        app.router.add_post("/api/flatten", self.flatten)
        self.server = HttpServer(
            app,
            endpoint.host if host is None else host,
            endpoint.port if port is None else port,
            "manual trading",
        )
        self.client = ServiceClient(api_key, "manual trading page")
        self._seq = itertools.count(1)
        self._waiters: dict[str, asyncio.Future[HistoryBars]] = {}
        self._clients: set[asyncio.Queue[bytes]] = set()
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        await self.client.start()
        replies = await self.bus.subscribe(channels.history_replies(SOURCE), group=SOURCE)
        market = await self.bus.subscribe([channels.market_data(s) for s in self.symbols])
        self._subscriptions = [replies, market]
        self._tasks = [
            asyncio.create_task(self._consume_replies(replies), name="manual-history"),
            asyncio.create_task(self._consume_market(market), name="manual-market"),
        ]
        reload_keys_on_sighup()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.close()
        self._tasks, self._subscriptions = [], []
        await self.client.stop()

    # --- the bus ----------------------------------------------------------------------------------

    async def _consume_replies(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, HistoryBars):
                waiter = self._waiters.get(payload.request_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(payload)
            await message.ack()

    async def _consume_market(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, Bar) and payload.timeframe in TIMEFRAMES and self._clients:
                broadcast(self._clients, msgspec.json.encode({"type": "bar", "bar": _bar(payload)}))

    # --- reads ------------------------------------------------------------------------------------

    async def state(self, _request: web.Request) -> web.Response:
        cm, agg = self.connection_manager_url(), self.aggregator_url()
        (_, positions), (_, orders), (_, status) = await asyncio.gather(
            self.client.get(f"{cm}/api/positions"),
            self.client.get(f"{cm}/api/orders"),
            self.client.get(f"{agg}/status"),
        )
        return json_response(
            {
                "symbols": self.symbols,
                "positions": positions.get("positions", []) if isinstance(positions, dict) else [],
                "orders": orders.get("orders", []) if isinstance(orders, dict) else [],
                "tradingState": status.get("tradingState", "UNKNOWN")
                if isinstance(status, dict)
                else "UNKNOWN",
                "why": status.get("why", {}) if isinstance(status, dict) else {},
            }
        )

    async def bars(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "")
        timeframe = request.query.get("timeframe", "1m")
        if symbol not in self.symbols:
            return error_response(400, f"symbol: one of {', '.join(self.symbols)}")
        if timeframe not in TIMEFRAMES:
            return error_response(400, f"timeframe: one of {', '.join(TIMEFRAMES)}")
        end = self.clock()
        request_id = f"{SOURCE}-{next(self._seq)}"
        waiter: asyncio.Future[HistoryBars] = asyncio.get_running_loop().create_future()
        self._waiters[request_id] = waiter
        ask = HistoryRequest(
            request_id=request_id,
            reply_to=SOURCE,
            symbol=symbol,
            start=end - TIMEFRAMES[timeframe],
            end=end,
            timeframe=timeframe,
        )
        try:
            await self.bus.publish(channels.CM_HISTORY, Envelope.wrap(ask, SOURCE))
            answer = await asyncio.wait_for(waiter, HISTORY_TIMEOUT_SECONDS)
        except TimeoutError:
            return error_response(504, "History did not answer in time (is the connection manager up?)")
        finally:
            self._waiters.pop(request_id, None)
        if answer.error is not None:
            return error_response(502, f"History refused: {answer.error}")
        return json_response(
            {"symbol": symbol, "timeframe": timeframe, "bars": [_bar(b) for b in answer.bars]}
        )

    async def stream(self, request: web.Request) -> web.StreamResponse:
        return await stream_queue(request, self.server, self._clients, WS_QUEUE)

    # --- actions ----------------------------------------------------------------------------------

    async def move_sltp(self, request: web.Request) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read(), type=SltpRequest)
        except (msgspec.DecodeError, RecursionError, ValueError) as exc:
            return error_response(400, f"invalid request body: {exc}")
        if body.stop_loss is None and body.take_profit is None:
            return error_response(400, "give stopLoss, takeProfit or both")
        log.info("moving stop/target", symbol=body.symbol, role=request[ROLE_KEY].label)
        return await self.client.post(
            f"{self.connection_manager_url()}/api/position/update-sltp",
            msgspec.to_builtins(body),
            "connection manager",
        )

    async def flatten(self, request: web.Request) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read() or b"{}", type=FlattenRequest)
        except (msgspec.DecodeError, RecursionError, ValueError) as exc:
            return error_response(400, f"invalid request body: {exc}")
        requested = {"requestedBy": f"manual trading ({request[ROLE_KEY].label})", "reason": body.reason}
        return await self.client.post(f"{self.aggregator_url()}/flatten", requested, "aggregator")


def _bar(bar: Bar) -> dict[str, Any]:
    return {
        "symbol": bar.symbol,
        "timeframe": bar.timeframe,
        "time": int(bar.start.timestamp()),
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
    }
