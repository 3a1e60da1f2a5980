"""The Rust FIFO matcher (``tsxbot.pnl.matching.FifoMatcher``) against the Python one it replaced,
kept here as the reference: on random fill streams (partial closes, scaling in and out, reversals
through zero, marks, reported and default fees, stop losses, refused fills) every closed trade,
every running figure and every lot must be equal, bit for bit."""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsxbot.messages.enums import Side
from tsxbot.pnl import ContractSpec, Execution, FifoMatcher, Lot, MatchError, RoundTrip


class ReferenceMatchError(ValueError):
    pass


class ReferenceLot(msgspec.Struct, kw_only=True):
    fill_id: str
    direction: int
    quantity: int
    price: float
    ts_ns: int


# --- the reference: the Python implementation, unchanged but for its names -------------------------


class _Open:
    """The trade in progress."""

    __slots__ = (
        "entry_notional",
        "entry_ns",
        "entry_qty",
        "exit_notional",
        "exit_qty",
        "fees",
        "fill_ids",
        "first_price",
        "mae",
        "max_position",
        "mfe",
        "realized",
        "stop_loss",
    )

    def __init__(self, fill: Execution) -> None:
        self.entry_ns = fill.ts_ns
        self.first_price = fill.price
        self.stop_loss = fill.stop_loss
        self.entry_qty = 0
        self.entry_notional = 0.0
        self.exit_qty = 0
        self.exit_notional = 0.0
        self.fees = 0.0
        self.realized = 0.0
        self.max_position = 0
        self.mae = 0.0
        self.mfe = 0.0
        self.fill_ids: list[str] = []


class ReferenceMatcher:
    """The Python matcher the Rust core replaced (tsxbot.pnl.matching before 2026-12-06), as it was."""

    def __init__(self, spec: ContractSpec, bot_id: str, account_id: int | None = None) -> None:
        self.spec = spec
        self.bot_id = bot_id
        self.account_id = account_id
        self.strategy = ""
        self.lots: deque[ReferenceLot] = deque()
        self.realized = 0.0
        self.fees = 0.0
        self._open: _Open | None = None
        self._seen: set[str] = set()

    @property
    def position(self) -> int:
        held = 0
        for lot in self.lots:
            held += lot.direction * lot.quantity
        return held

    def open_pnl(self, price: float) -> float:
        """The open lots marked to ``price`` (0 when flat)."""
        pv = self.spec.point_value
        total = 0.0
        for lot in self.lots:
            total += (price - lot.price) * lot.direction * lot.quantity * pv
        return total

    def mark(self, price: float) -> None:
        """A new price while a trade is open: updates its MAE and MFE."""
        if self._open is not None:
            self._excursion(price)

    def _excursion(self, price: float) -> None:
        trade = self._open
        assert trade is not None
        running = trade.realized + self.open_pnl(price)
        trade.mfe = max(trade.mfe, running)
        trade.mae = min(trade.mae, running)

    def add(self, fill: Execution) -> list[RoundTrip]:
        """Apply one fill; returns the trades it closed (none, or one; a reversal closes one)."""
        if fill.bot_id != self.bot_id or fill.symbol != self.spec.symbol:
            raise ReferenceMatchError(
                f"fill {fill.fill_id} is for {fill.bot_id}/{fill.symbol}, "
                f"this matcher is {self.bot_id}/{self.spec.symbol}"
            )
        if fill.fill_id in self._seen:
            raise ReferenceMatchError(f"fill {fill.fill_id} was already applied")
        self._seen.add(fill.fill_id)
        if fill.strategy:
            self.strategy = fill.strategy
        fee_each = (fill.fees if fill.fees is not None else self.spec.fee_per_side * fill.quantity) / (
            fill.quantity
        )
        direction = 1 if fill.side == Side.BUY else -1
        remaining = fill.quantity
        closed: list[RoundTrip] = []
        pv = self.spec.point_value
        # Close against the oldest opposite lots.
        while remaining and self.lots and self.lots[0].direction != direction:
            trade = self._open
            assert trade is not None
            lot = self.lots[0]
            qty = min(remaining, lot.quantity)
            pnl = (fill.price - lot.price) * lot.direction * qty * pv
            self.realized += pnl
            trade.realized += pnl
            trade.exit_qty += qty
            trade.exit_notional += qty * fill.price
            trade.fees += fee_each * qty
            self.fees += fee_each * qty
            if not trade.fill_ids or trade.fill_ids[-1] != fill.fill_id:
                trade.fill_ids.append(fill.fill_id)
            lot.quantity -= qty
            remaining -= qty
            if lot.quantity == 0:
                self.lots.popleft()
            if not self.lots:
                self._excursion(fill.price)
                closed.append(self._close(lot.direction, fill.ts_ns))
        if remaining:
            if self._open is None:
                self._open = _Open(fill)
            trade = self._open
            trade.entry_qty += remaining
            trade.entry_notional += remaining * fill.price
            trade.fees += fee_each * remaining
            self.fees += fee_each * remaining
            if not trade.fill_ids or trade.fill_ids[-1] != fill.fill_id:
                trade.fill_ids.append(fill.fill_id)
            self.lots.append(
                ReferenceLot(
                    fill_id=fill.fill_id,
                    direction=direction,
                    quantity=remaining,
                    price=fill.price,
                    ts_ns=fill.ts_ns,
                )
            )
            trade.max_position = max(trade.max_position, abs(self.position))
        if self._open is not None:
            self._excursion(fill.price)
        return closed

    def _close(self, direction: int, ts_ns: int) -> RoundTrip:
        trade = self._open
        assert trade is not None
        self._open = None
        risk = None
        if trade.stop_loss is not None:
            risk = abs(trade.first_price - trade.stop_loss) * trade.max_position * self.spec.point_value
        return RoundTrip(
            bot_id=self.bot_id,
            strategy=self.strategy,
            account_id=self.account_id,
            symbol=self.spec.symbol,
            direction=direction,
            quantity=trade.entry_qty,
            max_position=trade.max_position,
            entry_price=trade.entry_notional / trade.entry_qty,
            exit_price=trade.exit_notional / trade.exit_qty,
            entry_ns=trade.entry_ns,
            exit_ns=ts_ns,
            gross_pnl=trade.realized,
            fees=trade.fees,
            mae=trade.mae,
            mfe=trade.mfe,
            initial_risk=risk,
            fill_ids=tuple(trade.fill_ids),
        )


