"""The full-system test's protection check (``support.protection.ProtectionWatch``) on its own,
against a real simulator: it finds a position held without a stop the moment the fill happens,
and accepts one whose stop comes with it (a bracket) or covers it."""

from __future__ import annotations

from support.protection import ProtectionWatch
from support.sim import COMBINE, MES, SimHandle

MARKET, STOP = 2, 4
BUY, SELL = 0, 1


async def _place(sim: SimHandle, **order: object) -> None:
    placed = await sim.api("Order/place", {"accountId": COMBINE, "contractId": MES, **order})
    assert placed["success"], placed


async def test_a_fill_without_its_stop_is_caught_and_a_bracketed_one_is_not(sim: SimHandle) -> None:
    await sim.login()
    watch = ProtectionWatch.install(sim.sim)
    try:
        # A market entry with its stop as a bracket: protected from the fill on.
        await _place(sim, type=MARKET, side=BUY, size=2, stopLossBracket={"ticks": -40, "type": STOP})
        assert watch.checks_holding >= 1 and watch.unprotected == []
        # One more contract without a stop: the position (3) is now covered for 2 only.
        await _place(sim, type=MARKET, side=BUY, size=1)
        assert len(watch.unprotected) == 1
        assert f"{MES} net 3, stops cover 2" in watch.unprotected[0], watch.unprotected
        # Its stop, sent afterwards (a gap until then): covered again, nothing new reported.
        last = (
            await sim.api("Trade/search", {"accountId": COMBINE, "startTimestamp": "2026-11-23T00:00:00Z"})
        )["trades"][-1]["price"]
        await _place(sim, type=STOP, side=SELL, size=1, stopPrice=last - 20.0)
        assert len(watch.unprotected) == 1
        # Flat again (a market sell of all 3): nothing held, nothing to report.
        await _place(sim, type=MARKET, side=SELL, size=3)
        assert len(watch.unprotected) == 1
        assert watch.events > 0 and watch.checks >= 4
    finally:
        watch.uninstall()
