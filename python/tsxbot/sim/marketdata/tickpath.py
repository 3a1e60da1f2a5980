"""The prints inside one bar: a path that opens at the bar's open, visits its high and low,
closes at its close, and adds up to its volume, so live trades rebuild exactly the bars that
the History endpoint serves."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from tsxbot.gateway.enums import TradeLogType

BUY = int(TradeLogType.BUY)
SELL = int(TradeLogType.SELL)


@dataclass(frozen=True)
class TickPath:
    """Prints of one bar, in time order: offsets (ns from the bar's open), prices (ticks),
    sizes, aggressor sides (``TradeLogType``)."""

    offsets: list[int]
    prices: list[int]
    sizes: list[int]
    sides: list[int]

    def __len__(self) -> int:
        return len(self.prices)


def tick_path(
    o: int,
    h: int,
    low: int,
    c: int,
    v: int,
    *,
    duration_ns: int,
    max_trades: int,
    avg_trade_size: float,
    rng: np.random.Generator,
) -> TickPath:
    if v <= 0:
        return TickPath([], [], [], [])
    low_first = rng.random() < (0.65 if c >= o else 0.35)
    way = [o, low, h, c] if low_first else [o, h, low, c]
    points = [way[0]]
    for p in way[1:]:
        if p != points[-1]:
            points.append(p)
    n = round(v / max(avg_trade_size, 1.0))
    n = int(min(v, max(n, len(points), 1), max(max_trades, len(points))))
    if len(points) == 1:
        prices = [o] * n
    else:
        seg = [abs(b - a) for a, b in itertools.pairwise(points)]
        anchors = np.concatenate(([0.0], np.cumsum(seg, dtype=np.float64)))
        total = float(anchors[-1])
        free = n - len(points)
        extra = np.sort(rng.uniform(0.0, total, free)) if free > 0 else np.empty(0)
        pos = np.sort(np.concatenate((anchors, extra)))
        interp = np.rint(np.interp(pos, anchors, np.asarray(points, dtype=np.float64))).astype(np.int64)
        is_anchor = np.isin(pos, anchors)
        jitter = rng.integers(-1, 2, n) * (rng.random(n) < 0.3)
        jitter[is_anchor] = 0
        interp = np.clip(interp + jitter, low, h)
        interp[0], interp[-1] = o, c
        prices = interp.tolist()
    weights = rng.exponential(1.0, n)
    extra_size = rng.multinomial(v - n, weights / weights.sum()) if v > n else np.zeros(n, dtype=np.int64)
    sizes = (extra_size + 1).tolist()
    offsets = np.sort(rng.integers(0, duration_ns, n)).tolist()
    coin = rng.random(n).tolist()
    sides = [BUY if coin[0] < 0.5 else SELL]
    for i in range(1, n):
        step = prices[i] - prices[i - 1]
        if step > 0:
            sides.append(BUY)
        elif step < 0:
            sides.append(SELL)
        else:
            sides.append(sides[-1] if coin[i] < 0.7 else BUY if sides[-1] == SELL else SELL)
    return TickPath(offsets=offsets, prices=prices, sizes=sizes, sides=sides)
