"""``tsxbot aggregator`` as its own process over Redis, beside a test's in-process connection
manager (``AggHarness``): the same namespace, the manager's API (where it asks which account to
trade) and the manager's API key, free ports for its own API and monitoring.

``long_position`` is the kill -9 tests' set-up: the manager in the test, the aggregator as a
process, bot_2 long 1 with its bracket; ``Crash`` kills (SIGKILL) and restarts the process, and
every process it started is killed at the end whatever happened."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.cm_harness import API_KEY, Harness
from support.processes import clean_env, start, stop
from support.redis_server import RedisServer, free_port
from support.sim import SimHandle
from support.strategy_feed import instrument
from tsxbot.journal import JournalStore, execution, make_engine, schema
from tsxbot.messages import Fill, PositionUpdate, RiskRejection, Side
from tsxbot.pnl import Ledger, spec_for

KEY = API_KEY  # one key for the manager and the aggregator, as `tsxbot run-all` has it


@dataclass
class AggProcess:
    """Starts ``tsxbot aggregator`` (again) with the same ports; its journal is the default
    ``tsxbot-journal.db`` in ``tmp_path``."""

    tmp_path: Path
    redis_url: str
    h: AggHarness
    overrides: tuple[str, ...] = ()
    api_port: int = field(default_factory=free_port)
    monitoring_port: int = field(default_factory=free_port)

    def start(self) -> subprocess.Popen[str]:
        sets = [
            f"bus.namespace={self.h.cm.namespace}",
            f"system.logDir={self.tmp_path / 'logs'}",
            f"services.aggregator.apiPort={self.api_port}",
            f"services.aggregator.monitoringPort={self.monitoring_port}",
            f"services.connectionManager.port={self.h.cm.managers[0].api.port}",
            *self.overrides,
        ]
        return start(
            "aggregator",
            "--redis",
            self.redis_url,
            *(arg for value in sets for arg in ("--set", value)),
            cwd=self.tmp_path,
            env=clean_env(TSXBOT_API_KEY=KEY),
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


async def enter(
    h: AggHarness,
    process: subprocess.Popen[str],
    filled: Callable[[PositionUpdate], bool] = lambda p: p.net_quantity == 1,
    bot: str = "bot_2",
) -> str:
    """``bot`` buys 1 with a bracket once the process takes orders (until its first quote after a
    start it has no exchange clock or price and refuses): returns the order id that filled, once
    the bot's position is ``filled``."""
    for attempt in range(40):
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        order_id = f"e{uuid.uuid4().hex[:8]}-{attempt}"
        await h.submit(bot, order_id=order_id, stop_loss_ticks=16, take_profit_ticks=48)

        def answered(oid: str = order_id) -> bool:
            refused = h.of(bot, RiskRejection, lambda r: r.order_id == oid)
            return bool(h.of(bot, PositionUpdate, filled)) or bool(refused)

        try:
            await eventually(answered, within=5)
        except AssertionError:
            continue
        if h.of(bot, PositionUpdate, filled):
            return order_id
        await asyncio.sleep(0.3)
    raise AssertionError(f"the aggregator process never took an order: {h.received}")


async def api(process: AggProcess, path: str) -> dict[str, Any]:
    """A GET on the aggregator process's API, its JSON body."""
    async with httpx.AsyncClient(base_url=process.base_url, headers={"X-API-Key": KEY}) as client:
        body: dict[str, Any] = (await client.get(path)).json()
        return body


async def sim_balance(sim: SimHandle) -> float:
    """The simulator account's balance (over REST)."""
    await sim.login()
    accounts = (await sim.api("Account/search", {"onlyActiveAccounts": True}))["accounts"]
    return float(next(a["balance"] for a in accounts if a["id"] == sim.account_id))