# --- the comparison ---------------------------------------------------------------------------------

SPECS = [
    ContractSpec(symbol="ES", point_value=50.0, tick_size=0.25, fee_per_side=1.40),
    ContractSpec(symbol="MES", point_value=5.0, tick_size=0.25, fee_per_side=0.37),
    ContractSpec(symbol="CL", point_value=1000.0, tick_size=0.01, fee_per_side=0.0),
]

prices = st.one_of(
    st.integers(-400, 400).map(lambda ticks: 5000 + ticks * 0.25),  # on the tick grid
    st.floats(0.01, 10_000.0, allow_nan=False, allow_infinity=False),  # anywhere
)


class FillEvent(NamedTuple):
    side: Side
    quantity: int
    price: float
    fees: float | None
    stop_loss: float | None
    repeat: bool  # a fill id already applied (a duplicate)
    bot_id: str  # now and then another bot's fill


class MarkEvent(NamedTuple):
    price: float


events = st.lists(
    st.one_of(
        st.builds(
            FillEvent,
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(1, 7),
            prices,
            st.one_of(st.none(), st.floats(0.0, 25.0, allow_nan=False), st.sampled_from([0.0, 1.24, 2.8])),
            st.one_of(st.none(), prices),
            st.sampled_from([False] * 9 + [True]),
            st.sampled_from(["b1"] * 9 + ["b2"]),
        ),
        st.builds(MarkEvent, prices),
    ),
    max_size=80,
)


def figures(m: FifoMatcher | ReferenceMatcher, price: float) -> tuple[object, ...]:
    lots = [(lot.fill_id, lot.direction, lot.quantity, lot.price, lot.ts_ns) for lot in m.lots]
    return (m.realized, m.fees, m.position, m.open_pnl(price), m.strategy, lots)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(SPECS), events, st.data())
