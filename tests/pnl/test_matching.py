"""The FIFO matcher: worked examples and a property test against a unit-by-unit reference."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsxbot.messages.enums import Side
from tsxbot.pnl import ContractSpec, Execution, FifoMatcher, MatchError, RoundTrip

ES = ContractSpec(symbol="ES", point_value=50.0, tick_size=0.25, fee_per_side=1.40)


def fill(
    n: int, side: Side, qty: int, price: float, fees: float | None = None, stop: float | None = None
) -> Execution:
    return Execution(
        fill_id=f"f{n}",
        bot_id="b1",
        symbol="ES",
        side=side,
        quantity=qty,
        price=price,
        ts_ns=n * 1_000_000_000,
        fees=fees,
        stop_loss=stop,
    )


def test_a_simple_long_round_trip() -> None:
    m = FifoMatcher(ES, "b1")
    assert m.add(fill(1, Side.BUY, 2, 5000.0)) == []
    [trade] = m.add(fill(2, Side.SELL, 2, 5002.5))
    assert trade.direction == 1
    assert trade.quantity == 2
    assert trade.gross_pnl == pytest.approx(2.5 * 50 * 2)
    assert trade.fees == pytest.approx(1.40 * 4)
    assert trade.net_pnl == pytest.approx(250 - 5.6)
    assert trade.duration_ns == 1_000_000_000
    assert trade.fill_ids == ("f1", "f2")
    assert m.position == 0


def test_scaling_in_and_out_is_one_trade_matched_fifo() -> None:
    m = FifoMatcher(ES, "b1")
    m.add(fill(1, Side.BUY, 1, 100.0))
    m.add(fill(2, Side.BUY, 2, 110.0))
    assert m.add(fill(3, Side.SELL, 2, 120.0)) == []
    # FIFO: the 1 @ 100 and one of the 2 @ 110 closed: (20 + 10) points.
    assert m.realized == pytest.approx(30 * 50)
    assert m.open_pnl(130.0) == pytest.approx(20 * 50)
    [trade] = m.add(fill(4, Side.SELL, 1, 105.0))
    assert trade.quantity == 3
    assert trade.max_position == 3
    assert trade.entry_price == pytest.approx((100 + 220) / 3)
    assert trade.exit_price == pytest.approx((240 + 105) / 3)
    assert trade.gross_pnl == pytest.approx((30 - 5) * 50)


def test_a_reversal_through_zero_splits_the_fill_and_its_fees() -> None:
    m = FifoMatcher(ES, "b1")
    m.add(fill(1, Side.BUY, 1, 100.0, fees=2.0))
    [first] = m.add(fill(2, Side.SELL, 3, 98.0, fees=6.0))
    assert first.direction == 1
    assert first.gross_pnl == pytest.approx(-2 * 50)
    assert first.fees == pytest.approx(2.0 + 2.0)
    assert m.position == -2
    [second] = m.add(fill(3, Side.BUY, 2, 97.0, fees=4.0))
    assert second.direction == -1
    assert second.quantity == 2
    assert second.gross_pnl == pytest.approx(1 * 50 * 2)
    assert second.fees == pytest.approx(4.0 + 4.0)
    assert second.entry_ns == 2_000_000_000


def test_mae_mfe_and_r_multiple() -> None:
    m = FifoMatcher(ES, "b1")
    m.add(fill(1, Side.BUY, 1, 100.0, fees=0.0, stop=98.0))
    m.mark(97.0)
    m.mark(104.0)
    [trade] = m.add(fill(2, Side.SELL, 1, 103.0, fees=0.0))
    assert trade.mae == pytest.approx(-3 * 50)
    assert trade.mfe == pytest.approx(4 * 50)
    assert trade.initial_risk == pytest.approx(2 * 50)
    assert trade.r_multiple == pytest.approx(1.5)


def test_a_repeated_fill_or_a_foreign_fill_is_refused() -> None:
    m = FifoMatcher(ES, "b1")
    m.add(fill(1, Side.BUY, 1, 100.0))
    with pytest.raises(MatchError, match="already applied"):
        m.add(fill(1, Side.BUY, 1, 100.0))
    other = Execution(fill_id="x", bot_id="b2", symbol="ES", side=Side.BUY, quantity=1, price=1.0, ts_ns=0)
    with pytest.raises(MatchError, match="b2/ES"):
        m.add(other)


def test_a_bad_fill_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="quantity must be > 0"):
        fill(1, Side.BUY, 0, 100.0)
    with pytest.raises(ValueError, match="fees must be >= 0"):
        fill(1, Side.BUY, 1, 100.0, fees=-1.0)


# --- the reference: every contract on its own ----------------------------------------------------


@dataclass
class RefTrade:
    direction: int
    quantity: int = 0
    gross: float = 0.0
    fees: float = 0.0
    entry_ns: int = 0
    exit_ns: int = 0
    entry_sum: float = 0.0
    exit_sum: float = 0.0
    low: float = 0.0
    high: float = 0.0
    exits: int = 0


@dataclass
class Reference:
    pv: float
    units: deque[tuple[int, float]] = field(default_factory=deque)  # (direction, price), oldest first
    trades: list[RefTrade] = field(default_factory=list)
    current: RefTrade | None = None
    realized: float = 0.0

    def running(self, price: float) -> float:
        assert self.current is not None
        opened = sum((price - p) * d * self.pv for d, p in self.units)
        return self.current.gross + opened

    def excursion(self, price: float) -> None:
        if self.current is not None:
            value = self.running(price)
            self.current.low = min(self.current.low, value)
            self.current.high = max(self.current.high, value)

    def fill(self, direction: int, qty: int, price: float, fee_each: float, ts: int) -> None:
        for _ in range(qty):
            if self.units and self.units[0][0] != direction:
                d, p = self.units.popleft()
                assert self.current is not None
                pnl = (price - p) * d * self.pv
                self.realized += pnl
                self.current.gross += pnl
                self.current.fees += fee_each
                self.current.exit_sum += price
                self.current.exits += 1
                if not self.units:
                    self.excursion(price)
                    self.current.exit_ns = ts
                    self.trades.append(self.current)
                    self.current = None
            else:
                if self.current is None:
                    self.current = RefTrade(direction=direction, entry_ns=ts)
                self.units.append((direction, price))
                self.current.quantity += 1
                self.current.entry_sum += price
                self.current.fees += fee_each
        self.excursion(price)


events = st.lists(
    st.one_of(
        st.tuples(st.just("fill"), st.sampled_from([1, -1]), st.integers(1, 6), st.integers(-40, 40)),
        st.tuples(st.just("mark"), st.just(0), st.just(0), st.integers(-40, 40)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(events)
def test_the_matcher_equals_the_unit_reference(evts: list[tuple[str, int, int, int]]) -> None:
    m = FifoMatcher(ES, "b1")
    ref = Reference(pv=ES.point_value)
    closed: list[RoundTrip] = []
    cash = 0.0
    for i, (kind, direction, qty, ticks) in enumerate(evts):
        price = 5000 + ticks * 0.25
        if kind == "mark":
            m.mark(price)
            ref.excursion(price)
            continue
        side = Side.BUY if direction == 1 else Side.SELL
        closed += m.add(fill(i + 1, side, qty, price))
        ref.fill(direction, qty, price, ES.fee_per_side, (i + 1) * 1_000_000_000)
        cash -= direction * qty * price * ES.point_value
    assert len(closed) == len(ref.trades)
    for got, want in zip(closed, ref.trades, strict=True):
        assert got.direction == want.direction
        assert got.quantity == want.quantity
        assert got.gross_pnl == pytest.approx(want.gross, abs=1e-6)
        assert got.fees == pytest.approx(want.fees, abs=1e-9)
        assert got.entry_ns == want.entry_ns
        assert got.exit_ns == want.exit_ns
        assert got.entry_price == pytest.approx(want.entry_sum / want.quantity)
        assert got.exit_price == pytest.approx(want.exit_sum / want.exits)
        assert got.mae == pytest.approx(want.low, abs=1e-6)
        assert got.mfe == pytest.approx(want.high, abs=1e-6)
    assert m.realized == pytest.approx(ref.realized, abs=1e-6)
    assert m.position == sum(d for d, _ in ref.units)
    assert m.open_pnl(5001.0) == pytest.approx(sum((5001.0 - p) * d * 50 for d, p in ref.units), abs=1e-6)
    if m.position == 0:
        # Flat: the realized P&L is the cash flow of all fills.
        assert math.isclose(m.realized, cash, abs_tol=1e-6)
