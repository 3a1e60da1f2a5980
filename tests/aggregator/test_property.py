"""Property test: random streams of submissions, fills, cancels and quotes from several bots,
against a plain-Python model of positions, P&L and the limits whose refusal is certain. The
aggregator never lets an order through that the model refuses, and its positions (per bot and
per account, in its own book and in the risk engine) always equal the model's.

The aggregator runs for real (its handlers, the Rust engine, the queue) over an in-process bus;
the test plays the exchange (fills and cancels of the orders it accepted) and the market.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.sim import sim_config
from tsxbot.aggregator import Aggregator
from tsxbot.bus import MemoryBus
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import (
    Fill,
    OrderStatus,
    OrderSubmission,
    OrderType,
    OrderUpdate,
    Quote,
    Side,
)

START = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # a Tuesday, 09:30 CT
SPECS = {  # tick, point value, mini-equivalent, start price
    "MES": (0.25, 5.0, 0.1, 5000.0),
    "MNQ": (0.25, 2.0, 0.1, 15000.0),
    "MGC": (0.1, 10.0, 0.1, 2000.0),
}
BOT_MAX = {"bot_1": 9, "bot_2": 4, "bot_3": 4}  # maxOrderSize x maxPositions
MAX_ORDER, MAX_MINIS, MAX_SYMBOL, MAX_LOSS, GROUP_MAX = 5, 5.0, 5, 1000.0, 0.3
FEE = 0.37


@dataclass
class Working:
    bot: str
    symbol: str
    side: Side
    remaining: int


@dataclass
class Model:
    positions: dict[tuple[str, str], int] = field(default_factory=dict)
    avg: dict[str, float] = field(default_factory=dict)  # account average price per symbol
    net: dict[str, int] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    working: dict[str, Working] = field(default_factory=dict)
    realized: float = 0.0
    fees: float = 0.0
    halted: bool = False

    def pos(self, bot: str, symbol: str) -> int:
        return self.positions.get((bot, symbol), 0)

    def open_pnl(self) -> float:
        return sum((self.marks[s] - self.avg[s]) * q * SPECS[s][1] for s, q in self.net.items() if q != 0)

    def daily(self) -> float:
        return self.realized - self.fees + self.open_pnl()

    def pending(self, bot: str | None, symbol: str, side: Side) -> int:
        return sum(
            w.remaining
            for w in self.working.values()
            if w.symbol == symbol and w.side is side and (bot is None or w.bot == bot)
        )

    def is_exit(self, bot: str, symbol: str, side: Side, qty: int) -> bool:
        held = self.pos(bot, symbol)
        counted = held + side.sign * self.pending(bot, symbol, side)
        return held != 0 and held * side.sign < 0 and counted * held >= 0 and abs(qty) <= abs(held)

    def refuses(self, bot: str, symbol: str, side: Side, qty: int, has_stop: bool) -> str | None:
        """Why the order must be refused, when that is certain; None when it may pass."""
        if bot not in BOT_MAX:
            return "unknown bot"
        if self.halted:
            return "halted"
        if qty > MAX_ORDER:
            return "order size"
        exit_order = self.is_exit(bot, symbol, side, qty)
        if not exit_order and not has_stop:
            return "no stop"
        grows_bot = self.pos(bot, symbol) * side.sign >= 0
        if (
            grows_bot
            and abs(self.pos(bot, symbol) + side.sign * (self.pending(bot, symbol, side) + qty))
            > BOT_MAX[bot]
        ):
            return "bot contracts"
        net = self.net.get(symbol, 0)
        after = net + side.sign * qty
        if abs(after) > abs(net):
            if abs(after) > MAX_SYMBOL:
                return "symbol contracts"
            minis = (
                sum(abs(q) * SPECS[s][2] for s, q in self.net.items() if s != symbol)
                + abs(after) * SPECS[symbol][2]
            )
            if minis > MAX_MINIS + 1e-9:
                return "account contracts"
        if not exit_order and symbol in ("MES", "MNQ"):
            exposure = 0.0
            for s in ("MES", "MNQ"):
                q = self.net.get(s, 0)
                extra = qty if s == symbol else 0
                if side is Side.BUY:
                    exposure += SPECS[s][2] * (q + self.pending(None, s, Side.BUY) + extra)
                else:
                    exposure += SPECS[s][2] * (-q + self.pending(None, s, Side.SELL) + extra)
            if exposure > GROUP_MAX + 1e-9:
                return "correlation"
        return None

    def fill(self, bot: str, symbol: str, side: Side, qty: int, price: float) -> None:
        signed = side.sign * qty
        self.positions[(bot, symbol)] = self.pos(bot, symbol) + signed
        q = self.net.get(symbol, 0)
        avg = self.avg.get(symbol, 0.0)
        if q == 0 or (q > 0) == (signed > 0):
            total = q + signed
            self.avg[symbol] = (avg * abs(q) + price * abs(signed)) / abs(total)
        else:
            closing = min(abs(q), abs(signed))
            self.realized += (price - avg) * closing * (1 if q > 0 else -1) * SPECS[symbol][1]
            rest = q + signed
            if rest == 0:
                self.avg[symbol] = 0.0
            elif (rest > 0) != (q > 0):
                self.avg[symbol] = price
        self.net[symbol] = q + signed
        self.fees += FEE * qty
        self.marks[symbol] = price


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> dt.datetime:
        return self.at


events = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"),
            st.sampled_from(["bot_1", "bot_2", "bot_3", "bot_1", "bot_2", "bot_3", "stranger"]),
            st.sampled_from(list(SPECS)),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.sampled_from([1, 1, 1, 2, 2, 3, 4, 6]),
            st.sampled_from([True, True, True, False]),
        ),
        st.tuples(st.just("fill"), st.integers(0, 1000), st.integers(1, 7)),
        st.tuples(st.just("fill"), st.integers(0, 1000), st.integers(1, 7)),
        st.tuples(st.just("cancel"), st.integers(0, 1000)),
        st.tuples(st.just("quote"), st.sampled_from(list(SPECS)), st.integers(-60, 60)),
    ),
    min_size=10,
    max_size=60,
)


# Loaded once (an immutable Config; loading it took nearly all of each example's time): every
# example still starts from a new aggregator and bus.
CONFIG = sim_config(
    "aggregator.maxQueueSize=10000",
    "aggregator.correlationGroups=[{name: idx, symbols: [MES, MNQ], maxContracts: 0.3}]",
)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_the_aggregator_never_passes_what_the_model_refuses_and_positions_agree(stream: list[tuple]) -> None:  # type: ignore[type-arg]
    asyncio.run(run_stream(stream))


async def run_stream(stream: list[tuple]) -> None:  # type: ignore[type-arg]
    clock = Clock()
    bus = MemoryBus(BusConfig())
    await bus.start()
    aggregator = Aggregator(CONFIG, bus, clock=clock, account_id=1001)
    model = Model()
    fill_id = 0
    try:
        for symbol, (_tick, _pv, _mini, price) in SPECS.items():
            await quote(aggregator, model, symbol, price, clock)
        for n, event in enumerate(stream):
            clock.at = START + dt.timedelta(seconds=2.5 * (n + 1))
            kind = event[0]
            if kind == "submit":
                _, bot, symbol, side, qty, with_stop = event
                order_id = f"o{n}"
                mark = model.marks[symbol]
                tick = SPECS[symbol][0]
                stop = mark - side.sign * 8 * tick if with_stop else None
                target = mark + side.sign * 40 * tick if with_stop else None
                refusal = model.refuses(bot, symbol, side, qty, with_stop)
                submission = OrderSubmission(
                    order_id=order_id,
                    symbol=symbol,
                    side=side,
                    quantity=qty,
                    order_type=OrderType.MARKET,
                    stop_loss=stop,
                    take_profit=target,
                )
                await aggregator.on_submission(submission, bot, None)
                record = aggregator.orders.get(f"{bot}:{order_id}")
                accepted = record is not None and record.status == "QUEUED"
                assert not (accepted and refusal), (n, event, refusal, record)
                if accepted:
                    model.working[f"{bot}:{order_id}"] = Working(bot, symbol, side, qty)
            elif kind == "fill" and model.working:
                _, pick, qty = event
                key = sorted(model.working)[pick % len(model.working)]
                w = model.working[key]
                take = min(qty, w.remaining)
                fill_id += 1
                price = model.marks[w.symbol]
                await aggregator.on_fill(
                    Fill(
                        fill_id=fill_id,
                        exchange_order_id=1000 + fill_id,
                        account_id=1001,
                        contract_id=f"CON.F.US.{w.symbol}.Z26",
                        side=w.side,
                        quantity=take,
                        price=price,
                        timestamp=clock(),
                        fees=FEE * take,
                        order_id=key.split(":", 1)[1],
                        bot_id=w.bot,
                        symbol=w.symbol,
                    )
                )
                model.fill(w.bot, w.symbol, w.side, take, price)
                w.remaining -= take
                if w.remaining == 0:
                    del model.working[key]
                after_state_change(aggregator, model)
            elif kind == "cancel" and model.working:
                key = sorted(model.working)[event[1] % len(model.working)]
                w = model.working.pop(key)
                await aggregator.on_order_update(
                    OrderUpdate(
                        exchange_order_id=5000 + len(key),
                        account_id=1001,
                        contract_id=f"CON.F.US.{w.symbol}.Z26",
                        status=OrderStatus.CANCELLED,
                        order_type=OrderType.MARKET,
                        side=w.side,
                        quantity=w.remaining,
                        order_id=key.split(":", 1)[1],
                        bot_id=w.bot,
                        symbol=w.symbol,
                    )
                )
            elif kind == "quote":
                _, symbol, ticks = event
                price = max(SPECS[symbol][0], model.marks[symbol] + ticks * SPECS[symbol][0])
                await quote(aggregator, model, symbol, price, clock)
                after_state_change(aggregator, model)
            check_positions(aggregator, model)
            assert aggregator.engine.daily_pnl == pytest.approx(model.daily(), abs=1e-6)
    finally:
        await bus.close(flush_seconds=1)


def after_state_change(aggregator: Aggregator, model: Model) -> None:
    """The daily loss limit: once hit, the account halts (and its queued orders are refused)."""
    if -model.daily() >= MAX_LOSS and not model.halted:
        model.halted = True
        assert aggregator.account.state_name == "HALTED"
        model.working.clear()  # flatten refused every order still queued (none reached the exchange)


async def quote(aggregator: Aggregator, model: Model, symbol: str, price: float, clock: Clock) -> None:
    model.marks[symbol] = price
    await aggregator.on_quote(
        Quote(symbol=symbol, contract_id=f"CON.F.US.{symbol}.Z26", timestamp=clock(), last=price)
    )


def check_positions(aggregator: Aggregator, model: Model) -> None:
    for (bot, symbol), quantity in model.positions.items():
        assert aggregator.positions.quantity(bot, symbol) == quantity, (bot, symbol)
        assert aggregator.engine.bot_position(bot, symbol) == quantity, (bot, symbol)
    for symbol in SPECS:
        assert aggregator.engine.position(symbol)[0] == model.net.get(symbol, 0), symbol
        assert aggregator.positions.net(symbol) == model.net.get(symbol, 0), symbol
