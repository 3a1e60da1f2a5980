"""L2 order book (Rust) fed by ProjectX ``GatewayDepth`` rows.

``OrderBook(tick_size).apply(ts_ns, dom_type, price, volume) -> DepthOutcome``: Reset clears,
Bid/Ask set a level (volume 0 removes it), BestBid/BestAsk also drop better levels on their side,
Trade/Fill and Low/High are recorded without touching the book. Out-of-order rows (older than the
level's last change or than the last reset) are STALE; crossed rows are resolved in favour of the
newer information, so bids always stay strictly below asks. Bad prices are INVALID; nothing raises.
"""

from __future__ import annotations

from tsxbot._core import DepthOutcome, OrderBook
from tsxbot.messages.enums import DomType
from tsxbot.messages.market_data import Depth
from tsxbot.sessions import to_ns

__all__ = ["DOM_TYPE_CODES", "DepthOutcome", "OrderBook", "apply_depth"]

# ProjectX DomType codes by name (tsxbot.messages.DomType carries the names).
DOM_TYPE_CODES: dict[DomType, int] = {
    DomType.UNKNOWN: 0,
    DomType.ASK: 1,
    DomType.BID: 2,
    DomType.BEST_ASK: 3,
    DomType.BEST_BID: 4,
    DomType.TRADE: 5,
    DomType.RESET: 6,
    DomType.LOW: 7,
    DomType.HIGH: 8,
    DomType.NEW_BEST_BID: 9,
    DomType.NEW_BEST_ASK: 10,
    DomType.FILL: 11,
}


def apply_depth(book: OrderBook, depth: Depth) -> int:
    """Applies a bus ``DEPTH`` message's rows in order; returns how many were applied."""
    ts = to_ns(depth.timestamp)
    applied = DepthOutcome.APPLIED
    return sum(book.apply(ts, DOM_TYPE_CODES[e.kind], e.price, e.volume) == applied for e in depth.entries)
