"""Positions, P&L, fees and balance, and TopStepX's rules: the trailing Maximum Loss Limit,
the daily loss limit, the position limit, trading hours and the 15:10 CT auto-flatten."""

from __future__ import annotations

from typing import Any

import pytest

from support.exchange import SECOND, advance, make, market, place, prints_between
from support.sim import COMBINE, ES, MES, PRACTICE, running_sim
from tsxbot.config.simulator import SimAccount
from tsxbot.gateway.enums import OrderStatus
from tsxbot.sim.accounts.state import Account, Breach


def test_realized_pnl_uses_the_tick_value_and_fees_come_off_the_balance() -> None:
    sim, events = make()
    assert place(sim, size=2, account_id=PRACTICE).ok
    entry = list(events.trades)
    advance(sim, 120)
    assert place(sim, side=1, size=2, account_id=PRACTICE).ok
    exits = events.trades[len(entry) :]
    assert all(t.pnl is None for t in entry) and all(t.pnl is not None for t in exits)
    avg_entry = sum(t.price * t.size for t in entry) / 2
    expected = sum((t.price - avg_entry) * t.size * 12.5 for t in exits)
    assert sum(t.pnl or 0 for t in exits) == pytest.approx(expected)
    account = sim.exchange.accounts[PRACTICE]
    fees = sum(t.fees for t in events.trades)
    assert fees == pytest.approx(4 * 1.40)
    assert account.balance == pytest.approx(50_000 + expected - fees)
    assert account.positions == {}
    assert events.positions[-1][1] == 0  # the closing push says size 0


def test_a_fill_through_flat_books_a_closing_and_an_opening_leg() -> None:
    sim, events = make()
    place(sim, size=1, account_id=PRACTICE)
    place(sim, side=1, size=3, account_id=PRACTICE)
    closing, opening = events.trades[-2:]
    assert (closing.size, opening.size) == (1, 2)
    assert closing.pnl is not None and opening.pnl is None
    position = sim.exchange.accounts[PRACTICE].positions[ES]
    assert position.net == -2 and position.avg == opening.price


def test_micro_fees_and_tick_values() -> None:
    sim, events = make()
    place(sim, contract_id=MES, size=10, account_id=PRACTICE)
    assert sum(t.fees for t in events.trades) == pytest.approx(10 * 0.37)


def test_the_trailing_max_loss_liquidates_and_ends_trading() -> None:
    sim, _ = make()
    m = market(sim)
    sim.exchange.set_account(COMBINE, balance=48_004.0)
    resting = place(sim, type=1, limit_price=(m.bid - 40) * 0.25)
    account = sim.exchange.accounts[COMBINE]
    assert account.breach is None
    assert place(sim, size=4).ok  # the fees alone ($5.60) take equity under the $48,000 level
    assert account.breach is Breach.MAX_LOSS and account.can_trade is False
    assert account.positions == {}
    assert sim.exchange.orders[resting.order_id].status is OrderStatus.CANCELLED
    refused = place(sim)
    assert refused.code == 4
    advance(sim, 60)
    assert account.can_trade is False  # a broken Maximum Loss Limit does not come back


def test_an_open_loss_through_the_max_loss_level_liquidates_at_that_print() -> None:
    sim, events = make()
    sim.exchange.set_account(COMBINE, balance=48_150.0)
    start = sim.clock.now_ns()
    assert place(sim, size=4).ok
    account = sim.exchange.accounts[COMBINE]
    entry = account.positions[ES].avg
    balance = account.balance  # after the entry fees
    # The first print at which 4 ES marked to that price leave equity at or under $48,000.
    ahead = prints_between(sim, start, start + 3600 * SECOND)
    breach_at = next(ns for ns, p, _, _ in ahead if balance + (p - entry) * 4 * 12.5 <= 48_000)
    advance(sim, (breach_at - start) / SECOND - 1)
    assert account.breach is None
    advance(sim, 2)
    assert account.breach is Breach.MAX_LOSS and account.positions == {}
    liquidation = [t for t in events.trades if t.ns == breach_at]
    assert liquidation and sum(t.size for t in liquidation) == 4


def test_the_max_loss_level_trails_end_of_day_highs_and_stops_at_the_start() -> None:
    account = Account.from_config(SimAccount(id=1, name="X", max_loss=2000.0))
    assert account.max_loss_level == 48_000
    account.balance = 51_000
    account.end_of_day()
    assert account.max_loss_level == 49_000
    account.balance = 49_500  # a losing day never moves it down
    account.end_of_day()
    assert account.max_loss_level == 49_000
    account.balance = 53_000
    account.end_of_day()
    assert account.max_loss_level == 50_000  # capped at the starting balance


