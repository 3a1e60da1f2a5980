"""The manual trading page's server. Reads: the connection manager's positions and working
orders, candles from its History (over the bus) and live bars from the bus. Actions go through
the services' own APIs with the internal key, after the person's role is checked (a trader's):
moving a stop or target (the connection manager's ``/api/position/update-sltp``) and flatten all
(the aggregator's ``/flatten``). Orders from the ticket go on the bus to the aggregator as bot
``manual`` (its risk check, its refusal's typed reason shown).

Every bot's position and working orders are actionable, each through the path that keeps it that
bot's: closing or partly closing a bot's position is a reduce-only market order submitted to the
aggregator on that bot's behalf (the envelope's source, as the bot itself sends; the fill, its
P&L and the resize of its stop and target are the aggregator's for that bot, and the bot follows
the fill); moving a strategy bot's stop or target is an ``UpdateStopLossTakeProfit`` sent to the
aggregator as that bot (only its protective orders move). Cancelling or modifying a working order
of the manual bot goes to the connection manager's ``/command``. Refused, with the reason: reversing
a strategy bot's position (an entry its strategy did not decide), cancelling a strategy bot's
order (its stop or target protects its position: move it or close the position; its entry is its
strategy's: pause the bot) and modifying a strategy bot's entry (no aggregator path for it)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import secrets
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from aiohttp import web

from tsxbot.aggregator.registry import MANUAL_BOT
from tsxbot.bus import MessageBus, Subscription
from tsxbot.bus.history import HistoryReplies
from tsxbot.config import Config
from tsxbot.config.secrets import Secret
from tsxbot.log import get_logger
from tsxbot.manual_trading.ticket import (
    Distance,
    Plan,
    Ticket,
    TicketError,
    Unit,
    closing,
    plan,
    submission,
)
from tsxbot.messages import (
    Bar,
    CancelOrder,
    Envelope,
    HistoryRequest,
    ModifyOrder,
    OrderSubmission,
    OrderUpdate,
    Quote,
    RiskRejection,
    UpdateStopLossTakeProfit,
    channels,
)
from tsxbot.messages.enums import MessageType
from tsxbot.messages.payload import MAX_ORDER_QUANTITY
from tsxbot.runtime.auth import ROLE_KEY, SAFE_METHODS, Role
from tsxbot.runtime.http import BAD_BODY, broadcast, decode_body, error_response, json_response, stream_queue
from tsxbot.web.service import PageService, PageSpec

log = get_logger("tsxbot.manual_trading")
SOURCE = "manual-trading"
TIMEFRAMES = {"1m": dt.timedelta(days=2), "5m": dt.timedelta(days=7)}
HISTORY_TIMEOUT_SECONDS = 15.0
MAX_BODY = 16 * 1024
WS_QUEUE = 256
ORDER_TIMEOUT_SECONDS = 15.0


class SltpRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    stop_loss: Annotated[float, msgspec.Meta(gt=0)] | None = None
    take_profit: Annotated[float, msgspec.Meta(gt=0)] | None = None


class FlattenRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


BotId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CloseRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    # None: the whole position; else a partial close of this many contracts.
    quantity: Annotated[int, msgspec.Meta(gt=0, le=MAX_ORDER_QUANTITY)] | None = None
    # Whose position: closed on that bot's behalf, so it stays that bot's.
    bot_id: BotId = MANUAL_BOT


class ReverseRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Close the manual bot's position and open the same size the other way, with this bracket."""

    symbol: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    stop: Distance
    target: Distance | None = None
    unit: Unit = Unit.TICKS
    bot_id: BotId = MANUAL_BOT


class WorkingOrderRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    exchange_order_id: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    # Modify only: the new limit or stop price (the size is not changed here: a bigger order
    # would skip the aggregator's risk check).
    limit_price: Annotated[float, msgspec.Meta(gt=0, lt=1e9)] | None = None
    stop_price: Annotated[float, msgspec.Meta(gt=0, lt=1e9)] | None = None


