"""The exchange fill model: the data's prints replayed through the simulator's own matching
engine on a paused clock.

``ExchangeBacktest`` is the ``Backtest`` (the same strategy engine, resampler, the bot's order
building and the aggregator's account checks) with the clock and the fills replaced by the
simulator's ``Exchange`` (``tsxbot.sim.exchange.venue``): the very object behind the simulator's
REST endpoints, with its book around the last print, queue position of resting limits, partial
fills against the displayed depth, bracket children activated from the entry's average fill, OCO
siblings, stop triggers, and TopStepX's account rules (daily loss, the 15:10 CT auto-flatten).

A bar is played like this, as on the paused simulator a live bot trades against:

1. the clock moves to the bar's end; the exchange plays every print of the minute, print by print
   (the contract is watched, as a live bot's market-data subscription watches it); working
   orders fill on the way; the prints are also the strategy's order flow;
2. the strategy sees the closed bar (the same ``ClosedBar`` the bars model builds);
3. its orders go to the exchange at that instant (the clock does not move while they are
   placed): a market entry with its bracket in ticks (``tsxbot.connection_manager.commands``'s
   ``brackets``, the connection manager's own translation), a reduce-only market exit, a moved
   stop or target as a modify of the working leg. Once flat, whatever is still working is
   cancelled (as the aggregator cancels a flat bot's orphaned legs).

At the end of the data an open position is closed through the exchange (``closeContract``) at the
last instant; if the market is closed then, at the last bar's close (role ``end of data``).
"""

from __future__ import annotations

import msgspec

from tsxbot.backtest.data import MinuteBars
from tsxbot.backtest.fill_model import FillSettings
from tsxbot.backtest.result import BacktestResult, FillRole
from tsxbot.backtest.runner import Backtest, Progress, strategy_error
from tsxbot.config import Config
from tsxbot.config.instruments import Instruments
from tsxbot.config.loader import BotSettings
from tsxbot.connection_manager.commands import brackets
from tsxbot.gateway.enums import OrderSide, OrderType, TradeLogType
from tsxbot.gateway.models import PlaceOrderRequest
from tsxbot.messages import Side
from tsxbot.sessions import from_ns
from tsxbot.sim.accounts.state import Account, HalfTrade, Position
from tsxbot.sim.clock import SimClock
from tsxbot.sim.contracts import ContractTable
from tsxbot.sim.exchange.orders import SimOrder
from tsxbot.sim.exchange.venue import Exchange
from tsxbot.sim.marketdata.live import ContractMarket
from tsxbot.sim.marketdata.series import MinuteSeries
from tsxbot.sim.marketdata.universe import build_markets
from tsxbot.strategy.bar import BarLike, ClosedBar
from tsxbot.strategy.engine import Outcome
from tsxbot.strategy.signals import MoveStop, MoveTarget

__all__ = ["ExchangeBacktest"]

STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)
BUY_AGGRESSOR = int(TradeLogType.BUY)


class _Desk:
    """The exchange's user events: the fills, in the order the exchange made them."""

    def __init__(self) -> None:
        self.trades: list[HalfTrade] = []

    def order(self, order: SimOrder) -> None:
        pass

    def trade(self, trade: HalfTrade) -> None:
        self.trades.append(trade)

    def position(self, position: Position) -> None:
        pass

    def account(self, account: Account) -> None:
        pass


class _Tape:
    """The exchange's market events: the bot's contract is watched (so it is played print by
    print, as with a live subscription) and its prints kept for the strategy's order flow."""

    def __init__(self, contract_id: str) -> None:
        self.contract_id = contract_id
        self.prints: list[tuple[int, int, int, int]] = []

    def watching(self, contract_id: str) -> bool:
        return contract_id == self.contract_id

    def on_print(self, market: ContractMarket, ns: int, price: int, size: int, side: int) -> None:
        if market.contract.id == self.contract_id:
            self.prints.append((ns, price, size, side))


