"""The L2 book against a plain-Python book written from the documented rules."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tsxbot.messages import Depth, DepthEntry, DomType
from tsxbot.orderbook import DOM_TYPE_CODES, DepthOutcome, OrderBook, apply_depth
from tsxbot.sessions import to_ns

TICK = 0.25


class ReferenceBook:
    """Levels by tick: ``{tick: (volume, ts)}`` per side, removal times, the reset watermark."""

    def __init__(self) -> None:
        self.bids: dict[int, tuple[int, int]] = {}
        self.asks: dict[int, tuple[int, int]] = {}
        self.removed: dict[str, dict[int, int]] = {"bid": {}, "ask": {}}
        self.reset_ts: int | None = None

    def apply(self, ts: int, code: int, price: float, volume: int) -> str:
        if code not in range(1, 12):
            return "IGNORED"
        if self.reset_ts is not None and ts < self.reset_ts:
            return "STALE"
        if code == 6:
            self.bids, self.asks = {}, {}
            self.removed = {"bid": {}, "ask": {}}
            self.reset_ts = ts
            return "APPLIED"
        if not (math.isfinite(price) and price > 0) or volume < 0:
            return "INVALID"
        ratio = price / TICK
        if abs(ratio - round(ratio)) > 1e-6 or abs(ratio) > 1e12:
            return "INVALID"
        tick = round(ratio)
        if code in (5, 7, 8, 11):
            return "APPLIED"
        is_bid = code in (2, 4, 9)
        best = code in (3, 4, 9, 10)
        own, other = (self.bids, self.asks) if is_bid else (self.asks, self.bids)
        own_name, other_name = ("bid", "ask") if is_bid else ("ask", "bid")
        last = max(own[tick][1] if tick in own else -(2**63), self.removed[own_name].get(tick, -(2**63)))
        if last > ts:
            return "STALE"
        crossing = [t for t in other if (t <= tick if is_bid else t >= tick)] if volume > 0 else []
        better = [t for t in own if (t > tick if is_bid else t < tick)] if best else []
        if any(other[t][1] > ts for t in crossing) or any(own[t][1] > ts for t in better):
            return "STALE"
        for t in crossing:
            del other[t]
            self.removed[other_name][t] = max(self.removed[other_name].get(t, ts), ts)
        for t in better:
            del own[t]
            self.removed[own_name][t] = max(self.removed[own_name].get(t, ts), ts)
        if volume == 0:
            own.pop(tick, None)
            self.removed[own_name][tick] = max(self.removed[own_name].get(tick, ts), ts)
        else:
            own[tick] = (volume, ts)
        return "APPLIED"

    def snapshot(self) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
        bids = [(t * TICK, v) for t, (v, _) in sorted(self.bids.items(), reverse=True)]
        asks = [(t * TICK, v) for t, (v, _) in sorted(self.asks.items())]
        return bids, asks


rows = st.tuples(
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=-1, max_value=12),
    st.one_of(
        st.integers(min_value=396, max_value=404).map(lambda t: t * TICK),
        st.sampled_from([math.nan, math.inf, -1.0, 0.0, 100.1]),
    ),
    st.integers(min_value=-1, max_value=9),
)


@settings(max_examples=300)
@given(st.lists(rows, max_size=120))
def test_book_matches_reference_and_keeps_its_invariants(sequence: list[tuple[int, int, float, int]]) -> None:
    book, reference = OrderBook(TICK), ReferenceBook()
    for ts, code, price, volume in sequence:
        outcome = book.apply(ts, code, price, volume)
        assert outcome == getattr(DepthOutcome, reference.apply(ts, code, price, volume))
        assert book.snapshot() == reference.snapshot()
        assert book.is_consistent()
        bid, ask = book.best_bid, book.best_ask
        if bid is not None and ask is not None:
            assert bid[0] < ask[0]
            assert book.spread_ticks is not None and book.spread_ticks >= 1
            assert book.mid == (bid[0] + ask[0]) / 2
    stats = book.stats()
    assert sum(stats[k] for k in ("applied", "stale", "ignored", "invalid")) == len(sequence)


def test_queries_and_batch() -> None:
    book = OrderBook(TICK)
    rows = [(1, 6, 0.0, 0), (1, 2, 100.0, 5), (1, 2, 99.75, 7), (1, 1, 100.5, 3), (1, 1, 100.75, 1)]
    for row in rows:
        book.apply(*row)
    assert book.bids(1) == [(100.0, 5)]
    assert book.asks() == [(100.5, 3), (100.75, 1)]
    assert book.imbalance(1) == 0.25
    assert book.imbalance(2) == (12 - 4) / 16
    assert book.spread == 0.5
    assert book.depth == (2, 2)
    other = OrderBook(TICK)
    arrays = [np.array(c) for c in zip(*rows, strict=True)]
    applied = other.apply_many(
        arrays[0].astype(np.int64),
        arrays[1].astype(np.int64),
        arrays[2].astype(np.float64),
        arrays[3].astype(np.int64),
    )
    assert applied == 5
    assert other.snapshot() == book.snapshot()
    book.reset()
    assert book.depth == (0, 0) and book.imbalance() is None and book.best_bid is None


def test_apply_depth_message_maps_dom_types_by_name() -> None:
    assert sorted(DOM_TYPE_CODES.values()) == list(range(12))
    assert set(DOM_TYPE_CODES) == set(DomType)
    depth = Depth(
        symbol="ES",
        contract_id="CON.F.US.EP.Z25",
        timestamp=dt.datetime(2025, 1, 2, 15, 0, tzinfo=dt.UTC),
        entries=[
            DepthEntry(kind=DomType.RESET, price=0.0, volume=0),
            DepthEntry(kind=DomType.BID, price=5000.0, volume=4),
            DepthEntry(kind=DomType.ASK, price=5000.25, volume=2),
            DepthEntry(kind=DomType.TRADE, price=5000.25, volume=1),
        ],
    )
    book = OrderBook(TICK)
    assert apply_depth(book, depth) == 4
    assert (book.best_bid, book.best_ask) == ((5000.0, 4), (5000.25, 2))
    assert book.last_trade == (5000.25, 1, to_ns(depth.timestamp))
