"""The day's start on a fresh start (no saved state, nothing journaled): from the exchange's
balance and today's trades, never from ``risk.startingBalance``; and the day's realized P&L and
fees after a restart, from the saved state and from the journal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.cm_harness import API_KEY
from support.redis_server import free_port
from support.sim import COMBINE, MES, sim_config
from tsxbot.aggregator import Aggregator, day_start
from tsxbot.aggregator.trading_state import trading_day
from tsxbot.bus import MemoryBus
from tsxbot.config.global_config import BusConfig
from tsxbot.config.secrets import Secret
from tsxbot.messages import AccountUpdate, Envelope, channels

# The account came into today with this balance (a 50K account some days in): risk.startingBalance
# stays 50,000.
YESTERDAY_CLOSE = 51_234.0


async def _trade_earlier_today(agg: AggHarness) -> dict[str, Any]:
    """Two round trips placed by hand on the platform (before the aggregator runs); the account's
    figures at the simulator once the connection manager has them all."""
    account = agg.sim.sim.exchange.accounts[COMBINE]
    for side in (0, 1, 1, 0):
        await agg.sim_api(
            "Order/place", {"accountId": COMBINE, "contractId": MES, "type": 2, "side": side, "size": 1}
        )
    day = trading_day(agg.sim.now())
    today = [t for t in account.trades if trading_day(dt.datetime.fromtimestamp(t.ns / 1e9, dt.UTC)) == day]
    assert len(today) == 4 and all(not t.voided for t in today)
    manager = agg.cm.managers[0]
    await eventually(
        lambda: (
            len(manager.fills(day_start.day_opened_at(day))) == 4
            and manager.normalizer.account(manager.accounts.for_service("aggregator")).balance
            == account.balance
        ),
        within=10,
        what="the connection manager has the trades and the balance",
    )
    assert all(p.net == 0 for p in account.positions.values())
    return {
        "day": account.balance - account.day_start_balance,  # flat: the day is the balance's change
        "realized": sum(t.pnl or 0.0 for t in today),
        "fees": sum(t.fees for t in today),
        "balance": account.balance,
    }


def _pnl(aggregator: Aggregator) -> dict[str, float]:
    pnl = aggregator.status()["pnl"]
    return {k: round(pnl[k], 2) for k in ("daily", "realized", "fees", "balance")}


async def test_a_fresh_start_takes_the_day_start_from_the_exchange(agg: AggHarness, tmp_path: Path) -> None:
    account = agg.sim.sim.exchange.set_account(COMBINE, balance=YESTERDAY_CLOSE)
    assert account is not None
    account.day_start_balance = YESTERDAY_CLOSE
    await agg.cm.start_manager()
    sim = await _trade_earlier_today(agg)
    assert round(sim["day"], 2) == round(sim["realized"] - sim["fees"], 2) != 0
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    first = await agg.start_aggregator(journal_url=url)
    await eventually(lambda: first._pinned.is_set(), within=15, what="the aggregator taking messages")
    status = first.status()
    assert status["dayStart"]["source"] == "exchange" and status["dayStart"]["warning"] is None
    assert round(status["dayStart"]["equity"], 2) == YESTERDAY_CLOSE
    expected = {
        "daily": round(sim["day"], 2),
        "realized": round(sim["realized"], 2),
        "fees": round(sim["fees"], 2),
        "balance": round(sim["balance"], 2),
    }
    assert _pnl(first) == expected
    # The bus delivers the day's fills the connection manager published at its start: they are
    # already in the balance and the day's figures, and stay counted once.
    await eventually(lambda: first.counters["fills"] == 4, within=10, what="the day's fills delivered")
    await eventually(lambda: not first.in_balance, what="the fills read at start delivered")
    assert _pnl(first) == expected
    assert first.status()["limits"]["dailyLoss"]["used"] == max(0.0, -first.engine.daily_pnl)

    # Restarted with its saved state: the day's realized P&L and fees come back with it.
    # (the batch is saved once the journal has written it: wait for that save)
    await eventually(lambda: first.store.writes > 0 and not first._dirty, within=15, what="the state saved")
    async with first._lock:
        await first.save()
    await first.stop()
    second = await agg.start_aggregator(journal_url=url)
    assert second.restored is not None
    assert second.status()["dayStart"]["source"] == "state"
    assert _pnl(second) == expected
    await second.stop()

    # Restarted without it: from the journal's day.
    third = await agg.start_aggregator(journal_url=url, state_key="no-snapshot")
    assert third.restored is None
    assert third.status()["dayStart"]["source"] == "journal"
    assert _pnl(third) == expected


async def test_without_the_exchanges_trades_the_day_starts_at_the_first_balance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connection manager does not answer: the first balance, never risk.startingBalance,
    with a warning on /status."""
    monkeypatch.setattr(day_start, "ATTEMPTS", 2)
    config = sim_config(f"services.connectionManager.port={free_port()}")
    bus = MemoryBus(BusConfig())
    start = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    aggregator = Aggregator(config, bus, clock=lambda: start, account_id=COMBINE, api_key=Secret(API_KEY))
    await aggregator.start()
    try:
        await eventually(lambda: aggregator._pinned.is_set(), within=10, what="the fallback")
        status = aggregator.status()
        assert status["dayStart"]["source"] == "firstBalance"
        assert "could not be had from the exchange" in status["dayStart"]["warning"]
        update = AccountUpdate(account_id=COMBINE, name="sim", balance=YESTERDAY_CLOSE, can_trade=True)
        await bus.publish(channels.CM_ACCOUNT_UPDATES, Envelope.wrap(update, "test"))
        await eventually(lambda: aggregator.engine.balance == YESTERDAY_CLOSE, what="the first balance")
        assert aggregator.engine.daily_pnl == 0.0  # not +1,234 from risk.startingBalance
        assert aggregator.status()["dayStart"]["equity"] == YESTERDAY_CLOSE
    finally:
        await aggregator.stop()