class ExchangeBacktest(Backtest):
    """``Backtest`` with the simulator's exchange as the fills; ``series`` is the bot symbol's
    market (a recording's ``MinuteSeries``: its prints, or prints made from its bars the way the
    simulator makes them)."""

    # The trades' excursions are the fills' (the matcher's): no bar-by-bar mark here.
    measures_bar_excursions = False

    def __init__(
        self,
        settings: BotSettings,
        config: Config,
        series: MinuteSeries,
        fills: FillSettings | None = None,
        *,
        account_checks: bool = True,
    ) -> None:
        super().__init__(settings, config, fills, account_checks=account_checks)
        self.series = series

    def run(
        self,
        bars: MinuteBars,
        *,
        warmup: MinuteBars | None = None,
        source: str = "",
        progress: Progress | None = None,
    ) -> BacktestResult:
        result = super().run(bars, warmup=warmup, source=source, progress=progress)
        return msgspec.structs.replace(result, fill_model="exchange")

    def _prepare(self, bars: MinuteBars) -> None:
        if len(bars):
            self._open_exchange(int(bars.t[0]))

    def _open_exchange(self, start_ns: int) -> None:
        simulator = msgspec.structs.replace(self.config.global_config.simulator, paused=True, data=None)
        # Only the bot's instrument: no synthetic market is built for the others.
        instruments = Instruments([self.instrument])
        self.clock = SimClock(start_ns, paused=True)
        contracts = ContractTable(
            instruments,
            from_ns(start_ns).date(),
            years_back=simulator.exchange.contract_years_back,
            years_ahead=simulator.exchange.contract_years_ahead,
        )
        markets = build_markets(simulator, contracts, start_ns, {self.symbol: self.series})
        self.exchange = Exchange(simulator, contracts, markets, self.clock)
        self.contract_id = contracts.front[self.symbol].id
        self.desk = _Desk()
        self.tape = _Tape(self.contract_id)
        self.exchange.user = self.desk
        self.exchange.market_events = self.tape
        self.account_id = next(iter(self.exchange.accounts))
        self.exchange.on_clock(start_ns)
        # Exchange order id -> (role, reason, the bot's order id the account checks know it by).
        self.roles: dict[int, tuple[FillRole, str, str]] = {}

    # --- the loop: the exchange plays each minute, then the strategy sees the bar --------------

    def _feed(self, bars: MinuteBars, *, trade: bool, progress: Progress | None) -> None:
        if not trade:  # the warm-up: no orders, the bars as the bars model feeds them
            super()._feed(bars, trade=False, progress=None)
            return
        engine = self.engine
        resampler = self.resampler
        tick = self.tick
        mark = self.risk.on_mark if self.account_checks else None
        for i in range(len(bars)):
            start = int(bars.t[i])
            end = start + bars.duration
            if start >= self._roll_at:
                self._new_day(start)
            self.tape.prints.clear()
            self.clock.advance_to(end - 1)  # the minute's prints, not the next minute's first
            self.exchange.advance(end - 1)
            self._take_fills()
            buy_volume = sell_volume = 0.0
            for ts, price, size, side in self.tape.prints:
                aggressor = 1 if side == BUY_AGGRESSOR else -1
                engine.on_print(ts, price * tick, float(size), aggressor)
                if aggressor > 0:
                    buy_volume += size
                else:
                    sell_volume += size
            close = float(bars.c[i])
            if mark is not None:
                mark(self.symbol, close)
            closed = ClosedBar(
                start=start,
                end=end,
                open=float(bars.o[i]),
                high=float(bars.h[i]),
                low=float(bars.low[i]),
                close=close,
                volume=float(bars.v[i]),
                buy_volume=buy_volume,
                sell_volume=sell_volume,
                trade_count=len(self.tape.prints),
            )
            self.clock.advance_to(end)
            for done in (closed,) if resampler.passthrough else resampler.add(closed):
                try:
                    outcomes = engine.on_bar(done, feed_flow=False)
                except Exception as exc:
                    raise strategy_error(exc, done) from exc
                for outcome in outcomes:
                    self._act(done, outcome)
            if progress is not None:
                progress(1)

    # --- decisions to exchange orders -------------------------------------------------------------

    def _act(self, bar: BarLike, outcome: Outcome) -> None:
        super()._act(bar, outcome)  # the bot's order building and the account checks
        if isinstance(outcome, MoveStop):
            self._modify_legs(outcome.reason.setup, stop=outcome.price)
        elif isinstance(outcome, MoveTarget):
            self._modify_legs(outcome.reason.setup, target=outcome.price)
        orders, self.pending = self.pending, []
        for order in orders:
            sub = order.submission
            buy = sub.side is Side.BUY
            quantity = self._quantity_to_send(order)
            if quantity is None:
                continue
            if sub.reduce_only:
                stop = target = None
            else:
                stop, target = brackets(sub.side, sub.stop_loss_ticks, sub.take_profit_ticks)
            request = PlaceOrderRequest(
                account_id=self.account_id,
                contract_id=self.contract_id,
                type=int(OrderType.MARKET),
                side=int(OrderSide.BID if buy else OrderSide.ASK),
                size=quantity,
                custom_tag=f"{self.bot_id}-{sub.order_id}",
                stop_loss_bracket=stop,
                take_profit_bracket=target,
            )
            placed = self.exchange.place(request)
            if not placed.ok or placed.order_id is None:
                self._refused(f"EXCHANGE_{placed.code}", placed.message or "", bar, order.reason)
                self.risk.on_order_closed(sub.order_id)
                if not sub.reduce_only:
                    self.engine.entry_rejected()
                self.desk.trades.clear()
                continue
            self.roles[placed.order_id] = ("exit" if sub.reduce_only else "entry", order.reason, sub.order_id)
            self._take_fills()

    def _legs(self) -> list[SimOrder]:
        working = self.exchange.working.get(self.contract_id, {})
        return [o for o in working.values() if o.parent_id is not None and o.working]

    def _modify_legs(self, why: str, *, stop: float | None = None, target: float | None = None) -> None:
        for leg in self._legs():
            is_stop = leg.type in STOP_TYPES
            if stop is not None and is_stop:
                self.exchange.modify(self.account_id, leg.id, None, None, stop, None)
                self.roles[leg.id] = ("stop", why, f"stop-{leg.id}")
            elif target is not None and not is_stop and leg.type is OrderType.LIMIT:
                self.exchange.modify(self.account_id, leg.id, None, target, None, None)
        self._take_fills()

    # --- exchange fills to the bot's bookkeeping ----------------------------------------------

    def _take_fills(self) -> None:
        while self.desk.trades:
            trade = self.desk.trades.pop(0)
            order = self.exchange.orders[trade.order_id]
            role, reason, order_id = self._role(order)
            price = trade.price * self.tick
            buy = trade.side is OrderSide.BID
            stop_loss = None
            if role == "entry":
                stop_loss = self._leg_price(order, stop=True)
            self._fill(trade.ns, buy, trade.size, price, role, reason, order_id, stop_loss=stop_loss)
            if role == "entry":
                self._follow_bracket(stop_loss, self._leg_price(order, stop=False))
                self._one_stop_at_exchange()
        if self.engine.ctx.position.flat:
            for leftover in list(self.exchange.working.get(self.contract_id, {}).values()):
                if leftover.working:
                    self.exchange.cancel(self.account_id, leftover.id)
            self.desk.trades.clear()  # a cancel never fills

    def _role(self, order: SimOrder) -> tuple[FillRole, str, str]:
        known = self.roles.get(order.id)
        if order.parent_id is not None:
            if order.type in STOP_TYPES:
                return "stop", "stop" if known is None else known[1], f"stop-{order.id}"
            return "target", "target", f"target-{order.id}"
        if known is not None:
            return known
        return "exit", "exchange (account rule)", f"exchange-{order.id}"

    def _one_stop_at_exchange(self) -> None:
        """After a scale-in, as the bot does: the tightest working stop becomes every stop leg's
        price (one protective stop for the whole position)."""
        managed = self.engine.exits.position
        stops = {leg.stop for leg in self._legs() if leg.type in STOP_TYPES and leg.stop is not None}
        if managed is None or len(stops) < 2:
            return
        tightest = (max(stops) if managed.side == "long" else min(stops)) * self.tick
        managed.stop = tightest
        self._modify_legs("scale-in", stop=tightest)

    def _leg_price(self, parent: SimOrder, *, stop: bool) -> float | None:
        for leg in self.exchange.children_of(parent):
            if (leg.type in STOP_TYPES) == stop:
                ticks = leg.stop if stop else leg.limit
                return None if ticks is None else ticks * self.tick
        return None

    def _close_all(self, ts: int, price: float) -> None:
        end = max(ts, self.clock.now_ns())
        self.clock.advance_to(end)
        closed = self.exchange.close_position(self.account_id, self.contract_id)
        if closed.ok and closed.order_id is not None:
            self.roles[closed.order_id] = ("end of data", "end of data", "end")
            self._take_fills()
        if not self.engine.ctx.position.flat:  # the market is closed at the end: the last close
            super()._close_all(ts, price)