def test_end_of_day_runs_when_the_next_session_starts() -> None:
    sim, _ = make("simulator.startTime=2026-11-24T21:50:00Z")  # 15:50 CT
    account = sim.exchange.accounts[COMBINE]
    sim.exchange.set_account(COMBINE, balance=51_000.0)
    advance(sim, 20 * 60)  # past 17:00 CT: a new trading day
    assert account.max_loss_level == 49_000 and account.day_start_balance == 51_000


def test_a_daily_loss_limit_breach_flattens_and_blocks_until_the_next_session() -> None:
    sim, _ = make(
        "simulator.startTime=2026-11-24T20:30:00Z",  # 14:30 CT
        "simulator.exchange.autoFlattenAt=null",
        "simulator.accounts=[{id: 1001, name: D, dailyLossLimit: 30}]",
    )
    assert place(sim, size=5).ok
    account = sim.exchange.accounts[COMBINE]
    if account.breach is None:
        advance(sim, 5)
    assert account.breach is Breach.DAILY_LOSS and account.positions == {}
    assert place(sim).code == 4
    advance(sim, 2.5 * 3600 + 60)  # 17:01 CT: the next session
    assert account.can_trade and account.breach is None
    assert place(sim).ok


def test_orders_that_would_exceed_the_position_limit_are_rejected() -> None:
    sim, _ = make()
    assert place(sim, size=6).message == "Order would exceed the maximum position size of 5 contracts."
    assert place(sim, contract_id=MES, size=51).code == 2
    assert place(sim, contract_id=MES, size=30).ok  # 3 minis
    m = market(sim)
    assert place(sim, type=1, limit_price=(m.bid - 30) * 0.25, size=2).ok  # 5 if it fills
    assert place(sim, size=1).code == 2  # the working order counts


def test_orders_outside_trading_hours_are_refused_with_code_5() -> None:
    for start in ("2026-11-24T22:30:00Z", "2026-11-28T15:00:00Z"):  # the daily halt; a Saturday
        sim, _ = make(f"simulator.startTime={start}")
        assert place(sim).code == 5
    sim, _ = make("simulator.startTime=2026-11-24T21:20:00Z")  # 15:20 CT: after TopStepX's day
    assert place(sim).code == 5
    sim, _ = make("simulator.startTime=2026-11-24T21:20:00Z", "simulator.exchange.rejectAfterFlatten=false")
    assert place(sim).ok


def test_positions_and_orders_are_flattened_at_1510_central() -> None:
    sim, events = make("simulator.startTime=2026-11-24T21:05:00Z")  # 15:05 CT
    m = market(sim)
    assert place(sim, size=2).ok
    resting = place(sim, type=1, limit_price=(m.bid - 40) * 0.25, account_id=PRACTICE)
    advance(sim, 6 * 60)
    assert sim.exchange.accounts[COMBINE].positions == {}
    assert sim.exchange.orders[resting.order_id].status is OrderStatus.CANCELLED
    assert events.positions[-1][1] == 0
    assert place(sim).code == 5


async def test_partial_close_during_the_halt_is_order_rejected_without_a_message() -> None:
    async with running_sim(
        "simulator.startTime=2026-11-24T21:55:00Z", "simulator.exchange.autoFlattenAt=null"
    ) as s:
        assert (await s.place())["success"]
        await s.admin("clock", {"action": "set", "time": "2026-11-24T22:10:00Z"})  # 16:10 CT
        body = await s.api(
            "Position/partialCloseContract", {"accountId": COMBINE, "contractId": ES, "size": 1}
        )
        assert (body["errorCode"], body["errorMessage"]) == (6, None)
        body = await s.api("Position/closeContract", {"accountId": COMBINE, "contractId": ES})
        assert body["errorCode"] == 5


async def test_breached_accounts_drop_out_of_active_accounts() -> None:
    async with running_sim() as s:
        await s.admin(f"accounts/{COMBINE}", {"canTrade": False})
        body: dict[str, Any] = await s.api("Account/search", {"onlyActiveAccounts": True})
        assert [a["id"] for a in body["accounts"]] == [PRACTICE]
        everything = await s.api("Account/search", {"onlyActiveAccounts": False})
        assert {a["id"]: a["canTrade"] for a in everything["accounts"]} == {COMBINE: False, PRACTICE: True}