def test_the_rust_matcher_equals_the_python_reference(
    spec: ContractSpec, evts: list[FillEvent | MarkEvent], data: st.DataObject
) -> None:
    m = FifoMatcher(spec, "b1", 7)
    ref = ReferenceMatcher(spec, "b1", 7)
    applied: list[str] = []
    closed = 0
    for i, evt in enumerate(evts):
        if isinstance(evt, MarkEvent):
            m.mark(evt.price)
            ref.mark(evt.price)
        else:
            fill_id = data.draw(st.sampled_from(applied)) if evt.repeat and applied else f"f{i}"
            fill = Execution(
                fill_id=fill_id,
                bot_id=evt.bot_id,
                symbol=spec.symbol,
                side=evt.side,
                quantity=evt.quantity,
                price=evt.price,
                ts_ns=i * 60_000_000_000,
                fees=evt.fees,
                strategy=f"s{i % 3}" if i % 4 else "",
                stop_loss=evt.stop_loss,
            )
            try:
                want = ref.add(fill)
            except ReferenceMatchError as exc:
                with pytest.raises(MatchError) as got:
                    m.add(fill)
                assert str(got.value) == str(exc)
            else:
                trades = m.add(fill)
                assert trades == want  # every field of every closed trade, bit for bit
                closed += len(trades)
                applied.append(fill_id)
        mark = 5000.0 + i
        assert figures(m, mark) == figures(ref, mark)
        assert m.equity(mark) == ref.realized - ref.fees + ref.open_pnl(mark)
    assert all(isinstance(lot, Lot) for lot in m.lots)


def test_the_reversal_and_its_excursions_are_the_references_exactly() -> None:
    """A worked stream (scale in, partial close, reversal, marks), compared field for field."""
    spec = SPECS[1]
    m, ref = FifoMatcher(spec, "b1"), ReferenceMatcher(spec, "b1")
    stream = [
        (Side.BUY, 2, 5000.25, None, 4990.0),
        (Side.BUY, 1, 5001.5, 0.5, None),
        (Side.SELL, 2, 5003.0, None, None),
        (Side.SELL, 4, 4999.75, 3.0, 5010.0),
        (Side.BUY, 1, 4998.0, None, None),
        (Side.BUY, 2, 4997.25, None, None),
    ]
    closed: list[RoundTrip] = []
    for i, (side, quantity, price, fee, stop) in enumerate(stream):
        fill = Execution(
            fill_id=f"f{i}",
            bot_id="b1",
            symbol="MES",
            side=side,
            quantity=quantity,
            price=price,
            ts_ns=i,
            fees=fee,
            stop_loss=stop,
        )
        got = m.add(fill)
        assert got == ref.add(fill)
        closed += got
        m.mark(price + 3.0)
        ref.mark(price + 3.0)
    assert [t.fill_ids for t in closed] == [("f0", "f1", "f2", "f3"), ("f3", "f4", "f5")]
    assert [t.direction for t in closed] == [1, -1]
    assert m.position == ref.position == 0


@pytest.mark.parametrize(
    ("price", "fees"), [(math.nan, None), (math.inf, None), (5000.0, math.nan), (5000.0, math.inf)]
)
def test_a_fill_that_cannot_be_matched_is_refused_and_changes_nothing(
    price: float, fees: float | None
) -> None:
    """A non-finite price or fees (the risk engine refuses such a fill before the ledger sees it)
    would turn every figure into NaN: refused, the matcher as it was, the id not taken."""
    spec = SPECS[0]
    m = FifoMatcher(spec, "b1")
    m.add(Execution(fill_id="f1", bot_id="b1", symbol="ES", side=Side.BUY, quantity=1, price=5000.0, ts_ns=1))
    before = figures(m, 5001.0)
    bad = Execution(
        fill_id="f2", bot_id="b1", symbol="ES", side=Side.SELL, quantity=1, price=price, ts_ns=2, fees=fees
    )
    with pytest.raises(MatchError, match="fill f2: invalid"):
        m.add(bad)
    assert figures(m, 5001.0) == before
    [trade] = m.add(msgspec.structs.replace(bad, price=5001.0, fees=None))
    assert trade.fill_ids == ("f1", "f2")