@dataclass
class Crash:
    """The aggregator process of a kill -9 test: every process started, the last one running."""

    h: AggHarness
    process: AggProcess
    start_balance: float = 0.0  # the simulator account's, before the process traded
    entry: str = ""  # the order id of bot_2's first entry
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def running(self) -> subprocess.Popen[str]:
        return self.started[-1]

    def kill(self) -> None:
        """SIGKILL: no goodbye, nothing flushed."""
        self.running.kill()
        self.running.wait(10)

    def restart(self) -> subprocess.Popen[str]:
        self.started.append(self.process.start())
        return self.running

    async def status_until(
        self, condition: Callable[[dict[str, Any]], bool], within: float = 30.0
    ) -> dict[str, Any]:
        """The running process's ``/status`` once ``condition`` holds (its API may still be
        starting); the process must stay up meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        status: dict[str, Any] = {}
        while loop.time() < deadline:
            assert self.running.poll() is None, self.running.stdout.read() if self.running.stdout else ""
            try:
                status = await api(self.process, "/status")
            except httpx.HTTPError:
                status = {}
            if status and condition(status):
                return status
            await asyncio.sleep(0.05)
        raise AssertionError(f"status never reached the condition: {status}")

    async def kill_and_restart(self, cause: str, state: str) -> None:
        """Kill, a new process, and its state held by ``cause``."""
        self.kill()
        self.restart()
        status = await self.status_until(lambda s: cause in s["why"])
        assert status["tradingState"] == state, status


@asynccontextmanager
async def long_position(
    tmp_path: Path, redis: RedisServer, sim: SimHandle, *overrides: str
) -> AsyncIterator[Crash]:
    """A connection manager in the test, the aggregator as a process (its journal the default
    file in ``tmp_path``), bot_2 long 1 with its bracket. Every aggregator process started is
    killed at the end whatever happened."""
    h = AggHarness(Harness(sim, "redis", redis.url, f"c{uuid.uuid4().hex[:10]}"))
    crash = Crash(h, AggProcess(tmp_path, redis.url, h, overrides))
    try:
        await h.cm.start_manager()
        await h._listen("bot_2")
        crash.start_balance = await sim_balance(sim)
        crash.entry = await enter(h, crash.restart())
        await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
        yield crash
    finally:
        for process in crash.started:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        await h.close()


# --- the journal's kill -9 tests: bot_2's day around the crash ------------------------------------


async def out_and_in_again(h: AggHarness) -> None:
    """bot_2 (long 1) sells out, then buys 1 again with its bracket: three fills, long 1."""
    await h.submit("bot_2", order_id="x1", side=Side.SELL)
    await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0)
    await h.submit("bot_2", order_id="second", stop_loss_ticks=16, take_profit_ticks=48)
    await eventually(
        lambda: h.of("bot_2", PositionUpdate)[-1].net_quantity == 1, within=15, what="the second entry"
    )
    await eventually(lambda: len(h.of("bot_2", Fill)) == 3, within=15, what="three fills")


async def out_and_stop(crash: Crash) -> float:
    """After the restart bot_2 sells its 1 (an exit only if the long came back): four fills,
    flat; then the process stops on SIGTERM (exit 0). The simulator's balance at the end."""
    h = crash.h
    await h.submit("bot_2", order_id="x2", side=Side.SELL)
    await eventually(lambda: len({f.fill_id for f in h.of("bot_2", Fill)}) == 4, within=15, what="4 fills")
    await h.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 0, within=15)
    end_balance = await sim_balance(h.sim)
    code, output = stop(crash.running, signal.SIGTERM)
    assert code == 0, output
    return end_balance


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


def assert_journal_is_the_day(crash: Crash, end_balance: float) -> None:
    """The journal holds each of bot_2's fills once (none lost), its two round trips, and its
    realized P&L net of fees is the simulator account's balance change to the cent."""
    keys, trades, net = journal_day(crash.process.tmp_path / "tsxbot-journal.db")
    assert keys == {str(f.fill_id) for f in crash.h.of("bot_2", Fill)}  # each fill once, none lost
    assert trades == 2
    assert net == pytest.approx(round(end_balance - crash.start_balance, 2), abs=0.001)
