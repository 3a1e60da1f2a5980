"""One full simulated trading day, run once for the tests that check it from different sides
(``tests/bots/test_full_system.py``: the bots, the aggregator and the exchange's protection;
``tests/journal/test_full_day.py``: the journal against the exchange).

The day: run-all's services in process on a paused simulator, the three example bots
(``config/bots/*.yaml``, the example configuration unchanged), simulator seed 1, Tuesday
2026-11-24, moved a minute at a time from 07:00 to 15:06 CT, with the aggregator's journal on (a
SQLite file) and ``support.protection.ProtectionWatch`` observing the exchange. The services are
stopped before the tests look: what they check is recorded here (the exchange's history over
REST, the balances, the bots', the aggregator's and the watch's figures, the journal file).

``tests/conftest.py``'s session fixture ``full_day`` runs it (the first test that asks for it
pays for the day)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.bot_system import System, trading_system
from support.protection import ProtectionWatch
from tsxbot.config import Config
from tsxbot.messages import BotStatus

SEED = 1
DAY_START = "2026-11-24T13:00:00Z"  # 07:00 CT
MINUTES = 486  # to 15:06 CT: every bot's flattenAt has passed, before the 15:10 auto-flatten
STEP = 60  # one bar: each bar closes at a step, where the bots decide (as at a live bar close)


@dataclass(frozen=True)
class BotOutcome:
    """A bot at the end of the day, as the bot and the aggregator have it."""

    symbol: str
    position: int
    realized_pnl: float
    fills: int  # its fills counter
    status: BotStatus
    aggregator_quantity: int  # the aggregator's position for it


@dataclass(frozen=True)
class FullDay:
    config: Config
    account: int
    start_balance: float
    end_balance: float
    orders: dict[int, dict[str, Any]]  # every order of the day at the exchange, by id
    exchange_fills: list[dict[str, Any]]  # the exchange's trades (not voided)
    tags: frozenset[str]  # the custom tags the aggregator gave
    bots: dict[str, BotOutcome]
    unprotected: list[str]  # the watch: a position without stops covering it, when and after what
    checks_holding: int
    events: int
    journal_url: str
    journal_flushed: bool  # the journal had written everything within 10 s of the day's end


async def _search(system: System, path: str, key: str) -> list[dict[str, Any]]:
    body = {"accountId": system.account, "startTimestamp": "2026-11-23T00:00:00Z"}
    found: list[dict[str, Any]] = (await system.sim.api(path, body))[key]
    return found


async def _balance(system: System) -> float:
    accounts = (await system.sim.api("Account/search", {"onlyActiveAccounts": True}))["accounts"]
    return float(next(a["balance"] for a in accounts if a["id"] == system.account))


async def run_full_day(root: Path) -> FullDay:
    journal_url = f"sqlite:///{root / 'tsxbot-journal.db'}"
    async with trading_system(
        root,
        {},
        f"simulator.seed={SEED}",
        "simulator.rateLimits.enabled=false",  # the tests read the exchange's whole history at the end
        start=DAY_START,
        keep_examples=True,
        journal_url=journal_url,
    ) as system:
        await system.sim.login()
        start_balance = await _balance(system)
        watch = ProtectionWatch.install(system.sim.sim)
        try:
            for _ in range(MINUTES * 60 // STEP):
                await system.advance(STEP, step=STEP)
            await system.settle()
        finally:
            watch.uninstall()
        end_balance = await _balance(system)
        orders = {o["id"]: o for o in await _search(system, "Order/search", "orders")}
        fills = [t for t in await _search(system, "Trade/search", "trades") if not t.get("voided")]
        agg = system.agg
        assert agg is not None and agg.journal is not None
        bots = {
            bot_id: BotOutcome(
                symbol=bot.symbol,
                position=bot.position,
                realized_pnl=bot.realized_pnl,
                fills=bot.counters["fills"],
                status=bot.status(),
                aggregator_quantity=agg.positions.quantity(bot_id, bot.symbol),
            )
            for bot_id, bot in system.bots.items()
        }
        flushed = await agg.journal.flush(within_s=10)
        return FullDay(
            config=system.config,
            account=system.account,
            start_balance=start_balance,
            end_balance=end_balance,
            orders=orders,
            exchange_fills=fills,
            tags=frozenset(agg.tags),
            bots=bots,
            unprotected=list(watch.unprotected),
            checks_holding=watch.checks_holding,
            events=watch.events,
            journal_url=journal_url,
            journal_flushed=flushed,
        )


def owner(order: dict[str, Any], orders: dict[int, dict[str, Any]], bots: list[str]) -> str | None:
    """The bot an exchange order belongs to: its custom tag (the aggregator's ``<bot>-...``), or
    its bracket parent's."""
    parent = order.get("parentOrderId")
    if parent is not None:
        return owner(orders[parent], orders, bots)
    tag = order.get("customTag") or ""
    return next((b for b in bots if tag.startswith(f"{b}-")), None)
