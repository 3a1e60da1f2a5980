"""Market data through the connection manager: per-symbol channels, bars from trades, and the
gap after a market-hub outage backfilled from History before live data resumes."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from support.bus_helpers import eventually
from support.cm_harness import Harness
from support.sim import running_sim
from tsxbot.messages import Bar, Depth, MarketTrade, Quote, channels


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_quotes_trades_depth_and_bars_per_symbol(harness: Harness) -> None:
    h = harness
    manager = await h.start_manager()
    seen = await h.watch(channels.market_data("MES"))
    await eventually(lambda: any(isinstance(p, Quote) for p, _ in seen), what="a quote")
    await eventually(lambda: any(isinstance(p, Depth) for p, _ in seen), what="depth")
    # Play two and a half minutes of market: trades close at least two one-minute bars.
    await h.sim.admin("clock", {"action": "advance", "seconds": 150})
    await eventually(lambda: sum(isinstance(p, Bar) for p, _ in seen) >= 2, within=10, what="two bars")
    trades = [p for p, _ in seen if isinstance(p, MarketTrade)]
    bars = [p for p, _ in seen if isinstance(p, Bar)]
    for bar in bars:
        assert bar.timeframe == "1m"
        assert bar.end - bar.start == dt.timedelta(minutes=1)
        inside = [t for t in trades if bar.start <= t.timestamp < bar.end]
        assert inside, "a bar with no trade in it"
        assert bar.open == inside[0].price
        assert bar.close == inside[-1].price
        assert bar.high == max(t.price for t in inside)
        assert bar.low == min(t.price for t in inside)
        assert bar.volume == sum(t.size for t in inside)
        assert bar.buy_volume - bar.sell_volume == sum(
            t.size * (1 if t.aggressor == "BUY" else -1) for t in inside if t.aggressor != "UNKNOWN"
        )
    assert manager.market.bars >= 2


async def test_a_first_connect_that_fails_does_not_hold_the_feed_back(harness: Harness) -> None:
    """The market hub refuses the first attempt: there was no outage (nothing to backfill), and
    live data flows as soon as it connects."""
    h = harness
    await h.sim.admin("faults/hub/refuse", {"hub": "market", "seconds": 0.5})
    manager = await h.start_manager()
    seen = await h.watch(channels.market_data("MES"))
    await eventually(lambda: manager.market_hub.connected, within=10, what="the market hub connected")
    await eventually(lambda: any(isinstance(p, Quote) for p, _ in seen), within=5, what="a quote")
    assert manager.market_hub.connects == 1


async def test_gap_after_an_outage_is_backfilled_before_live_data() -> None:
    """Bars stay contiguous across a market-hub outage, once each: the bar forming when the feed
    dropped and the missed bars come from History before any live event, and the first bar
    after the reconnect (which started mid-bar) is replaced by History's when it closes."""
    async with running_sim("simulator.speed=40", login=False) as sim:  # a 4 s outage: ~3 minutes of market
        h = Harness(sim, "memory", "redis://127.0.0.1:1/0", "gap")
        try:
            manager = await h.start_manager()
            seen = await h.watch(channels.market_data("MES"))
            await eventually(
                lambda: sum(isinstance(p, Bar) for p, _ in seen) >= 1, within=10, what="a live bar"
            )
            await sim.admin("faults/hub/refuse", {"hub": "market", "seconds": 4.0})
            await sim.admin("faults/hub/drop", {"hub": "market"})
            await eventually(lambda: not manager.market_hub.connected, what="market hub down")
            before = len(seen)
            await eventually(
                lambda: manager.market_hub.connected and manager.market.backfilled_bars >= 2,
                within=15,
                what="reconnect and backfill",
            )
            await eventually(lambda: any(m.get("repaired") for _, m in seen), within=15, what="repaired bar")
            await eventually(
                lambda: any(
                    isinstance(p, Bar) and not (m.get("backfill") or m.get("repaired"))
                    for p, m in seen[before:]
                ),
                within=15,
                what="a live bar after the repair",
            )
            after = seen[before:]
            backfilled = [i for i, (p, m) in enumerate(after) if isinstance(p, Bar) and m.get("backfill")]
            live = [i for i, (_p, m) in enumerate(after) if not m.get("backfill")]
            assert backfilled
            assert min(live) > max(backfilled), "live data went out before the backfill"
            bars = [p for p, _ in seen if isinstance(p, Bar)]
            starts = [b.start for b in bars]
            assert starts == sorted(starts)
            assert len(starts) == len(set(starts)), "a bar was published twice"
            assert all(b - a == dt.timedelta(minutes=1) for a, b in itertools.pairwise(starts)), starts
            assert not any(m.get("partial") for _, m in seen)
        finally:
            await h.close()
