"""The risk engine against a plain-Python reference of every documented check."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsxbot.config import load_config
from tsxbot.messages import OrderSubmission, Side, enums
from tsxbot.risk import (
    BotLimits,
    DrawdownMode,
    InstrumentSpec,
    OrderRequest,
    RiskEngine,
    RiskInputError,
    RiskLimits,
    RiskReason,
    TradingState,
    bot_limits_from_config,
    instrument_spec,
    limits_from_config,
    message_reason,
    order_from_submission,
)
from tsxbot.sessions import to_ns

# symbol: (tick, point value, mini-equivalent in thousandths, margin)
SPECS = {"ES": ("0.25", 50.0, 1000, 500.0), "MES": ("0.25", 5.0, 100, 50.0), "MGC": ("0.1", 10.0, 100, 100.0)}
PRICE = {"ES": 5000.0, "MES": 5000.0, "MGC": 2000.0}


def test_every_engine_reason_is_a_bus_reason_with_the_same_name() -> None:
    engine_names = {name for name in dir(RiskReason) if name.isupper()}
    assert len(engine_names) == 29
    assert engine_names <= {r.name for r in enums.RiskReason}
    for name in engine_names:
        reason = getattr(RiskReason, name)
        assert reason.value == name
        assert message_reason(reason) is enums.RiskReason[name]
    # Bus reasons the engine never gives: bot-level signal counting, the exchange's own refusals,
    # and the aggregator's own (its bot registry, kill switch, queue and correlation groups).
    assert {r.name for r in enums.RiskReason} - engine_names == {
        "MAX_SIGNALS_PER_DAY",
        "EXCHANGE_REJECTED",
        "UNKNOWN_BOT",
        "BOT_PAUSED",
        "QUEUE_FULL",
        "QUEUE_EXPIRED",
        "CORRELATION_LIMIT",
        "MALFORMED_SUBMISSION",
    }


@dataclass
class Params:
    max_order_size: int
    max_open_milli: int
    max_per_symbol: int
    concentration: float
    daily_loss: float
    daily_profit: float | None
    drawdown: float
    intraday: bool
    margin: float | None
    bot_max: int | None
    max_risk_points: float | None
    min_rr: float | None
    require_stop: bool


@dataclass
class Reference:
    """The documented checks, written again in plain Python."""

    p: Params
    state: str = "ACTIVE"
    positions: dict[str, tuple[int, float]] = field(default_factory=lambda: dict.fromkeys(SPECS, (0, 0.0)))
    # Per bot and symbol: the net position and the working [buys, sells].
    bot_positions: dict[tuple[str, str], int] = field(default_factory=dict)
    bot_pending: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    balance: float = 50_000.0
    peak: float = 50_000.0
    day_start: float = 50_000.0
    # Working orders: id -> (bot, symbol, side index 0 buy / 1 sell, remaining).
    working: dict[str, tuple[str, str, int, int]] = field(default_factory=dict)
    pending: dict[str, list[int]] = field(default_factory=lambda: {s: [0, 0] for s in SPECS})

    def worst(self, symbol: str, pending: Sequence[int] | None = None) -> int:
        q = self.positions[symbol][0]
        b, s = pending if pending is not None else self.pending[symbol]
        return max(abs(q + b), abs(q - s))

    def bot_pending_of(self, bot: str, symbol: str) -> list[int]:
        return self.bot_pending.setdefault((bot, symbol), [0, 0])

    def release(self, order_id: str, quantity: int) -> int:
        bot, symbol, side, remaining = self.working[order_id]
        taken = min(quantity, remaining)
        self.pending[symbol][side] -= taken
        self.bot_pending_of(bot, symbol)[side] -= taken
        if remaining == taken:
            del self.working[order_id]
        else:
            self.working[order_id] = (bot, symbol, side, remaining - taken)
        return taken

    def open_pnl(self) -> float:
        return sum(
            (self.marks[s] - avg) * q * SPECS[s][1]
            for s, (q, avg) in self.positions.items()
            if q and s in self.marks
        )

    def equity(self) -> float:
        return self.balance + self.open_pnl()

    def fill(self, symbol: str, signed: int, price: float, bot: str = "bot") -> None:
        q, avg = self.positions[symbol]
        pv = SPECS[symbol][1]
        if q == 0 or (q > 0) == (signed > 0):
            new = q + signed
            avg = (avg * abs(q) + price * abs(signed)) / abs(new)
            self.positions[symbol] = (new, avg)
        else:
            closed = min(abs(signed), abs(q))
            self.balance += (price - avg) * closed * (1 if q > 0 else -1) * pv
            new = q + signed
            self.positions[symbol] = (new, 0.0 if new == 0 else (price if (new > 0) != (q > 0) else avg))
        self.bot_positions[bot, symbol] = self.bot_positions.get((bot, symbol), 0) + signed
        self.mark(symbol, price)

    def mark(self, symbol: str, price: float) -> None:
        self.marks[symbol] = price
        if self.p.intraday:
            self.peak = max(self.peak, self.equity())

    def ticks(self, symbol: str, price: float) -> int | str:
        if not (math.isfinite(price) and price > 0):
            return "INVALID_PRICE"
        ratio = Decimal(repr(price)) / Decimal(SPECS[symbol][0])
        if ratio != ratio.to_integral_value():
            return "PRICE_OFF_TICK"
        return int(ratio)

    def check(
        self,
        bot: str,
        symbol: str,
        side: int,
        qty: int,
        price: float | None,
        sl: float | None,
        tp: float | None,
        reduce_only: bool,
        order_id: str | None = None,
    ) -> str | None:
        p = self.p
        if self.state == "HALTED":
            return "TRADING_HALTED"
        if qty <= 0:
            return "INVALID_QUANTITY"
        if qty > p.max_order_size:
            return "MAX_ORDER_SIZE"
        if symbol not in SPECS:
            return "UNKNOWN_SYMBOL"
        parsed = {}
        for name, value in (("price", price), ("sl", sl), ("tp", tp)):
            if value is not None:
                t = self.ticks(symbol, value)
                if isinstance(t, str):
                    return t
                parsed[name] = t
        if order_id is not None and order_id in self.working:
            return "DUPLICATE_ORDER"
        ix = 0 if side > 0 else 1
        # An exit: the BOT's own position moves toward zero without crossing it, with this
        # order and every working order of the bot on its side filled. The account's net
        # position and other bots' orders decide nothing.
        bot_old = self.bot_positions.get((bot, symbol), 0)
        bot_pending = self.bot_pending_of(bot, symbol)
        bot_new = bot_old + side * (bot_pending[ix] + qty)
        exits = (
            bot_old != 0 and (bot_new == 0 or (bot_new > 0) == (bot_old > 0)) and abs(bot_new) < abs(bot_old)
        )
        if reduce_only and not exits:
            return "REDUCE_ONLY_VIOLATION"
        bot_after_pending = list(bot_pending)
        bot_after_pending[ix] += qty
        bot_before = max(abs(bot_old + bot_pending[0]), abs(bot_old - bot_pending[1]))
        bot_after = max(abs(bot_old + bot_after_pending[0]), abs(bot_old - bot_after_pending[1]))
        if p.bot_max is not None and bot_after > bot_before and bot_after > p.bot_max:
            return "MAX_CONTRACTS_BOT"
        pending = list(self.pending[symbol])
        pending[ix] += qty
        if not exits:
            verdict = self._opening(symbol, side, qty, parsed, pending)
        elif self.worst(symbol, pending) > self.worst(symbol):
            # An exit into the other bots' positions: the account's limits still hold.
            verdict = self._capacity(symbol, pending)
        else:
            verdict = None
        if verdict is None and order_id is not None:
            self.working[order_id] = (bot, symbol, ix, qty)
            self.pending[symbol][ix] += qty
            bot_pending[ix] += qty
        return verdict

    def _opening(
        self, symbol: str, side: int, qty: int, parsed: dict[str, int], pending: list[int]
    ) -> str | None:
        p = self.p
        tick_s, pv, _, _ = SPECS[symbol]
        tick = float(tick_s)
        if self.state == "REDUCING":
            return "TRADING_REDUCING"
        entry = parsed.get("price")
        if entry is None and symbol in self.marks:
            entry = round(self.marks[symbol] / tick)
        risk = 0
        if "sl" not in parsed:
            if p.require_stop:
                return "MISSING_STOP_LOSS"
        else:
            if entry is None:
                return "NO_REFERENCE_PRICE"
            risk = (entry - parsed["sl"]) * side
            if risk <= 0:
                return "STOP_LOSS_WRONG_SIDE"
            if p.max_risk_points is not None and risk * tick > p.max_risk_points + 1e-9:
                return "STOP_LOSS_TOO_FAR"
        if "tp" not in parsed and p.min_rr is not None:
            return "MISSING_TAKE_PROFIT"
        if "tp" in parsed:
            if entry is None:
                return "NO_REFERENCE_PRICE"
            reward = (parsed["tp"] - entry) * side
            if reward <= 0:
                return "TAKE_PROFIT_WRONG_SIDE"
            if p.min_rr is not None and risk > 0 and reward / risk < p.min_rr - 1e-9:
                return "REWARD_RISK_TOO_LOW"
        capacity = self._capacity(symbol, pending)
        if capacity is not None:
            return capacity
        order_risk = risk * tick * pv * qty
        daily = self.equity() - self.day_start
        if daily <= -p.daily_loss + 1e-9 or daily - order_risk <= -p.daily_loss + 1e-9:
            return "DAILY_LOSS_LIMIT"
        if p.daily_profit is not None and daily >= p.daily_profit - 1e-9:
            return "DAILY_PROFIT_STOP"
        floor = min(self.peak - p.drawdown, 50_000.0)
        if self.equity() - order_risk <= floor + 1e-9:
            return "MAX_DRAWDOWN"
        return None

    def _capacity(self, symbol: str, pending: list[int]) -> str | None:
        p = self.p
        _, _, milli, margin = SPECS[symbol]
        worst = self.worst(symbol, pending)  # working orders included
        if worst > p.max_per_symbol:
            return "MAX_CONTRACTS_SYMBOL"
        exposure = sum(self.worst(s) * SPECS[s][2] for s in SPECS if s != symbol) + worst * milli
        if exposure > p.max_open_milli:
            return "MAX_CONTRACTS_ACCOUNT"
        if worst * milli > math.floor(p.concentration * p.max_open_milli + 1e-9):
            return "CONCENTRATION"
        if p.margin is not None:
            used = sum(self.worst(s) * SPECS[s][3] for s in SPECS if s != symbol)
            if used + worst * margin > p.margin + 1e-9:
                return "INSUFFICIENT_MARGIN"
        return None


params = st.builds(
    Params,
    max_order_size=st.integers(1, 6),
    max_open_milli=st.integers(1, 8).map(lambda x: x * 1000),
    max_per_symbol=st.integers(1, 12),
    concentration=st.sampled_from([1.0, 0.5, 0.3]),
    daily_loss=st.sampled_from([300.0, 1000.0, 3000.0]),
    daily_profit=st.sampled_from([None, 400.0, 2000.0]),
    drawdown=st.sampled_from([1500.0, 4000.0]),
    intraday=st.booleans(),
    margin=st.sampled_from([None, 800.0, 3000.0]),
    bot_max=st.sampled_from([None, 2, 6]),
    max_risk_points=st.sampled_from([None, 5.0, 20.0]),
    min_rr=st.sampled_from([None, 1.0, 2.0]),
    require_stop=st.booleans(),
)


def build(p: Params) -> RiskEngine:
    return RiskEngine(
        RiskLimits(
            instruments=[
                InstrumentSpec(s, float(t), pv, m / 1000, mg) for s, (t, pv, m, mg) in SPECS.items()
            ],
            max_order_size=p.max_order_size,
            max_open_contracts=p.max_open_milli / 1000,
            max_contracts_per_symbol=p.max_per_symbol,
            max_daily_loss=p.daily_loss,
            max_daily_profit=p.daily_profit,
            max_drawdown=p.drawdown,
            drawdown_mode=DrawdownMode.INTRADAY if p.intraday else DrawdownMode.END_OF_DAY,
            starting_balance=50_000.0,
            max_orders_per_minute=10**6,
            max_concentration=p.concentration,
            available_margin=p.margin,
            require_stop_loss=p.require_stop,
            default_bot=BotLimits(
                max_contracts=p.bot_max, max_risk_points=p.max_risk_points, min_reward_risk=p.min_rr
            ),
        )
    )


# Mostly plausible orders (so most reach the deep checks), with every kind of bad input mixed in.
symbols = st.sampled_from(["ES", "ES", "MES", "MGC", "MGC", "ZZ"])
quantities = st.one_of(st.integers(1, 2), st.integers(1, 3), st.integers(-1, 7))
on_grid = st.integers(-12, 12)
entries = st.one_of(st.none(), on_grid, on_grid, on_grid, on_grid, st.just(0.5))
# Distances from entry in ticks, on the right side when positive; 0.5 is off the grid.
distance = st.integers(1, 60)
stops = st.one_of(st.none(), distance, distance, distance, distance, st.integers(-4, 0), st.just(0.5))
targets = st.one_of(st.none(), st.integers(1, 120), st.integers(-4, 0))


def price_of(symbol: str, offset: float | None) -> float | None:
    if offset is None:
        return None
    tick = float(SPECS.get(symbol, ("0.25",))[0])
    return PRICE.get(symbol, 100.0) + offset * tick


# Two bots trade the same symbols, so one's orders net against the other's position.
bots = st.sampled_from(["A", "B"])
order_event = st.tuples(
    st.just("order"),
    bots,
    symbols,
    st.sampled_from([1, -1]),
    quantities,
    entries,
    stops,
    targets,
    st.sampled_from([False, False, False, True]),
    st.none() | st.integers(0, 5),  # its order id (reused ids test duplicates)
)
fill_event = st.tuples(
    st.just("fill"),
    bots,
    st.sampled_from(list(SPECS)),
    st.sampled_from([1, -1]),
    st.integers(1, 4),
    st.integers(-40, 40),
    st.none() | st.integers(0, 5),  # the working order it fills, if any
)
mark_event = st.tuples(st.just("mark"), st.sampled_from(list(SPECS)), st.integers(-120, 120))
# Orders are half the script; the rest moves the state they are checked against.
events = st.lists(
    st.one_of(
        order_event,
        order_event,
        order_event,
        order_event,
        fill_event,
        fill_event,
        mark_event,
        mark_event,
        st.tuples(st.just("close"), st.integers(0, 5)),
        st.tuples(st.just("state"), st.sampled_from(["ACTIVE", "ACTIVE", "ACTIVE", "REDUCING", "HALTED"])),
        st.tuples(st.just("day")),
    ),
    min_size=5,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(params, events)
def test_engine_matches_reference(p: Params, script: list[tuple]) -> None:  # type: ignore[type-arg]
    engine, ref = build(p), Reference(p)
    if script[0][0] != "day":  # a script opening with "day" has no prices (market orders refused)
        for symbol, price in PRICE.items():
            engine.on_mark(symbol, price)
            ref.mark(symbol, price)
    for event in script:
        kind = event[0]
        if kind == "fill":
            _, bot, symbol, side, qty, off, target = event
            order_id = f"o{target}" if target is not None else None
            if order_id in ref.working:
                # A fill of that working order: its bot, symbol and side.
                bot, symbol, ix, _ = ref.working[order_id]
                side = 1 if ix == 0 else -1
                ref.release(order_id, qty)
            price = PRICE[symbol] + off * float(SPECS[symbol][0])
            engine.on_fill(bot, symbol, "BUY" if side > 0 else "SELL", qty, price, order_id=order_id)
            ref.fill(symbol, side * qty, price, bot)
        elif kind == "close":
            order_id = f"o{event[1]}"
            released = ref.release(order_id, 10**9) if order_id in ref.working else 0
            assert engine.on_order_closed(order_id) == released
        elif kind == "mark":
            _, symbol, off = event
            price = PRICE[symbol] + off * float(SPECS[symbol][0])
            engine.on_mark(symbol, price)
            ref.mark(symbol, price)
        elif kind == "state":
            engine.trading_state = getattr(TradingState, event[1])
            ref.state = event[1]
        elif kind == "day":
            engine.new_trading_day()
            ref.peak = max(ref.peak, ref.balance)
            ref.day_start = ref.equity()
        else:
            _, bot, symbol, side, qty, o_price, stop, target, reduce_only, id_number = event
            base = o_price if isinstance(o_price, int) else 0  # market orders: near the base price
            price = price_of(symbol, o_price)
            sl = price_of(symbol, base - side * stop) if stop is not None else None
            tp = price_of(symbol, base + side * target) if target is not None else None
            order_id = f"o{id_number}" if id_number is not None else None
            order = OrderRequest(
                bot, symbol, Side.BUY if side > 0 else Side.SELL, qty, price, sl, tp, reduce_only, order_id
            )
            verdict = engine.check(order, 0)
            want = ref.check(bot, symbol, side, qty, price, sl, tp, reduce_only, order_id)
            assert (verdict.reason.value if verdict.reason else None) == want, (order, verdict)
            assert verdict.accepted == (want is None) == bool(verdict)
        assert math.isclose(engine.equity, ref.equity(), abs_tol=1e-6)
        assert math.isclose(engine.drawdown_floor, min(ref.peak - p.drawdown, 50_000.0), abs_tol=1e-6)
        for s in SPECS:
            assert engine.position(s)[0] == ref.positions[s][0]
            assert engine.pending(s) == tuple(ref.pending[s])
            for b in ("A", "B"):
                assert engine.bot_position(b, s) == ref.bot_positions.get((b, s), 0)
        assert engine.working_orders == len(ref.working)
        assert math.isclose(engine.exposure, sum(ref.worst(s) * SPECS[s][2] for s in SPECS) / 1000)


@settings(max_examples=300, deadline=None)
@given(
    params,
    st.sampled_from(list(SPECS)),
    st.sampled_from([1, -1]),
    st.integers(1, 3),
    st.integers(-400, 400),  # where the mark goes, in ticks
    st.booleans(),  # close the position first (realized rather than open P&L)
    st.booleans(),  # roll the day in between
    st.sampled_from(["ES", "MES", "MGC"]),
    st.integers(1, 80),  # the new order's stop distance in ticks
)
def test_loss_profit_and_drawdown_limits_match_reference(
    p: Params,
    symbol: str,
    side: int,
    qty: int,
    move: int,
    close_first: bool,
    roll: bool,
    order_symbol: str,
    stop: int,
) -> None:
    engine, ref = build(p), Reference(p)
    tick = float(SPECS[symbol][0])
    for s_, price in PRICE.items():
        engine.on_mark(s_, price)
        ref.mark(s_, price)
    engine.on_fill("bot", symbol, "BUY" if side > 0 else "SELL", qty, PRICE[symbol])
    ref.fill(symbol, side * qty, PRICE[symbol])
    moved = PRICE[symbol] + move * tick
    if close_first:
        engine.on_fill("bot", symbol, "SELL" if side > 0 else "BUY", qty, moved)
        ref.fill(symbol, -side * qty, moved)
    else:
        engine.on_mark(symbol, moved)
        ref.mark(symbol, moved)
    if roll:
        engine.new_trading_day()
        ref.peak = max(ref.peak, ref.balance)
        ref.day_start = ref.equity()
    o_tick = float(SPECS[order_symbol][0])
    entry = PRICE[order_symbol]
    # A target at 3R, so that a minimum reward:risk lets the order through to the money limits.
    sl, tp = entry - stop * o_tick, entry + 3 * stop * o_tick
    order = OrderRequest("bot", order_symbol, Side.BUY, 1, entry, sl, tp)
    want = ref.check("bot", order_symbol, 1, 1, entry, sl, tp, False)
    got = engine.check(order, 0)
    assert (got.reason.value if got.reason else None) == want
    assert math.isclose(engine.daily_pnl, ref.equity() - ref.day_start, abs_tol=1e-6)


def _limits(**overrides: object) -> RiskLimits:
    base: dict[str, object] = {
        "instruments": [InstrumentSpec("ES", 0.25, 50.0, 1.0, 500.0)],
        "max_order_size": 5,
        "max_open_contracts": 5,
        "max_contracts_per_symbol": 5,
        "max_daily_loss": 1000.0,
        "max_drawdown": 2000.0,
        "starting_balance": 50_000.0,
        "max_orders_per_minute": 3,
    }
    base.update(overrides)
    return RiskLimits(**base)  # type: ignore[arg-type]


def test_rate_limits_per_bot_and_account() -> None:
    engine = RiskEngine(_limits(bots=[("fast", BotLimits(max_orders_per_minute=2))]))
    order = {
        "bot_id": "fast",
        "symbol": "ES",
        "side": "BUY",
        "quantity": 1,
        "price": 5000.0,
        "stop_loss": 4990.0,
    }
    second = 10**9
    assert engine.check(order, 0).accepted
    assert engine.check(order, 0).accepted
    denied = engine.check(order, 0)
    assert denied.reason == RiskReason.RATE_LIMITED and "bot fast" in denied.message
    assert engine.check({**order, "bot_id": "other"}, 0).accepted  # the account's 3rd token
    assert engine.check({**order, "bot_id": "other"}, 0).reason == RiskReason.RATE_LIMITED
    assert engine.check(order, 30 * second).accepted  # one bot token back after 30 s
    # A refused order takes no token.
    assert engine.check({**order, "quantity": 99}, 60 * second).reason == RiskReason.MAX_ORDER_SIZE
    assert engine.check({**order, "side": "HOLD"}, 60 * second).reason == RiskReason.INVALID_SIDE


def test_trading_hours_from_config_and_blocked_dates() -> None:
    config = load_config(None, env={})
    account = config.global_config.risk
    blocked = dt.date(2024, 6, 12)
    import msgspec

    account = msgspec.structs.replace(account, blocked_dates=[blocked])
    engine = RiskEngine(limits_from_config(account, config.instruments))
    order = OrderRequest("bot_1", "MES", Side.BUY, 1, 5000.0, 4995.0, 5010.0)
    chicago = dt.timezone(dt.timedelta(hours=-5))  # CDT in June
    at = lambda d, h, m: to_ns(dt.datetime(2024, 6, d, h, m, tzinfo=chicago))  # noqa: E731
    assert engine.check(order, at(10, 9, 0)).accepted  # Monday morning
    assert engine.check(order, at(10, 15, 10)).reason == RiskReason.OUTSIDE_TRADING_HOURS
    assert engine.check(order, at(9, 18, 0)).accepted  # Sunday evening trades Monday's date
    assert engine.check(order, at(11, 17, 0)).reason == RiskReason.BLOCKED_DATE  # Tuesday 17:00 is the 12th
    assert engine.check(order, at(14, 18, 0)).reason == RiskReason.OUTSIDE_TRADING_HOURS  # Friday evening
    engine.on_fill("bot_1", "MES", Side.BUY, 2, 5000.0)
    exit_ = OrderRequest("bot_1", "MES", Side.SELL, 1)
    assert engine.check(exit_, at(10, 15, 30)).accepted  # reductions stay possible outside hours
    assert engine.exposure == pytest.approx(0.2)


def test_config_helpers_and_submission() -> None:
    config = load_config(None, env={})
    bot = next(iter(config.bots.values()))
    limits = bot_limits_from_config(bot.config, bot.params)
    assert limits.max_risk_points == bot.params.max_risk_points
    assert limits.min_reward_risk == bot.params.risk_reward_ratio
    assert limits.max_contracts == bot.config.max_order_size * bot.config.risk.max_positions
    risk = limits_from_config(config.global_config.risk, config.instruments, {bot.id: limits})
    assert set(risk.symbols) == set(config.instruments.symbols)
    assert risk.max_open_contracts == config.global_config.risk.max_open_contracts
    submission = OrderSubmission(
        order_id="o1",
        symbol="ES",
        side=Side.SELL,
        quantity=2,
        limit_price=5000.0,
        stop_loss=5005.0,
        take_profit=4990.0,
    )
    order = order_from_submission(submission, "bot_1")
    assert (order.side, order.price, order.stop_loss, order.quantity) == (Side.SELL, 5000.0, 5005.0, 2)
    assert order.order_id == "o1"


def test_input_errors_are_typed() -> None:
    engine = RiskEngine(_limits())
    with pytest.raises(RiskInputError, match="unknown symbol"):
        engine.on_mark("ZZ", 1.0)
    with pytest.raises(RiskInputError, match="finite"):
        engine.on_fill("b", "ES", "BUY", 1, math.nan)
    with pytest.raises(RiskInputError, match="> 0"):
        engine.on_fill("b", "ES", "BUY", 0, 5000.0)
    with pytest.raises(ValueError, match="side"):
        OrderRequest("b", "ES", "LONG", 1)
    with pytest.raises(RiskInputError, match="concentration"):
        _limits(max_concentration=1.5)
    with pytest.raises(ValueError, match="mapping"):
        engine.check(42, 0)  # type: ignore[arg-type]


def test_pnl_balance_and_day_roll() -> None:
    engine = RiskEngine(_limits(drawdown_mode=DrawdownMode.END_OF_DAY))
    assert engine.on_fill("b", "ES", Side.BUY, 2, 5000.0, 4.0) == 0.0
    engine.on_mark("ES", 5010.0)
    assert engine.open_pnl == 1000.0
    assert engine.daily_pnl == 996.0
    assert engine.on_fill("b", "ES", Side.SELL, 2, 5010.0, 4.0) == 1000.0
    assert (engine.balance, engine.realized_today, engine.fees_today) == (50_992.0, 1000.0, 8.0)
    assert engine.drawdown_floor == 48_000.0  # end-of-day mode: intraday highs do not trail
    engine.new_trading_day()
    assert engine.drawdown_floor == 48_992.0
    assert engine.daily_pnl == 0.0
    engine.on_balance(51_500.0)
    engine.new_trading_day()
    assert engine.drawdown_floor == 49_500.0
    assert engine.bot_position("b", "ES") == 0


def test_working_orders_hold_their_exposure() -> None:
    engine = RiskEngine(_limits(max_contracts_per_symbol=3, bots=[("b", BotLimits(max_contracts=3))]))
    order = {
        "bot_id": "b",
        "symbol": "ES",
        "side": "BUY",
        "quantity": 2,
        "price": 5000.0,
        "stop_loss": 4995.0,
    }
    assert engine.check({**order, "order_id": "a"}, 0).accepted
    assert (engine.working_orders, engine.pending("ES"), engine.exposure) == (1, (2, 0), 2.0)
    # Nothing has filled, yet two more would make four: refused, by the bot limit first.
    assert engine.check({**order, "order_id": "b"}, 0).reason == RiskReason.MAX_CONTRACTS_BOT
    assert engine.check({**order, "order_id": "a"}, 0).reason == RiskReason.DUPLICATE_ORDER
    # Orders without an id are not held (the caller tracks them).
    assert engine.check(order, 0).reason == RiskReason.MAX_CONTRACTS_BOT
    engine.on_fill("b", "ES", Side.BUY, 2, 5000.0, order_id="a")
    assert (engine.working_orders, engine.pending("ES"), engine.position("ES")) == (0, (0, 0), (2, 5000.0))
    assert engine.check({**order, "quantity": 1, "order_id": "c"}, 0).accepted
    assert engine.on_order_closed("c") == 1
    assert engine.on_order_closed("c") == 0
    assert engine.exposure == 2.0


def test_exits_are_decided_by_the_bots_own_position() -> None:
    # The auditor's reproduction: bot A long 3 ES, bot B flat.
    engine = RiskEngine(_limits(max_orders_per_minute=100))
    engine.on_fill("A", "ES", Side.BUY, 3, 5000.0)
    b_sells = {"bot_id": "B", "symbol": "ES", "side": "SELL", "quantity": 2}
    engine.trading_state = TradingState.REDUCING
    # B's sell nets the account down, but opens a short for B: refused in REDUCING ...
    assert engine.check(b_sells, 0).reason == RiskReason.TRADING_REDUCING
    assert engine.check({**b_sells, "reduce_only": True}, 0).reason == RiskReason.REDUCE_ONLY_VIOLATION
    engine.trading_state = TradingState.ACTIVE
    # ... and needs a stop-loss when ACTIVE ...
    assert engine.check(b_sells, 0).reason == RiskReason.MISSING_STOP_LOSS
    # ... and is refused past the daily loss limit, stop-loss or not.
    engine.on_mark("ES", 4990.0)  # -1500 open
    bracketed = {**b_sells, "quantity": 1, "price": 4990.0, "stop_loss": 4995.0}
    assert engine.check(bracketed, 0).reason == RiskReason.DAILY_LOSS_LIMIT
    # A exits its own position (no stop-loss, past the loss limit, in REDUCING).
    a_exits = {"bot_id": "A", "symbol": "ES", "side": "SELL", "quantity": 3}
    assert engine.check(a_exits, 0).accepted
    engine.trading_state = TradingState.REDUCING
    assert engine.check(a_exits, 0).accepted
    assert engine.check({**a_exits, "quantity": 4}, 0).reason == RiskReason.TRADING_REDUCING  # a flip

    # The second reproduction: A +3, B -2 (the account +1). A's sell of 3 leaves the account short
    # 2 (B's position): it is still A's exit.
    engine = RiskEngine(_limits(max_orders_per_minute=100))
    engine.on_fill("A", "ES", Side.BUY, 3, 5000.0)
    engine.on_fill("B", "ES", Side.SELL, 2, 5000.0)
    assert (engine.position("ES")[0], engine.bot_position("A", "ES"), engine.bot_position("B", "ES")) == (
        1,
        3,
        -2,
    )
    for state in (TradingState.REDUCING, TradingState.ACTIVE):
        engine.trading_state = state
        assert engine.check(a_exits, 0).accepted
        assert engine.check({"bot_id": "B", "symbol": "ES", "side": "BUY", "quantity": 2}, 0).accepted


def test_an_exit_into_another_bots_position_keeps_the_account_limits() -> None:
    engine = RiskEngine(_limits(max_orders_per_minute=100))  # 5 contracts per symbol
    for bot, side in (("A", Side.BUY), ("B", Side.SELL), ("C", Side.SELL)):
        engine.on_fill(bot, "ES", side, 5, 5000.0)
    assert engine.position("ES")[0] == -5
    verdict = engine.check({"bot_id": "A", "symbol": "ES", "side": "SELL", "quantity": 5}, 0)
    assert verdict.reason == RiskReason.MAX_CONTRACTS_SYMBOL
    assert (verdict.limit, verdict.value) == (5.0, 10.0)
    assert engine.check({"bot_id": "C", "symbol": "ES", "side": "BUY", "quantity": 5}, 0).accepted


def test_a_minimum_reward_risk_needs_a_take_profit() -> None:
    engine = RiskEngine(_limits(default_bot=BotLimits(min_reward_risk=2.0)))
    order = {
        "bot_id": "a",
        "symbol": "ES",
        "side": "BUY",
        "quantity": 1,
        "price": 5000.0,
        "stop_loss": 4990.0,
    }
    verdict = engine.check(order, 0)
    assert verdict.reason == RiskReason.MISSING_TAKE_PROFIT
    assert message_reason(verdict.reason) is enums.RiskReason.MISSING_TAKE_PROFIT
    assert engine.check({**order, "take_profit": 5020.0}, 0).accepted
    # Exits need no target.
    engine.on_fill("a", "ES", Side.BUY, 1, 5000.0)
    assert engine.check({"bot_id": "a", "symbol": "ES", "side": "SELL", "quantity": 1}, 0).accepted
    # Without a minimum, a target stays optional.
    assert RiskEngine(_limits()).check(order, 0).accepted


def test_a_disabled_symbol_is_refused() -> None:
    engine = RiskEngine(_limits(instruments=[InstrumentSpec("ES", 0.25, 50.0, 1.0, 500.0, enabled=False)]))
    order = {
        "bot_id": "a",
        "symbol": "ES",
        "side": "BUY",
        "quantity": 1,
        "price": 5000.0,
        "stop_loss": 4990.0,
    }
    verdict = engine.check(order, 0)
    assert verdict.reason == RiskReason.SYMBOL_DISABLED and "ES is disabled" in verdict.message
    # An instrument disabled in the table keeps its flag on the way to the engine.
    import msgspec

    es = msgspec.structs.replace(load_config(None, env={}).instruments.get("ES"), enabled=False)
    assert not instrument_spec(es).enabled
    engine = RiskEngine(_limits(instruments=[instrument_spec(es)]))
    assert engine.check(order, 0).reason == RiskReason.SYMBOL_DISABLED


def test_a_bots_order_rate_comes_from_its_config() -> None:
    config = load_config(None, env={}, overrides=["bots.bot_1.risk.maxOrdersPerMinute=2"])
    bots = {bot_id: bot_limits_from_config(bot.config, bot.params) for bot_id, bot in config.bots.items()}
    assert bots["bot_1"].max_orders_per_minute == 2
    assert bots["bot_2"].max_orders_per_minute is None
    account = config.global_config.risk  # 30 orders a minute
    engine = RiskEngine(limits_from_config(account, config.instruments, bots))
    symbol = config.bots["bot_1"].instrument.symbol
    tick = config.instruments.get(symbol).tick_size
    entry = 2000.0
    order = {
        "bot_id": "bot_1",
        "symbol": symbol,
        "side": "BUY",
        "quantity": 1,
        "price": entry,
        "stop_loss": entry - 10 * tick,
        "take_profit": entry + 30 * tick,
    }
    chicago = dt.timezone(dt.timedelta(hours=-5))  # CDT in June
    now = to_ns(dt.datetime(2024, 6, 10, 9, 0, tzinfo=chicago))
    assert engine.check(order, now).accepted
    assert engine.check(order, now).accepted
    verdict = engine.check(order, now)
    assert verdict.reason == RiskReason.RATE_LIMITED and "bot bot_1" in verdict.message
    assert engine.check({**order, "bot_id": "bot_2"}, now).accepted  # another bot: the account's bucket
    assert engine.check(order, now + 30 * 10**9).accepted  # a token back after 30 s
