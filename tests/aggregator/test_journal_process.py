"""``tsxbot aggregator`` as its own process, with its journal (the default SQLite file in its
working directory), killed with SIGKILL in the middle of a trade and started again: every fill of
the day is in the journal once, the day's figures after the restart equal those before, and the
journal's realized P&L net of fees equals the simulator account's balance change to the cent."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.agg_harness import AggHarness
from support.agg_process import KEY, AggProcess, enter
from support.bus_helpers import eventually
from support.cm_harness import Harness
from support.processes import stop
from support.redis_server import RedisServer
from support.sim import SimHandle
from support.strategy_feed import instrument
from tsxbot.journal import JournalStore, execution, make_engine, schema
from tsxbot.messages import Fill, PositionUpdate, Side
from tsxbot.pnl import Ledger, spec_for


async def status(api_port: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", headers={"X-API-Key": KEY}) as api:
        body: dict[str, Any] = (await api.get("/status")).json()
        return body


async def balance(sim: SimHandle) -> float:
    await sim.login()
    accounts = (await sim.api("Account/search", {"onlyActiveAccounts": True}))["accounts"]
    return float(next(a["balance"] for a in accounts if a["id"] == sim.account_id))


def journal_day(path: Path) -> tuple[set[str], int, float]:
    """Fill keys, trades, and realized net of fees from the journal file."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        store = JournalStore(engine)
        fills = store.fills()
        trades = store.count(schema.trades)
        ledger = Ledger({"MES": spec_for(instrument("MES"))})
        ledger.apply_all(execution(f) for f in fills)
        total = ledger.total()
        return {f.key for f in fills}, trades, round(total.realized - total.fees, 2)
    finally:
        engine.dispose()


@pytest.mark.slow
async def test_kill_9_mid_trade_loses_no_journal_row_and_doubles_none(
    tmp_path: Path, redis: RedisServer, sim: SimHandle
) -> None:
    h = AggHarness(Harness(sim, "redis", redis.url, f"j{uuid.uuid4().hex[:10]}"))
    first: subprocess.Popen[str] | None = None
    second: subprocess.Popen[str] | None = None
    journal = tmp_path / "tsxbot-journal.db"
    try:
        await h.cm.start_manager()
        await h._listen("bot_2")
        start_balance = await balance(sim)
        process = AggProcess(tmp_path, redis.url, h)
        api_port = process.api_port
        first = process.start()
        await enter(h, first)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        await h.submit("bot_2", order_id="x1", side=Side.SELL)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
        await h.submit("bot_2", order_id="second", stop_loss_ticks=16, take_profit_ticks=48)
        await eventually(
            lambda: h.of("bot_2", PositionUpdate)[-1].net_quantity == 1, within=15, what="the second entry"
        )
        await eventually(lambda: len(h.of("bot_2", Fill)) == 3, within=15, what="three fills")
        before = (await status(api_port))["pnl"]
        first.kill()  # SIGKILL mid-trade
        first.wait(10)
        keys, trades, _ = journal_day(journal)
        assert (len(keys), trades) == (3, 1)

        second = process.start()

        async def restarted() -> bool:
            try:
                return bool((await status(api_port))["pnl"]["balance"] > 0)
            except httpx.HTTPError:
                return False

        for _ in range(150):
            if await restarted():
                break
            await asyncio.sleep(0.2)
        after = (await status(api_port))["pnl"]
        # The day's P&L less the open position's (the price moves) is the same after the restart.
        assert after["daily"] - after["open"] == pytest.approx(before["daily"] - before["open"], abs=0.005)
        assert before["daily"] - before["open"] == pytest.approx(
            before["realized"] - before["fees"], abs=0.005
        )
        await h.submit("bot_2", order_id="x2", side=Side.SELL)
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0, within=15)
        await eventually(
            lambda: len({f.fill_id for f in h.of("bot_2", Fill)}) == 4, within=15, what="4 fills"
        )
        end_balance = await balance(sim)
        code, output = stop(second, signal.SIGTERM)
        assert code == 0, output
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        await h.close()

    keys, trades, net = journal_day(journal)
    assert keys == {str(f.fill_id) for f in h.of("bot_2", Fill)}  # each fill once, none lost
    assert trades == 2
    assert net == pytest.approx(round(end_balance - start_balance, 2), abs=0.001)
