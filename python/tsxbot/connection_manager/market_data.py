"""Market data from the market hub onto the bus, one channel per symbol: quotes, trades, depth,
and time bars built from the trades (Rust ``BarAggregator``, session-aware, closed on time by
``flush`` when the market goes quiet).

After a reconnect the gap is backfilled from History (one-minute bars) BEFORE any new live
event goes out, so indicators downstream never silently skip a stretch of the market."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from tsxbot.bars import Bar as CoreBar
from tsxbot.bars import BarAggregator, SessionKind, bar_message, calendar_for, timeframe_seconds
from tsxbot.config.instruments import Instruments
from tsxbot.connection_manager.contracts import ContractResolver
from tsxbot.gateway.enums import BarUnit
from tsxbot.gateway.errors import GatewayError
from tsxbot.gateway.hub import HubConnection
from tsxbot.gateway.normalize import Normalizer
from tsxbot.gateway.payloads import market_rows
from tsxbot.gateway.rest import ProjectXRest
from tsxbot.log import get_logger
from tsxbot.messages import Aggressor, Bar, HistoryBars, HistoryRequest, channels
from tsxbot.messages.channels import Channel
from tsxbot.messages.payload import Payload, Scalar
from tsxbot.sessions import from_ns, to_ns

Publish = Callable[[Channel, Payload, dict[str, Scalar] | None], Awaitable[None]]
MARKET_EVENTS = ["GatewayQuote", "GatewayTrade", "GatewayDepth"]
# Live events kept while a gap is backfilled (each is one hub message, usually a few rows).
MAX_HELD_EVENTS = 50_000
log = get_logger("tsxbot.connection_manager.market_data")


class MarketDataFeed:
    def __init__(
        self,
        rest: ProjectXRest,
        contracts: ContractResolver,
        instruments: Instruments,
        normalizer: Normalizer,
        publish: Publish,
        symbols: list[str],
        *,
        depth: bool = True,
        live: bool = False,
        bar_timeframes: tuple[str, ...] = ("1m",),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.rest = rest
        self.contracts = contracts
        self.instruments = instruments
        self.normalizer = normalizer
        self.publish = publish
        self.symbols = list(dict.fromkeys(symbols))
        self.depth = depth
        self.live = live
        self.clock = clock
        self._last_event: dict[str, dt.datetime] = {}
        self._calendars = {s: calendar_for(instruments.get(s)) for s in self.symbols}
        self._bars: dict[str, list[tuple[str, BarAggregator]]] = {
            s: [
                (tf, BarAggregator(self._calendars[s], timeframe_seconds(tf), SessionKind.ETH))
                for tf in bar_timeframes
            ]
            for s in self.symbols
        }
        self._holding = False
        self._held: list[tuple[str, list[Any]]] = []
        self._published_until: dict[tuple[str, str], dt.datetime] = {}
        self._repair_until: dict[tuple[str, str], int] = {}
        self.events = 0
        self.held_dropped = 0
        self.bars = 0
        self.backfilled_bars = 0

    @property
    def contract_ids(self) -> list[str]:
        return [self.contracts.contract_id(s) for s in self.symbols]

    async def subscribe(self, hub: HubConnection) -> None:
        for contract_id in self.contract_ids:
            await hub.subscribe("SubscribeContractQuotes", contract_id)
            await hub.subscribe("SubscribeContractTrades", contract_id)
            if self.depth:
                await hub.subscribe("SubscribeContractMarketDepth", contract_id)

    def in_session(self) -> bool:
        """Whether any subscribed market is open now (silence then means a dead feed)."""
        now_ns = to_ns(self.clock())
        return any(c.trading_date(now_ns, SessionKind.ETH) is not None for c in self._calendars.values())

    async def flush_bars(self) -> None:
        """Closes bars whose time is up in a quiet market (call about once a second)."""
        if self._holding:
            return  # the forming bars are missing trades until the gap is repaired
        now_ns = to_ns(self.clock())
        for symbol, aggregators in self._bars.items():
            for timeframe, aggregator in aggregators:
                bar = aggregator.flush(now_ns)
                if bar is not None:
                    await self._bar_done(symbol, timeframe, bar)

    async def _bar_done(self, symbol: str, timeframe: str, bar: CoreBar) -> None:
        """A bar the aggregator closed. The first one after an outage started mid-bar (its early
        trades were missed): History's bar for that interval goes out instead."""
        key = (symbol, timeframe)
        repair_until = self._repair_until.get(key)
        if repair_until is not None and bar.start < repair_until:
            del self._repair_until[key]
            if await self._publish_history(
                symbol, timeframe, from_ns(bar.start), from_ns(bar.end), "repaired"
            ):
                return
            log.warning(
                "History has no bar for the interval after the outage; the live bar is incomplete",
                symbol=symbol,
                timeframe=timeframe,
                start=from_ns(bar.start).isoformat(),
            )
            message = bar_message(bar, symbol, timeframe, contract_id=self.contracts.contract_id(symbol))
            await self.publish(channels.market_data(symbol), message, {"partial": True})
            return
        self.bars += 1
        self._published_until[key] = from_ns(bar.end)
        contract = self.contracts.contract_id(symbol)
        await self.publish(
            channels.market_data(symbol), bar_message(bar, symbol, timeframe, contract_id=contract), None
        )

    async def on_event(self, target: str, arguments: list[Any]) -> None:
        if self._holding:
            if len(self._held) >= MAX_HELD_EVENTS:
                # Bounded: past this, the oldest quote or depth update goes (a later one supersedes
                # it); trades are kept while any quote or depth is left to drop, as they build bars.
                victim = next((i for i, (t, _) in enumerate(self._held) if t != "GatewayTrade"), 0)
                del self._held[victim]
                self.held_dropped += 1
            self._held.append((target, arguments))
            return
        await self._forward(target, arguments)

    async def _forward(self, target: str, arguments: list[Any]) -> None:
        contract_id, rows = market_rows(arguments)
        if contract_id is None or not rows:
            return
        symbol = self.normalizer.symbol_of(contract_id)
        if symbol is None:
            return
        now = self.clock()
        channel = channels.market_data(symbol)
        self.events += 1
        if target == "GatewayQuote":
            for row in rows:
                quote = self.normalizer.quote(contract_id, row, now)
                self._last_event[contract_id] = quote.timestamp
                await self.publish(channel, quote, None)
        elif target == "GatewayTrade":
            for trade in self.normalizer.trades(contract_id, rows, now):
                self._last_event[contract_id] = trade.timestamp
                await self.publish(channel, trade, None)
                ts_ns = to_ns(trade.timestamp)
                side = (
                    1 if trade.aggressor is Aggressor.BUY else -1 if trade.aggressor is Aggressor.SELL else 0
                )
                for timeframe, aggregator in self._bars.get(symbol, ()):
                    bar = aggregator.update(ts_ns, trade.price, float(trade.size), side)
                    if bar is not None:
                        await self._bar_done(symbol, timeframe, bar)
        elif target == "GatewayDepth":
            await self.publish(channel, self.normalizer.depth(contract_id, rows, now), None)

    async def on_disconnected(self, _reason: str) -> None:
        """From here until the gap is backfilled, live events wait (in order)."""
        self._holding = True

    async def on_connected(self, first: bool) -> None:
        if first and not self._holding:
            return
        try:
            for symbol in self.symbols:
                await self._backfill(symbol)
        finally:
            held, self._held = self._held, []
            self._holding = False
            for target, arguments in held:
                await self._forward(target, arguments)

    async def _backfill(self, symbol: str) -> None:
        """Publishes History's bars for the outage: from the start of the bar that was forming
        when the feed dropped (discarded: it missed trades) to the last whole bar before now. The
        bar in progress now is repaired from History once it closes."""
        now = self.clock()
        now_ns = to_ns(now)
        for timeframe, aggregator in self._bars[symbol]:
            forming = aggregator.current
            key = (symbol, timeframe)
            if forming is not None:
                start = from_ns(forming.start)
            elif key in self._published_until:
                start = self._published_until[key]
            else:
                contract_id = self.contracts.contract_id(symbol)
                last = self._last_event.get(contract_id)
                if last is None:
                    continue  # nothing was seen before the outage: nothing to continue from
                step = timeframe_seconds(timeframe)
                start = from_ns(to_ns(last) // (step * 1_000_000_000) * step * 1_000_000_000)
            aggregator.reset()
            step_ns = timeframe_seconds(timeframe) * 1_000_000_000
            self._repair_until[key] = (now_ns // step_ns + 1) * step_ns
            await self._publish_history(symbol, timeframe, start, now, "backfill")

    async def _publish_history(
        self, symbol: str, timeframe: str, start: dt.datetime, end: dt.datetime, flag: str
    ) -> bool:
        """History's whole bars in [start, end); True if any went out."""
        unit, number = HISTORY_UNITS[timeframe[-1]], int(timeframe[:-1])
        length = dt.timedelta(seconds=timeframe_seconds(timeframe))
        if end - start < length:
            return False
        contract_id = self.contracts.contract_id(symbol)
        try:
            bars = await self.rest.retrieve_bars(contract_id, start, end, unit, number, live=self.live)
        except GatewayError as exc:
            log.error("gap backfill failed; downstream sees a gap", symbol=symbol, error=str(exc))
            return False
        channel = channels.market_data(symbol)
        sent = 0
        for bar in bars:
            if bar.t < start or bar.t + length > end:
                continue  # only whole bars inside the window
            await self.publish(
                channel,
                Bar(
                    symbol=symbol,
                    timeframe=timeframe,
                    start=bar.t,
                    end=bar.t + length,
                    open=bar.o,
                    high=bar.h,
                    low=bar.l,
                    close=bar.c,
                    volume=bar.v,
                    contract_id=contract_id,
                    complete=True,
                ),
                {flag: True},
            )
            self._published_until[(symbol, timeframe)] = bar.t + length
            self.backfilled_bars += 1
            sent += 1
        log.info(
            "bars published from History",
            symbol=symbol,
            timeframe=timeframe,
            reason=flag,
            start=start.isoformat(),
            bars=sent,
        )
        return sent > 0

    async def history(self, request: HistoryRequest) -> HistoryBars:
        """Answers a ``HistoryRequest``: History's whole bars in [start, end), oldest first (at
        most ProjectX's 20 000 a call: the newest, when the window holds more)."""
        symbol = request.symbol
        if symbol not in self.instruments:
            return HistoryBars(
                request_id=request.request_id, symbol=symbol, error=f"unknown symbol {symbol!r}"
            )
        try:
            seconds = timeframe_seconds(request.timeframe)
            unit, number = HISTORY_UNITS[request.timeframe[-1]], int(request.timeframe[:-1])
        except (ValueError, KeyError):
            return HistoryBars(
                request_id=request.request_id,
                symbol=symbol,
                error=f"unknown timeframe {request.timeframe!r} (e.g. 1m, 5m, 1h)",
            )
        if request.end <= request.start:
            return HistoryBars(
                request_id=request.request_id, symbol=symbol, error="the window's end is not after its start"
            )
        length = dt.timedelta(seconds=seconds)
        try:
            contract_id = self.contracts.contract_id(symbol)
            rows = await self.rest.retrieve_bars(
                contract_id, request.start, request.end, unit, number, live=self.live
            )
        except (GatewayError, KeyError, ValueError) as exc:
            return HistoryBars(request_id=request.request_id, symbol=symbol, error=f"History failed: {exc}")
        bars = [
            Bar(
                symbol=symbol,
                timeframe=request.timeframe,
                start=row.t,
                end=row.t + length,
                open=row.o,
                high=row.h,
                low=row.l,
                close=row.c,
                volume=row.v,
                contract_id=contract_id,
            )
            for row in rows
            if row.t >= request.start and row.t + length <= request.end
        ]
        return HistoryBars(request_id=request.request_id, symbol=symbol, bars=bars)


# History's AggregateBarUnit for a timeframe's unit letter.
HISTORY_UNITS = {"s": BarUnit.SECOND, "m": BarUnit.MINUTE, "h": BarUnit.HOUR, "d": BarUnit.DAY}
