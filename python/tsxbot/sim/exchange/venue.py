"""The exchange behind the REST endpoints: accounts, orders, brackets, fills, positions, P&L and
TopStepX's account rules, over one live market per front-month contract.

Every method returns the endpoint's own error code (see ``codes.py``); nothing here knows HTTP.
Deterministic: with the clock paused or racing, the same orders at the same simulated instants
give the same fills.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from tsxbot.config.simulator import SimulatorConfig
from tsxbot.gateway.enums import (
    CancelOrderErrorCode,
    ClosePositionErrorCode,
    ModifyOrderErrorCode,
    OrderSide,
    OrderStatus,
    OrderType,
    PartialClosePositionErrorCode,
    PlaceOrderErrorCode,
)
from tsxbot.gateway.models import PlaceOrderRequest
from tsxbot.sim.accounts.state import Account, Breach, HalfTrade, Position
from tsxbot.sim.clock import SimClock
from tsxbot.sim.contracts import Contract, ContractTable
from tsxbot.sim.events import MarketEvents, NoMarketEvents, NoUserEvents, UserEvents
from tsxbot.sim.exchange import matching
from tsxbot.sim.exchange.hours import TradingHours
from tsxbot.sim.exchange.orders import BracketSpec, SimOrder, opposite, side_sign
from tsxbot.sim.marketdata.live import ContractMarket
from tsxbot.ticks import TickArithmeticError

MAX_TRAIL_TICKS = 1000


@dataclass(frozen=True)
class Result:
    code: int
    message: str | None = None
    order_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0


class Rejection(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Exchange:
    def __init__(
        self,
        config: SimulatorConfig,
        contracts: ContractTable,
        markets: dict[str, ContractMarket],
        clock: SimClock,
    ) -> None:
        self.config = config
        self.settings = config.exchange
        self.contracts = contracts
        self.markets = markets
        self.clock = clock
        self.accounts: dict[int, Account] = {a.id: Account.from_config(a) for a in config.accounts}
        self.orders: dict[int, SimOrder] = {}
        self.working: dict[str, dict[int, SimOrder]] = {c: {} for c in markets}
        self._playing: set[str] = set()  # markets played print by print up to their cursor
        self.user: UserEvents = NoUserEvents()
        self.market_events: MarketEvents = NoMarketEvents()
        self._next_order = self.settings.first_order_id
        self._next_trade = 1_000_001
        self._next_position = 5_001
        reference = next(iter(markets.values()))
        self._calendar = reference.calendar
        self.hours = TradingHours(reference.calendar, self.settings)
        self._trading_date: dt.date | None = None
        self._flattened_on: dt.date | None = None
        self.fills = 0

    # --- the market ----------------------------------------------------------------------------
    def busy(self, contract_id: str) -> bool:
        """True when the market must be played print by print (orders, positions, watchers)."""
        if self.working.get(contract_id):
            return True
        if self.market_events.watching(contract_id):
            return True
        return any(contract_id in a.positions for a in self.accounts.values())

    def market_at(self, contract_id: str, ns: int) -> ContractMarket:
        """The contract's market brought up to ``ns``: played print by print while it is busy,
        jumped while it is idle (a market that just became busy starts from ``ns``, so a new
        subscriber never gets a burst of old prints)."""
        market = self.markets[contract_id]
        behind = market.cursor_ns < ns
        if not self.busy(contract_id):
            self._playing.discard(contract_id)
            if behind:
                market.jump_to(ns)
        elif contract_id in self._playing:
            if behind:
                market.advance(ns, self._on_print)
        else:
            if behind:
                market.jump_to(ns)
            self._playing.add(contract_id)
        return market

    def advance(self, ns: int) -> int:
        """Plays every busy market up to ``ns`` and runs the clock's duties; returns prints."""
        count = 0
        for contract_id, market in self.markets.items():
            if self.busy(contract_id):
                if contract_id in self._playing:
                    count += market.advance(ns, self._on_print)
                else:
                    market.jump_to(ns)
                    self._playing.add(contract_id)
            else:
                self._playing.discard(contract_id)
        self.on_clock(ns)
        return count

    def last_prices(self) -> dict[str, int]:
        return {cid: m.last for cid, m in self.markets.items() if m.last is not None}

    def _on_print(self, market: ContractMarket, ns: int, price: int, size: int, side: int) -> None:
        self.market_events.on_print(market, ns, price, size, side)
        contract_id = market.contract.id
        working = self.working.get(contract_id)
        if working:
            for order in list(working.values()):
                if order.status is not OrderStatus.OPEN:
                    continue
                was_stop = order.stop
                fills = matching.on_print(order, market, price, size, side)
                if order.type is OrderType.TRAILING_STOP and order.stop != was_stop and not fills:
                    order.updated_ns = ns
                    self.user.order(order)
                for qty, fill_price in fills:
                    self._fill(order, qty, fill_price, ns)
        for account in self.accounts.values():
            if contract_id in account.positions:
                self._check_loss_rules(account, ns)

    # --- session duties ------------------------------------------------------------------------
    def on_clock(self, ns: int) -> None:
        session = self._calendar.session_at(ns)
        upcoming = session or self._calendar.next_session(ns)
        if self._trading_date is None:
            self._trading_date = upcoming.trading_date
        elif upcoming.trading_date != self._trading_date:
            self._trading_date = upcoming.trading_date
            for account in self.accounts.values():
                account.end_of_day()
        for account in self.accounts.values():
            if account.blocked_until_ns is not None and ns >= account.blocked_until_ns:
                account.blocked_until_ns = None
                if account.breach in (Breach.DAILY_LOSS, Breach.POSITION_LIMIT):
                    account.breach = None
                    account.can_trade = True
                    self.user.account(account)
        if session is None or self._flattened_on == session.trading_date:
            return
        flatten_ns = self.hours.flatten_ns(session)
        if flatten_ns is not None and ns >= flatten_ns:
            self._flattened_on = session.trading_date
            for account in self.accounts.values():
                self._liquidate(account, ns)

    def _next_open(self, ns: int) -> int:
        session = self._calendar.session_at(ns)
        if session is not None:
            return self._calendar.next_session(session.close_ns).open_ns
        return self._calendar.next_session(ns).open_ns

    # --- orders --------------------------------------------------------------------------------
    def _new_order_id(self) -> int:
        order_id = self._next_order
        self._next_order += 1
        return order_id

    def _to_ticks(self, contract: Contract, price: float, what: str = "price") -> int:
        try:
            if not contract.ticks.is_on_tick(price):
                raise Rejection(f"Invalid {what}. Price is not aligned to tick size.")
            return contract.ticks.to_ticks(price)
        except TickArithmeticError:
            raise Rejection(f"Invalid {what}.") from None

    def place(self, request: PlaceOrderRequest) -> Result:
        account = self.accounts.get(request.account_id)
        if account is None:
            return Result(PlaceOrderErrorCode.ACCOUNT_NOT_FOUND)
        contract = self.contracts.get(request.contract_id)
        if contract is None:
            return Result(PlaceOrderErrorCode.CONTRACT_NOT_FOUND)
        if not contract.active or contract.id not in self.markets:
            return Result(PlaceOrderErrorCode.CONTRACT_NOT_ACTIVE)
        if not account.can_trade or account.breach is not None:
            return Result(PlaceOrderErrorCode.ACCOUNT_VIOLATION, "The account is not allowed to trade.")
        ns = self.clock.now_ns()
        market = self.market_at(contract.id, ns)
        if not market.is_open(ns) or self.hours.after_flatten(ns):
            return Result(PlaceOrderErrorCode.OUTSIDE_TRADING_HOURS, self.hours.refusal(ns))
        if request.custom_tag is not None and request.custom_tag in account.tags:
            return Result(PlaceOrderErrorCode.ORDER_REJECTED, "An order with this custom tag already exists.")
        order = SimOrder(
            self._new_order_id(),
            account.id,
            contract,
            OrderType.UNKNOWN,
            OrderSide.BID,
            request.size,
            ns,
            custom_tag=request.custom_tag,
        )
        try:
            self._validate(order, request, account, market)
        except Rejection as rejection:
            order.status = OrderStatus.REJECTED
            self._record(account, order)
            self.user.order(order)
            return Result(PlaceOrderErrorCode.ORDER_REJECTED, rejection.message, order.id)
        self._record(account, order)
        if order.custom_tag is not None:
            account.tags[order.custom_tag] = order.id
        self.user.order(order)
        if request.stop_loss_bracket is not None or request.take_profit_bracket is not None:
            self._create_children(order, account)
        self._work(order, market, ns)
        return Result(PlaceOrderErrorCode.SUCCESS, None, order.id)

    def _record(self, account: Account, order: SimOrder) -> None:
        self.orders[order.id] = order
        account.order_ids.append(order.id)

    def _validate(
        self, order: SimOrder, request: PlaceOrderRequest, account: Account, market: ContractMarket
    ) -> None:
        try:
            order_type = OrderType(request.type)
        except ValueError:
            raise Rejection("Invalid order type.") from None
        if order_type is OrderType.UNKNOWN or (
            order_type is OrderType.STOP_LIMIT and not self.settings.allow_stop_limit
        ):
            raise Rejection("Invalid order type.")
        order.type = order_type
        try:
            order.side = OrderSide(request.side)
        except ValueError:
            raise Rejection("Invalid order side.") from None
        if request.size <= 0:
            raise Rejection("Invalid order size.")
        contract = order.contract
        last = market.last
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            if request.limit_price is None:
                raise Rejection("Limit price is required.")
            order.limit = self._to_ticks(contract, request.limit_price)
            _check_sign(contract, order.limit, "limit price")
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            if request.stop_price is None:
                raise Rejection("Stop price is required.")
            order.stop = self._to_ticks(contract, request.stop_price)
            _check_sign(contract, order.stop, "stop price")
            if last is not None and (order.stop <= last if order.is_buy else order.stop >= last):
                side = "above" if order.is_buy else "below"
                raise Rejection(f"Invalid stop price. The stop price must be {side} the market price.")
        if order_type is OrderType.TRAILING_STOP:
            if request.trail_price is None:
                raise Rejection("Trail Distance not set.")
            trail = self._to_ticks(contract, request.trail_price, "trail price")
            _check_sign(contract, trail, "trail price")
            if last is None:
                raise Rejection("Cannot trail without a last price")
            distance = abs(last - trail)
            if distance == 0:
                raise Rejection("Trail Distance not set.")
            if distance > MAX_TRAIL_TICKS:
                raise Rejection(f"Trail Distance exceeds maximum ({MAX_TRAIL_TICKS})")
            order.trail_ticks = distance
        if order_type in (OrderType.JOIN_BID, OrderType.JOIN_ASK):
            best = market.bid if order_type is OrderType.JOIN_BID else market.ask
            if best is None:
                raise Rejection("Invalid symbol")
            order.limit = best
        if order_type is OrderType.MARKET and market.bid is None:
            raise Rejection("Invalid symbol")
        order.size = request.size
        if request.stop_loss_bracket is not None or request.take_profit_bracket is not None:
            if account.bracket_mode != "autoOco":
                raise Rejection(
                    "Brackets cannot be used with Position Brackets. You must enable Auto OCO Brackets."
                )
            self._check_bracket_signs(order, request)
            self._check_bracket_prices(order, market)
        limit = account.config.max_contracts
        if limit is not None and self._exposure_after(account, order) > limit + 1e-9:
            raise Rejection(f"Order would exceed the maximum position size of {limit:g} contracts.")

    @staticmethod
    def _check_bracket_signs(order: SimOrder, request: PlaceOrderRequest) -> None:
        long = order.is_buy
        going = "long" if long else "short"
        if request.stop_loss_bracket is not None:
            ticks = request.stop_loss_bracket.ticks
            if (ticks >= 0) if long else (ticks <= 0):
                rule = "less than zero" if long else "greater than zero"
                raise Rejection(
                    f"Invalid stop loss ticks ({ticks}). Ticks should be {rule} when going {going}."
                )
            order.bracket_sl = BracketSpec(
                ticks, _bracket_type(request.stop_loss_bracket.type, OrderType.STOP)
            )
        if request.take_profit_bracket is not None:
            ticks = request.take_profit_bracket.ticks
            if (ticks <= 0) if long else (ticks >= 0):
                rule = "greater than zero" if long else "less than zero"
                raise Rejection(
                    f"Invalid take profit ticks ({ticks}). Ticks should be {rule} when going {going}."
                )
            order.bracket_tp = BracketSpec(
                ticks, _bracket_type(request.take_profit_bracket.type, OrderType.LIMIT)
            )

    @staticmethod
    def _check_bracket_prices(order: SimOrder, market: ContractMarket) -> None:
        """A bracket leg's price is the entry's plus its ticks: refused when it would be zero or
        less on an instrument that cannot trade there. The entry is the order's own price, or
        the market's for a market or join order (the fill can differ by a few ticks)."""
        contract = order.contract
        if contract.instrument.allows_negative_prices:
            return
        entry = order.stop if order.type in (OrderType.STOP, OrderType.TRAILING_STOP) else order.limit
        if entry is None:
            entry = market.ask if order.is_buy else market.bid
        if entry is None:
            entry = market.last
        if entry is None:
            return  # no price yet: checked again when the leg is activated
        for leg, spec in (("stop loss", order.bracket_sl), ("take profit", order.bracket_tp)):
            if spec is None or spec.type is OrderType.TRAILING_STOP:
                continue
            price = entry + spec.ticks
            if price <= 0:
                raise Rejection(
                    f"Invalid {leg} ticks ({spec.ticks}): the {leg} would be at {contract.price(price):g}, "
                    f"and {contract.id} cannot trade at or below zero."
                )

    def _exposure_after(self, account: Account, order: SimOrder) -> float:
        """Mini-equivalents the account could hold if this order and every working order on the
        same side of the same contract filled."""
        weight = order.contract.instrument.mini_equivalent
        position = account.positions.get(order.contract.id)
        net = position.net if position else 0
        pending = sum(
            o.remaining * side_sign(o.side)
            for o in self.working.get(order.contract.id, {}).values()
            if o.account_id == account.id and o.side is order.side and o.parent_id is None
        )
        projected = abs(net + pending + order.size * side_sign(order.side))
        others = account.mini_exposure() - abs(net) * weight
        return others + projected * weight

    def _create_children(self, parent: SimOrder, account: Account) -> None:
        children: list[SimOrder] = []
        for spec in (parent.bracket_sl, parent.bracket_tp):
            if spec is None:
                continue
            child = SimOrder(
                self._new_order_id(),
                account.id,
                parent.contract,
                spec.type,
                opposite(parent.side),
                parent.size,
                parent.created_ns,
                status=OrderStatus.SUSPENDED,
            )
            child.parent_id = parent.id
            child.leg = spec
            children.append(child)
        if len(children) == 2:
            children[0].linked_id, children[1].linked_id = children[1].id, children[0].id
        for child in children:
            self._record(account, child)
            self.working[parent.contract.id][child.id] = child
            self.user.order(child)

    def children_of(self, parent: SimOrder) -> list[SimOrder]:
        return [
            o
            for o in self.working.get(parent.contract.id, {}).values()
            if o.parent_id == parent.id and o.working
        ]

    def _work(self, order: SimOrder, market: ContractMarket, ns: int) -> None:
        """Puts an accepted order to work: immediate fills, then it rests. The market (brought
        to ``ns`` just before) is played print by print from here on."""
        self.working[order.contract.id][order.id] = order
        self._playing.add(order.contract.id)
        if order.type is OrderType.TRAILING_STOP and market.last is not None and order.water is None:
            matching.start_trailing(order, market.last)
        for qty, price in matching.enter(order, market):
            self._fill(order, qty, price, ns)

    def _fill(self, order: SimOrder, qty: int, price: int, ns: int) -> None:
        if qty <= 0 or not order.working:
            return
        qty = min(qty, order.remaining)
        account = self.accounts[order.account_id]
        contract = order.contract
        order.fill_volume += qty
        order.fill_notional += qty * price
        order.updated_ns = ns
        if order.remaining == 0:
            order.status = OrderStatus.FILLED
            self.working[contract.id].pop(order.id, None)
        self.fills += 1
        position = account.positions.get(contract.id)
        if position is None:
            position = Position(self._next_position, account.id, contract, ns)
            self._next_position += 1
            account.positions[contract.id] = position
        fee_rate = self.settings.fees.get(contract.symbol, self.settings.fee_per_side)
        commission_rate = self.settings.commission_per_side
        for leg_qty, pnl in position.apply(order.side, qty, price):
            fees = round(fee_rate * leg_qty, 4)
            commissions = round(commission_rate * leg_qty, 4)
            trade = HalfTrade(
                id=self._next_trade,
                account_id=account.id,
                contract=contract,
                ns=ns,
                price=price,
                pnl=pnl,
                fees=fees,
                side=order.side,
                size=leg_qty,
                order_id=order.id,
                commissions=commissions,
            )
            self._next_trade += 1
            account.trades.append(trade)
            account.balance = round(account.balance + (pnl or 0.0) - fees - commissions, 2)
            self.user.trade(trade)
        self.user.order(order)
        self.user.position(position)
        if position.net == 0:
            del account.positions[contract.id]
        self.user.account(account)
        self._after_fill(order, qty, ns)
        limit = account.config.max_contracts
        if limit is not None and account.mini_exposure() > limit + 1e-9:
            self._breach(account, Breach.POSITION_LIMIT, ns)
        else:
            self._check_loss_rules(account, ns)

    def _after_fill(self, order: SimOrder, qty: int, ns: int) -> None:
        """Brackets: a parent's fill activates (or grows) its children; a child's fill shrinks
        or cancels its OCO sibling."""
        if order.parent_id is None and (order.bracket_sl is not None or order.bracket_tp is not None):
            market = self.markets[order.contract.id]
            avg = order.avg_fill_ticks or 0.0
            for child in self.children_of(order):
                spec = child.leg
                assert spec is not None
                child.size = order.fill_volume
                if child.status is OrderStatus.SUSPENDED:
                    self._activate(child, spec, round(avg), market, ns)
                else:
                    child.updated_ns = ns
                    self.user.order(child)
            return
        if order.linked_id is not None:
            sibling = self.orders.get(order.linked_id)
            if sibling is not None and sibling.working:
                if order.status is OrderStatus.FILLED or sibling.remaining <= qty:
                    self._cancel(sibling, ns)
                else:
                    sibling.size -= qty
                    sibling.updated_ns = ns
                    self.user.order(sibling)

    def _activate(
        self, child: SimOrder, spec: BracketSpec, entry: int, market: ContractMarket, ns: int
    ) -> None:
        if not child.price_fixed:
            price = entry + spec.ticks
            if (
                price <= 0
                and child.type is not OrderType.TRAILING_STOP
                and not child.contract.instrument.allows_negative_prices
            ):
                # Placement checked this against the price then; the fill moved it below zero.
                child.status = OrderStatus.REJECTED
                child.updated_ns = ns
                self.working[child.contract.id].pop(child.id, None)
                self.user.order(child)
                return
            if child.type is OrderType.LIMIT:
                child.limit = price
            elif child.type is OrderType.TRAILING_STOP:
                child.trail_ticks = abs(spec.ticks)
            else:
                child.stop = price
                if child.type is OrderType.STOP_LIMIT:
                    child.limit = price
        child.status = OrderStatus.OPEN
        child.updated_ns = ns
        self.user.order(child)
        if child.type is OrderType.TRAILING_STOP and market.last is not None:
            matching.start_trailing(child, market.last)
        if (
            child.type in (OrderType.STOP, OrderType.STOP_LIMIT)
            and market.last is not None
            and child.stop is not None
        ):
            through = market.last >= child.stop if child.is_buy else market.last <= child.stop
            if through:
                child.triggered = True
        for qty, price in matching.enter(child, market):
            self._fill(child, qty, price, ns)

    # --- modify / cancel -----------------------------------------------------------------------
    def modify(
        self,
        account_id: int,
        order_id: int,
        size: int | None,
        limit_price: float | None,
        stop_price: float | None,
        trail_price: float | None,
    ) -> Result:
        account = self.accounts.get(account_id)
        if account is None:
            return Result(ModifyOrderErrorCode.ACCOUNT_NOT_FOUND)
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            return Result(ModifyOrderErrorCode.ORDER_NOT_FOUND)
        if not order.working:
            return Result(ModifyOrderErrorCode.REJECTED, "The order is not working.")
        ns = self.clock.now_ns()
        market = self.market_at(order.contract.id, ns)
        contract = order.contract
        try:
            new_limit = self._to_ticks(contract, limit_price) if limit_price is not None else None
            new_stop = self._to_ticks(contract, stop_price) if stop_price is not None else None
            if new_limit is not None:
                _check_sign(contract, new_limit, "limit price")
            if new_stop is not None:
                _check_sign(contract, new_stop, "stop price")
            if trail_price is not None:
                _check_sign(contract, self._to_ticks(contract, trail_price, "trail price"), "trail price")
                if market.last is None:
                    raise Rejection("Cannot trail without a last price")
        except Rejection as rejection:
            return Result(ModifyOrderErrorCode.REJECTED, rejection.message)
        if size is not None and (size <= 0 or size < order.fill_volume):
            return Result(ModifyOrderErrorCode.REJECTED, "Invalid order size.")
        limit = account.config.max_contracts
        if size is not None and size > order.size and order.parent_id is None and limit is not None:
            # As at placement: the grown order (with the rest working on its side) must fit.
            extra = SimOrder(0, account_id, contract, order.type, order.side, size - order.size, ns)
            if self._exposure_after(account, extra) > limit + 1e-9:
                return Result(
                    ModifyOrderErrorCode.REJECTED,
                    f"Order would exceed the maximum position size of {limit:g} contracts.",
                )
        if size is not None:
            order.size = size
        if new_limit is not None and order.type in (
            OrderType.LIMIT,
            OrderType.STOP_LIMIT,
            OrderType.JOIN_BID,
            OrderType.JOIN_ASK,
        ):
            order.limit = new_limit
            order.price_fixed = True
        if new_stop is not None and order.type in (OrderType.STOP, OrderType.STOP_LIMIT):
            order.stop = new_stop
            order.price_fixed = True
        if trail_price is not None and order.type is OrderType.TRAILING_STOP and market.last is not None:
            order.trail_ticks = abs(market.last - contract.ticks.to_ticks(trail_price))
            matching.start_trailing(order, market.last)
        order.updated_ns = ns
        if order.remaining == 0:
            order.status = OrderStatus.FILLED
            self.working[contract.id].pop(order.id, None)
        self.user.order(order)
        if order.status is OrderStatus.OPEN:
            if order.type in (OrderType.STOP, OrderType.STOP_LIMIT) and not order.triggered and order.stop:
                last = market.last
                if last is not None and (last >= order.stop if order.is_buy else last <= order.stop):
                    order.triggered = True
            for qty, price in matching.enter(order, market):
                self._fill(order, qty, price, ns)
        return Result(ModifyOrderErrorCode.SUCCESS)

    def cancel(self, account_id: int, order_id: int) -> Result:
        account = self.accounts.get(account_id)
        if account is None:
            return Result(CancelOrderErrorCode.ACCOUNT_NOT_FOUND)
        if not account.config.simulated:
            return Result(CancelOrderErrorCode.ACCOUNT_REJECTED, "Live accounts not supported")
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            return Result(CancelOrderErrorCode.ORDER_NOT_FOUND)
        if not order.working:
            return Result(CancelOrderErrorCode.REJECTED, "The order is not working.")
        ns = self.clock.now_ns()
        self.market_at(order.contract.id, ns)
        self._cancel(order, ns)
        return Result(CancelOrderErrorCode.SUCCESS)

    def _cancel(self, order: SimOrder, ns: int) -> None:
        if not order.working:
            return
        order.status = OrderStatus.CANCELLED
        order.updated_ns = ns
        self.working[order.contract.id].pop(order.id, None)
        self.user.order(order)
        if order.fill_volume == 0:
            for child in self.children_of(order):
                self._cancel(child, ns)

    # --- positions -----------------------------------------------------------------------------
    def close_position(self, account_id: int, contract_id: str, size: int | None = None) -> Result:
        """closeContract (``size`` None) or partialCloseContract, with each one's own codes."""
        partial = size is not None
        c = PartialClosePositionErrorCode if partial else ClosePositionErrorCode
        account = self.accounts.get(account_id)
        if account is None:
            return Result(c.ACCOUNT_NOT_FOUND)
        if not account.config.simulated:
            return Result(c.ACCOUNT_REJECTED, "Live accounts not supported")
        contract = self.contracts.get(contract_id)
        if contract is None:
            return Result(c.CONTRACT_NOT_FOUND)
        if not contract.active or contract.id not in self.markets:
            return Result(c.CONTRACT_NOT_ACTIVE)
        position = account.positions.get(contract.id)
        if position is None or position.net == 0:
            return Result(c.POSITION_NOT_FOUND)
        if size is not None and (size <= 0 or size > abs(position.net)):
            return Result(PartialClosePositionErrorCode.INVALID_CLOSE_SIZE)
        ns = self.clock.now_ns()
        market = self.market_at(contract.id, ns)
        if not market.is_open(ns) or market.bid is None:
            return Result(c.ORDER_REJECTED)
        qty = abs(position.net) if size is None else size
        order = self._market_order(
            account, contract, OrderSide.ASK if position.net > 0 else OrderSide.BID, qty, ns
        )
        if not partial and self.settings.close_cancels_brackets:
            for other in list(self.working[contract.id].values()):
                if other.account_id == account.id and (other.parent_id is not None or other.linked_id):
                    self._cancel(other, ns)
        self._work(order, market, ns)
        return Result(c.SUCCESS, None, order.id)

    def _market_order(
        self, account: Account, contract: Contract, side: OrderSide, qty: int, ns: int
    ) -> SimOrder:
        order = SimOrder(self._new_order_id(), account.id, contract, OrderType.MARKET, side, qty, ns)
        self._record(account, order)
        self.user.order(order)
        return order

    # --- account rules -------------------------------------------------------------------------
    def _check_loss_rules(self, account: Account, ns: int) -> None:
        if account.breach is not None:
            return
        cfg = account.config
        if account.max_loss_level is None and cfg.daily_loss_limit is None:
            return
        equity = account.balance + account.open_pnl(self.last_prices())
        if account.max_loss_level is not None and equity <= account.max_loss_level:
            self._breach(account, Breach.MAX_LOSS, ns)
        elif cfg.daily_loss_limit is not None and equity - account.day_start_balance <= -cfg.daily_loss_limit:
            self._breach(account, Breach.DAILY_LOSS, ns)

    def _breach(self, account: Account, breach: Breach, ns: int) -> None:
        account.breach = breach
        account.can_trade = False
        if breach is not Breach.MAX_LOSS and breach is not Breach.ADMIN:
            account.blocked_until_ns = self._next_open(ns)
        self.user.account(account)
        self._liquidate(account, ns)

    def _liquidate(self, account: Account, ns: int) -> None:
        """Cancels every working order of the account and flattens every position at market."""
        for orders in self.working.values():
            for order in list(orders.values()):
                if order.account_id == account.id and order.parent_id is None:
                    self._cancel(order, ns)
        for orders in self.working.values():
            for order in list(orders.values()):
                if order.account_id == account.id:
                    self._cancel(order, ns)
        for contract_id, position in list(account.positions.items()):
            if position.net == 0:
                continue
            market = self.market_at(contract_id, ns)
            side = OrderSide.ASK if position.net > 0 else OrderSide.BID
            order = self._market_order(account, position.contract, side, abs(position.net), ns)
            if market.bid is None:
                order.status = OrderStatus.REJECTED
                self.user.order(order)
                continue
            self._work(order, market, ns)

    def set_account(
        self,
        account_id: int,
        *,
        balance: float | None = None,
        can_trade: bool | None = None,
        bracket_mode: str | None = None,
    ) -> Account | None:
        account = self.accounts.get(account_id)
        if account is None:
            return None
        if balance is not None:
            account.balance = balance
        if can_trade is not None:
            account.can_trade = can_trade
            account.breach = None if can_trade else Breach.ADMIN
            account.blocked_until_ns = None
        if bracket_mode is not None:
            account.bracket_mode = bracket_mode
        self.user.account(account)
        return account

    # --- searches ------------------------------------------------------------------------------
    def account_orders(self, account: Account) -> Iterable[SimOrder]:
        return (self.orders[i] for i in account.order_ids)


def _check_sign(contract: Contract, ticks: int, what: str) -> None:
    """Refuses a price of zero or less on an instrument that cannot trade there
    (``allowsNegativePrices`` in the instruments table; crude oil can)."""
    if ticks <= 0 and not contract.instrument.allows_negative_prices:
        raise Rejection(
            f"Invalid {what} ({contract.price(ticks):g}). {contract.id} cannot trade at or below zero."
        )


def _bracket_type(value: int, default: OrderType) -> OrderType:
    try:
        chosen = OrderType(value)
    except ValueError:
        return default
    if chosen in (OrderType.UNKNOWN, OrderType.MARKET, OrderType.JOIN_ASK, OrderType.JOIN_BID):
        return default
    return chosen