def required_role(request: web.Request) -> Role:
    return Role.VIEWER if request.method in SAFE_METHODS else Role.TRADER


class ManualTrading(PageService):
    name = "manual-trading"
    spec = PageSpec(
        "manual", "manual trading", lambda services: services.manual_trading, required_role, MAX_BODY
    )

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
        super().__init__(config, api_key, aggregator_url, connection_manager_url, host=host, port=port)
        self.bus = bus
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # The symbols the bots trade (the connection manager's market data), else every instrument.
        self.symbols = sorted({b.instrument.symbol for b in config.enabled_bots}) or list(
            config.instruments.symbols
        )
        app = self.app
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/api/bars", self.bars)
        app.router.add_get("/ws", self.stream)
        app.router.add_post("/api/sltp", self.move_sltp)
        app.router.add_post("/api/flatten", self.flatten)
        app.router.add_post("/api/preview", self.preview)
        app.router.add_post("/api/order", self.order)
        app.router.add_post("/api/close", self.close)
        app.router.add_post("/api/reverse", self.reverse)
        app.router.add_post("/api/cancel", self.cancel)
        app.router.add_post("/api/modify", self.modify)
        self._seq = itertools.count(1)
        self._history = HistoryReplies()
        # Every bot the page may act for: the configured ones and ``manual``.
        self.bots = sorted({b.id for b in config.enabled_bots} | {MANUAL_BOT})
        # Orders sent (as any bot) waiting for the aggregator's answer (accepted or refused).
        self._orders: dict[str, asyncio.Future[RiskRejection | OrderUpdate]] = {}
        self._last: dict[str, float] = {}
        self._clients: set[asyncio.Queue[bytes]] = set()
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start_feeds(self) -> None:
        replies = await self.bus.subscribe(channels.history_replies(SOURCE), group=SOURCE)
        market = await self.bus.subscribe([channels.market_data(s) for s in self.symbols])
        answers = await self.bus.subscribe([channels.bot_orders(b) for b in self.bots], group=SOURCE)
        self._subscriptions = [replies, market, answers]
        self._tasks = [
            asyncio.create_task(self._history.consume(replies), name="manual-history"),
            asyncio.create_task(self._consume_market(market), name="manual-market"),
            asyncio.create_task(self._consume_answers(answers), name="manual-answers"),
        ]

    async def stop_feeds(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.close()
        self._tasks, self._subscriptions = [], []

    # --- the bus ----------------------------------------------------------------------------------

    async def _consume_market(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, Quote) and payload.last is not None:
                self._last[payload.symbol] = payload.last
            elif isinstance(payload, Bar) and payload.timeframe in TIMEFRAMES:
                self._last.setdefault(payload.symbol, payload.close)
                if self._clients:
                    broadcast(self._clients, msgspec.json.encode({"type": "bar", "bar": _bar(payload)}))

    async def _consume_answers(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            if isinstance(payload, RiskRejection | OrderUpdate) and payload.order_id is not None:
                waiter = self._orders.get(payload.order_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(payload)
            await message.ack()

    # --- reads ------------------------------------------------------------------------------------

    async def state(self, _request: web.Request) -> web.Response:
        cm, agg = self.connection_manager_url(), self.aggregator_url()
        (_, positions), (_, orders), (_, status), (_, shares) = await asyncio.gather(
            self.client.get(f"{cm}/api/positions"),
            self.client.get(f"{cm}/api/orders"),
            self.client.get(f"{agg}/status"),
            self.client.get(f"{agg}/positions"),
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
                "manual": _holdings(shares, MANUAL_BOT),
                # Every bot's share of each position (the aggregator's attribution), to act on.
                "perBot": _per_bot(shares),
            }
        )

    async def _publish_history(self, ask: HistoryRequest) -> None:
        await self.bus.publish(channels.CM_HISTORY, Envelope.wrap(ask, SOURCE))

    async def bars(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "")
        timeframe = request.query.get("timeframe", "1m")
        if symbol not in self.symbols:
            return error_response(400, f"symbol: one of {', '.join(self.symbols)}")
        if timeframe not in TIMEFRAMES:
            return error_response(400, f"timeframe: one of {', '.join(TIMEFRAMES)}")
        end = self.clock()
        request_id = f"{SOURCE}-{next(self._seq)}"
        ask = HistoryRequest(
            request_id=request_id,
            reply_to=SOURCE,
            symbol=symbol,
            start=end - TIMEFRAMES[timeframe],
            end=end,
            timeframe=timeframe,
        )
        try:
            answer = await self._history.ask(ask, self._publish_history, HISTORY_TIMEOUT_SECONDS)
        except TimeoutError:
            return error_response(504, "History did not answer in time (is the connection manager up?)")
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
            body = decode_body(await request.read(), SltpRequest)
        except BAD_BODY as exc:
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
            body = decode_body(await request.read() or b"{}", FlattenRequest)
        except BAD_BODY as exc:
            return error_response(400, f"invalid request body: {exc}")
        requested = {"requestedBy": f"manual trading ({request[ROLE_KEY].label})", "reason": body.reason}
        return await self.client.post(f"{self.aggregator_url()}/flatten", requested, "aggregator")

    # --- the order ticket -------------------------------------------------------------------------

    async def _ticket(self, request: web.Request) -> tuple[Ticket, Plan] | str:
        """The ticket and its plan, or what is wrong with it."""
        try:
            ticket = decode_body(await request.read(), Ticket)
        except BAD_BODY as exc:
            return f"invalid ticket: {exc}"
        if ticket.symbol not in self.config.instruments:
            return f"symbol: unknown {ticket.symbol!r}"
        try:
            bracket = plan(ticket, self.config.instruments.get(ticket.symbol), self._last.get(ticket.symbol))
        except TicketError as exc:
            return str(exc)
        return ticket, bracket

    async def preview(self, request: web.Request) -> web.Response:
        """The ticket checked and planned, sending nothing: 200 either way (a check's answer; the
        page previews while the person types, and a 4xx would be a console error each keystroke),
        ``ok`` false with the error naming the field."""
        checked = await self._ticket(request)
        if isinstance(checked, str):
            return json_response({"ok": False, "error": checked})
        return json_response({"ok": True, "plan": msgspec.to_builtins(checked[1])})

    async def order(self, request: web.Request) -> web.Response:
        checked = await self._ticket(request)
        if isinstance(checked, str):
            return error_response(400, checked)
        ticket, bracket = checked
        sent = submission(ticket, bracket, _order_id())
        log.info("manual order", order_id=sent.order_id, symbol=ticket.symbol, role=request[ROLE_KEY].label)
        return await self._submit(sent, {"plan": msgspec.to_builtins(bracket)})

    async def close(self, request: web.Request) -> web.Response:
        try:
            body = decode_body(await request.read(), CloseRequest)
        except BAD_BODY as exc:
            return error_response(400, f"invalid request body: {exc}")
        if body.bot_id not in self.bots:
            return error_response(404, f"unknown bot {body.bot_id!r}: one of {', '.join(self.bots)}")
        held = await self._held(body.bot_id, body.symbol)
        if held is None:
            return error_response(503, "the aggregator did not give its positions: nothing was done")
        try:
            sent = closing(body.symbol, held, body.quantity, _order_id(), body.bot_id)
        except TicketError as exc:
            return error_response(409, str(exc))
        log.info(
            "manual close",
            bot=body.bot_id,
            symbol=body.symbol,
            quantity=sent.quantity,
            role=request[ROLE_KEY].label,
        )
        return await self._submit(sent, {"botId": body.bot_id}, body.bot_id)

    async def reverse(self, request: web.Request) -> web.Response:
        try:
            body = decode_body(await request.read(), ReverseRequest)
        except BAD_BODY as exc:
            return error_response(400, f"invalid request body: {exc}")
        if body.bot_id != MANUAL_BOT:
            why = (
                f"reverse opens a new position: only {MANUAL_BOT}'s can be reversed here; "
                f"{body.bot_id}'s entries are its strategy's (close its position instead)"
            )
            return error_response(409, why)
        if body.symbol not in self.config.instruments:
            return error_response(400, f"symbol: unknown {body.symbol!r}")
        held = await self._held(MANUAL_BOT, body.symbol)
        if held is None:
            return error_response(503, "the aggregator did not give its positions: nothing was done")
        try:
            close = closing(body.symbol, held, None, _order_id())
            ticket = Ticket(
                body.symbol, close.side, abs(held), stop=body.stop, target=body.target, unit=body.unit
            )
            bracket = plan(ticket, self.config.instruments.get(body.symbol), self._last.get(body.symbol))
        except TicketError as exc:
            return error_response(409, str(exc))
        log.info("manual reverse", symbol=body.symbol, held=held, role=request[ROLE_KEY].label)
        closed = await self._submit(close, {})
        if closed.status != 200:
            return closed
        # The close is accepted: the entry the other way, with its own bracket.
        return await self._submit(
            submission(ticket, bracket, _order_id()), {"plan": msgspec.to_builtins(bracket)}
        )

    async def _held(self, bot_id: str, symbol: str) -> int | None:
        """``bot_id``'s position in ``symbol`` as the aggregator attributes it."""
        status, shares = await self.client.get(f"{self.aggregator_url()}/positions")
        if status != 200:
            return None
        return _holdings(shares, bot_id).get(symbol, 0)

    async def _submit(
        self, sent: OrderSubmission, extra: dict[str, Any], bot_id: str = MANUAL_BOT
    ) -> web.Response:
        """Send ``sent`` to the aggregator as ``bot_id`` and wait for its answer."""
        waiter: asyncio.Future[RiskRejection | OrderUpdate] = asyncio.get_running_loop().create_future()
        self._orders[sent.order_id] = waiter
        try:
            await self.bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(sent, bot_id))
            answer = await asyncio.wait_for(waiter, ORDER_TIMEOUT_SECONDS)
        except TimeoutError:
            return error_response(
                504, f"order {sent.order_id} sent; no answer yet from the aggregator (see working orders)"
            )
        finally:
            self._orders.pop(sent.order_id, None)
        if isinstance(answer, RiskRejection):
            return json_response(
                {
                    "error": f"refused: {answer.reason.value}: {answer.message}",
                    "reason": answer.reason.value,
                    "stage": answer.stage.value,
                    "orderId": sent.order_id,
                    **extra,
                },
                422,
            )
        return json_response({"orderId": sent.order_id, "status": answer.status.value, **extra})

    # --- working orders ---------------------------------------------------------------------------

    async def cancel(self, request: web.Request) -> web.Response:
        return await self._working(request, cancel=True)

    async def modify(self, request: web.Request) -> web.Response:
        return await self._working(request, cancel=False)

    async def _working(self, request: web.Request, *, cancel: bool) -> web.Response:
        try:
            body = decode_body(await request.read(), WorkingOrderRequest)
        except BAD_BODY as exc:
            return error_response(400, f"invalid request body: {exc}")
        if not cancel and body.limit_price is None and body.stop_price is None:
            return error_response(400, "give limitPrice, stopPrice or both")
        cm = self.connection_manager_url()
        status, orders = await self.client.get(f"{cm}/api/orders")
        if status != 200 or not isinstance(orders, dict):
            return error_response(503, "the connection manager did not give its orders: nothing was done")
        found = next(
            (o for o in orders.get("orders", []) if o.get("exchangeOrderId") == body.exchange_order_id), None
        )
        if found is None:
            return error_response(404, f"no working order {body.exchange_order_id}")
        if (owner := found.get("botId")) != MANUAL_BOT:
            if not isinstance(owner, str) or owner not in self.bots:
                why = f"order {body.exchange_order_id} is no bot's here ({owner}): flatten all to close it"
                return error_response(403, why)
            return await self._strategy_order(request, body, found, owner, cancel=cancel)
        command_id = f"manual-{secrets.token_hex(6)}"
        payload: CancelOrder | ModifyOrder = (
            CancelOrder(command_id=command_id, exchange_order_id=body.exchange_order_id)
            if cancel
            else ModifyOrder(
                command_id=command_id,
                exchange_order_id=body.exchange_order_id,
                limit_price=body.limit_price,
                stop_price=body.stop_price,
            )
        )
        kind = MessageType.CANCEL_ORDER if cancel else MessageType.MODIFY_ORDER
        log.info(
            "manual working order",
            command=kind.value,
            order=body.exchange_order_id,
            role=request[ROLE_KEY].label,
        )
        return await self.client.post(
            f"{cm}/command",
            {"type": kind.value, "payload": msgspec.to_builtins(payload)},
            "connection manager",
        )

    async def _strategy_order(
        self,
        request: web.Request,
        body: WorkingOrderRequest,
        found: dict[str, Any],
        owner: str,
        *,
        cancel: bool,
    ) -> web.Response:
        """A strategy bot's working order: its stop or target moves through the aggregator, as
        that bot's ``UpdateStopLossTakeProfit`` (its protective orders only); the rest is refused
        with the reason."""
        order = body.exchange_order_id
        protective = found.get("orderId") is None  # a bracket leg: no order id of the bot's own
        if cancel:
            if protective:
                why = f"order {order} protects {owner}'s position: move it, or close the position"
            else:
                why = f"order {order} is {owner}'s entry (its strategy's): pause or stop the bot in the panel"
            return error_response(409, why)
        if not protective:
            return error_response(
                409, f"order {order} is {owner}'s entry: only its stop or target can move here"
            )
        is_stop = found.get("stopPrice") is not None
        price = body.stop_price if is_stop else body.limit_price
        if price is None:
            wanted = "stop: give stopPrice" if is_stop else "target: give limitPrice"
            return error_response(400, f"order {order} is {owner}'s {wanted}")
        symbol = str(found.get("symbol") or "")
        move = UpdateStopLossTakeProfit(
            command_id=f"manual-{secrets.token_hex(6)}",
            symbol=symbol,
            stop_loss=price if is_stop else None,
            take_profit=None if is_stop else price,
            bot_id=owner,
        )
        try:
            await self.bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(move, owner))
        except Exception as exc:  # the bus is down: say so, nothing was sent
            return error_response(
                503, f"the bus did not take the change ({type(exc).__name__}): nothing was sent"
            )
        log.info(
            "strategy bot's stop/target moved",
            bot=owner,
            order=order,
            stop=move.stop_loss,
            target=move.take_profit,
            role=request[ROLE_KEY].label,
        )
        return json_response(
            {"botId": owner, "commandId": move.command_id, "status": "sent to the aggregator as " + owner},
            202,
        )


def _per_bot(shares: Any) -> list[dict[str, Any]]:
    """The open per-bot rows of the aggregator's ``/positions``."""
    rows = shares.get("perBot", []) if isinstance(shares, dict) else []
    return [r for r in rows if isinstance(r, dict) and isinstance(r.get("quantity"), int) and r["quantity"]]


def _holdings(shares: Any, bot_id: str) -> dict[str, int]:
    """``bot_id``'s position per symbol, from the aggregator's ``/positions``."""
    held: dict[str, int] = {}
    for p in _per_bot(shares):
        if p.get("botId") == bot_id:
            held[str(p.get("symbol"))] = held.get(str(p.get("symbol")), 0) + p["quantity"]
    return {s: q for s, q in held.items() if q}


def _order_id() -> str:
    """Unique across restarts too (the aggregator handles a repeated id once)."""
    return f"m{secrets.token_hex(6)}"


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
