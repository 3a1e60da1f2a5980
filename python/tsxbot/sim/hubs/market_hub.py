"""``/hubs/market``: SubscribeContractQuotes / Trades / MarketDepth (and Unsubscribe*), pushing
GatewayQuote / GatewayTrade / GatewayDepth with two arguments ``(contractId, data)``.

- A quote carries every field (or only what changed, with ``partialQuotes``); a subscription
  gets the current quote at once.
- Trades and depth are arrays. A depth subscription starts with a Reset row (type 6) and a
  snapshot of the book; after that each print sends the levels that changed (volume 0 removes
  a level) and a Trade row (type 5). ``volume`` and ``currentVolume`` both hold the level's size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tsxbot.config.simulator import HubSettings, WireSettings
from tsxbot.gateway.enums import DomType
from tsxbot.sim.contracts import Contract
from tsxbot.sim.faults.state import FaultState
from tsxbot.sim.hubs import protocol
from tsxbot.sim.hubs.connection import HubConnection, Topic
from tsxbot.sim.hubs.endpoint import HubEndpoint
from tsxbot.sim.marketdata.live import ContractMarket
from tsxbot.sim.tokens import TokenStore
from tsxbot.sim.wire.models import DepthModel, MarketTradeModel
from tsxbot.sim.wire.timestamps import TimestampStyle

# Topics are named by the hub method that subscribes to them.
QUOTES, TRADES, DEPTH = "SubscribeContractQuotes", "SubscribeContractTrades", "SubscribeContractMarketDepth"
Book = tuple[dict[int, int], dict[int, int]]
MarketLookup = Callable[[str], ContractMarket | None]


class MarketHub(HubEndpoint):
    def __init__(
        self,
        settings: HubSettings,
        wire: WireSettings,
        tokens: TokenStore,
        faults: FaultState,
        market_for: MarketLookup,
    ) -> None:
        super().__init__("market", settings, tokens, faults)
        self.times = TimestampStyle(wire.timestamps)
        self.partial_quotes = settings.partial_quotes
        self.market_for = market_for
        self._books: dict[str, Book] = {}
        self._last_quote: dict[tuple[str, HubConnection | None], dict[str, Any]] = {}
        self._watch: dict[str, int] = {}
        self._prefix: dict[tuple[str, str], bytes] = {}
        for method in (QUOTES, TRADES, DEPTH):
            self.method(method, 1, self._subscriber(method, True))
            self.method(f"Un{method[0].lower()}{method[1:]}", 1, self._subscriber(method, False))

    def _subscriber(self, kind: str, on: bool) -> Callable[[HubConnection, list[Any]], None]:
        def handle(conn: HubConnection, args: list[Any]) -> None:
            contract_id = args[0]
            if not isinstance(contract_id, str):
                raise TypeError("contractId must be a string")
            topic = Topic(kind, contract_id)
            if on:
                if topic in conn.subscriptions:
                    return
                self.subscribe(conn, topic)
                self._watch[contract_id] = self._watch.get(contract_id, 0) + 1
                market = self.market_for(contract_id)
                if market is not None:
                    self._greet(conn, kind, market)
            elif topic in conn.subscriptions:
                self.unsubscribe(conn, topic)
                self._unwatch(contract_id)

        return handle

    def _unwatch(self, contract_id: str) -> None:
        left = self._watch.get(contract_id, 0) - 1
        if left <= 0:
            self._watch.pop(contract_id, None)
            self._books.pop(contract_id, None)
        else:
            self._watch[contract_id] = left

    def _drop(self, conn: HubConnection) -> None:
        for topic in list(conn.subscriptions):
            if topic.arg is not None:
                self._unwatch(str(topic.arg))
        super()._drop(conn)

    def _greet(self, conn: HubConnection, kind: str, market: ContractMarket) -> None:
        """What a new subscriber gets at once: the current quote, or the book snapshot."""
        if market.last is None:
            return
        cid = market.contract.id
        if kind == QUOTES:
            conn.send(self._record("GatewayQuote", cid, protocol.encode(self._quote(market, market.last_ns))))
        elif kind == DEPTH:
            book = self._books.get(cid)
            if book is None:
                book = self._books[cid] = self._book_of(market)
            ts = self.times.format(market.last_ns, "hub")
            rows = [DepthModel(ts, int(DomType.RESET), 0.0, 0, 0)]
            rows += self._rows(market.contract, ts, {}, book[0], DomType.BID)
            rows += self._rows(market.contract, ts, {}, book[1], DomType.ASK)
            conn.send(self._record("GatewayDepth", cid, protocol.encode(rows)))

    # --- MarketEvents --------------------------------------------------------------------------
    def watching(self, contract_id: str) -> bool:
        return contract_id in self._watch

    def on_print(self, market: ContractMarket, ns: int, price: int, size: int, side: int) -> None:
        cid = market.contract.id
        if cid not in self._watch:
            return
        contract = market.contract
        ts = self.times.format(ns, "hub")
        quote_subs = self.subscribers(Topic(QUOTES, cid))
        if quote_subs:
            quote = self._quote(market, ns)
            if self.partial_quotes:
                previous = self._last_quote.get((cid, None), {})
                self._last_quote[(cid, None)] = quote
                payload: Any = {k: v for k, v in quote.items() if previous.get(k) != v or k == "symbol"}
            else:
                payload = quote
            self.publish(
                quote_subs, "GatewayQuote", self._record("GatewayQuote", cid, protocol.encode(payload))
            )
        trade_subs = self.subscribers(Topic(TRADES, cid))
        if trade_subs:
            trade = MarketTradeModel(contract.symbol_id, contract.price(price), ts, side, size)
            self.publish(
                trade_subs, "GatewayTrade", self._record("GatewayTrade", cid, protocol.encode([trade]))
            )
        depth_subs = self.subscribers(Topic(DEPTH, cid))
        if depth_subs:
            old = self._books.get(cid) or ({}, {})
            new = self._books[cid] = self._book_of(market)
            rows = [DepthModel(ts, int(DomType.TRADE), contract.price(price), size, size)]
            rows += self._rows(contract, ts, old[0], new[0], DomType.BID)
            rows += self._rows(contract, ts, old[1], new[1], DomType.ASK)
            self.publish(depth_subs, "GatewayDepth", self._record("GatewayDepth", cid, protocol.encode(rows)))

    # --- building payloads ---------------------------------------------------------------------
    def _record(self, target: str, contract_id: str, data: bytes) -> bytes:
        prefix = self._prefix.get((target, contract_id))
        if prefix is None:
            prefix = self._prefix[(target, contract_id)] = (
                protocol.invocation_prefix(target) + protocol.encode(contract_id) + b","
            )
        return prefix + data + protocol.SUFFIX

    def _quote(self, market: ContractMarket, ns: int) -> dict[str, Any]:
        c = market.contract
        last = market.last or 0
        prev = market.prev_close or last
        ts = self.times.format(ns, "hub")
        change = c.price(last) - c.price(prev)
        return {
            "symbol": c.symbol_id,
            "symbolName": f"/{c.symbol}",  # documented as unused
            "lastPrice": c.price(last),
            "bestBid": c.price(market.bid if market.bid is not None else last),
            "bestAsk": c.price(market.ask if market.ask is not None else last),
            "change": round(change, 9),
            "changePercent": round(change / c.price(prev) * 100.0, 4) if prev else 0.0,
            "open": c.price(market.open),
            "high": c.price(market.high),
            "low": c.price(market.low),
            "volume": market.volume,
            "lastUpdated": ts,
            "timestamp": ts,
        }

    @staticmethod
    def _book_of(market: ContractMarket) -> Book:
        bids, asks = market.book()
        return dict(bids), dict(asks)

    @staticmethod
    def _rows(
        contract: Contract, ts: str, old: dict[int, int], new: dict[int, int], dom: DomType
    ) -> list[DepthModel]:
        rows = [DepthModel(ts, int(dom), contract.price(p), s, s) for p, s in new.items() if old.get(p) != s]
        rows += [DepthModel(ts, int(dom), contract.price(p), 0, 0) for p in old if p not in new]
        return rows
