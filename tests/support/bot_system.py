"""The whole trading path for bot tests: a real simulator (paused, pinned start, moved with the
admin clock), a connection manager, the aggregator and bots, on one bus; the bots come from bot
YAML files written into a copy of the example configuration."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from support.bus_helpers import bus_config, eventually
from support.cm_harness import API_KEY
from support.redis_server import free_port
from support.sim import FAST_GATEWAY, START, SimHandle
from tsxbot.aggregator import Aggregator
from tsxbot.bots import BotService
from tsxbot.bus import MessageBus, Subscription, create_bus
from tsxbot.config import DEFAULTS_DIR, Config, load_config
from tsxbot.config.secrets import Secret
from tsxbot.connection_manager.service import ConnectionManager
from tsxbot.journal.aggregator_journal import AggregatorJournal
from tsxbot.messages import BotCommand, BotControl, BotStatus, Envelope, channels
from tsxbot.sim import SimulatorService

SCRIPTED = "support.bot_strategies:Scripted"


def scripted_bot(bot_id: str = "bot_s", symbol: str = "MES", **params: Any) -> str:
    """A bot file running the scripted test strategy on ``symbol``."""
    lines = [
        f"    {k[0].lower() + ''.join(p.title() for p in k.split('_'))[1:]}: {v!r}" for k, v in params.items()
    ]
    text = "\n".join(lines)
    return f"""
bot: {{id: {bot_id}, name: Scripted, enabled: true}}
instrument: {{symbol: {symbol}}}
strategy:
  type: {SCRIPTED}
  params:
    dollarRiskPerTrade: 300
    maxRiskPoints: 20
    timeframe: 1m
{text}
risk: {{maxPositions: 1, maxDailyLoss: 400, maxDrawdown: 800, maxSignalsPerDay: 5}}
tradingHours: {{start: "08:30", end: "15:00", timezone: America/Chicago}}
maxOrderSize: 2
signalCooldownMinutes: 0
"""


def config_dir(root: Path, bots: dict[str, str], keep_examples: bool = False) -> Path:
    directory = root / "config"
    (directory / "bots").mkdir(parents=True)
    shutil.copy(DEFAULTS_DIR / "global.yaml", directory / "global.yaml")
    shutil.copy(DEFAULTS_DIR / "instruments.yaml", directory / "instruments.yaml")
    if keep_examples:
        for path in (DEFAULTS_DIR / "bots").glob("*.yaml"):
            shutil.copy(path, directory / "bots" / path.name)
    for bot_id, text in bots.items():
        (directory / "bots" / f"{bot_id}.yaml").write_text(text)
    return directory


def system_config(directory: Path, *overrides: str, start: str = START) -> Config:
    return load_config(
        directory,
        overrides=[
            "simulator.port=0",
            # The aggregator reaches the connection manager's API here (the day's start on a
            # fresh start): a free port, never the default 7500 a running tsxbot may hold.
            f"services.connectionManager.port={free_port()}",
            f"simulator.startTime={start}",
            "simulator.paused=true",
            "simulator.hub.keepAliveInterval=1",
            *FAST_GATEWAY,
            *overrides,
        ],
        env={},
    )


@dataclass
class System:
    config: Config
    sim: SimHandle
    bus: MessageBus
    cm: ConnectionManager | None = None
    agg: Aggregator | None = None
    bots: dict[str, BotService] = field(default_factory=dict)
    statuses: dict[str, list[BotStatus]] = field(default_factory=dict)
    history: bool = True
    journal_url: str | None = None  # the aggregator's trade journal (none by default)
    _subs: list[Subscription] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        symbols = sorted({b.instrument.symbol for b in self.config.enabled_bots})
        self.cm = ConnectionManager(
            self.config,
            self.bus,
            self.sim.endpoints,
            Secret(API_KEY),
            symbols=symbols,
            http_port=self.config.global_config.services.connection_manager.port,
            clock=self.sim.now,
        )
        await self.cm.start()
        journal = AggregatorJournal(self.config, self.journal_url) if self.journal_url is not None else None
        self.agg = Aggregator(
            self.config,
            self.bus,
            clock=self.sim.now,
            account_id=self.cm.accounts.default_id,  # the account the connection manager trades
            api_key=Secret(API_KEY),
            api_port=0,
            monitoring_port=0,
            journal=journal,
        )
        await self.agg.start()
        for settings in self.config.enabled_bots:
            await self._watch(settings.id)
            await self.start_bot(settings.id)

    async def _watch(self, bot_id: str) -> None:
        self.statuses[bot_id] = []
        sub = await self.bus.subscribe(channels.bot_status(bot_id))
        self._subs.append(sub)

        async def collect() -> None:
            async for message in sub:
                payload = message.envelope.payload
                if isinstance(payload, BotStatus):
                    self.statuses[bot_id].append(payload)

        self._tasks.append(asyncio.create_task(collect()))

    async def start_bot(self, bot_id: str) -> BotService:
        bot = BotService(self.config, bot_id, self.bus, clock=self.sim.now, history=self.history)
        await bot.start()
        self.bots[bot_id] = bot
        return bot

    async def advance(self, seconds: float, step: float = 60.0) -> None:
        """Moves the simulator's clock on, a minute at a time, letting the services catch up."""
        left = seconds
        while left > 0:
            move = min(step, left)
            await self.sim.admin("clock", {"action": "advance", "seconds": move})
            left -= move
            await self.settle()

    def _busy(self) -> bool:
        agg = self.agg
        return agg is not None and (len(agg.queue) > 0 or bool(agg.sent))

    async def settle(self, quiet: float = 0.02, within: float = 10.0) -> None:
        """Waits until everything published has been handled: the bus delivered it, and the
        aggregator has nothing queued or awaiting its result (so the next clock step finds every
        order where it would be on a live market), twice in a row."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        calm = 0
        while calm < 2 and loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self.bus.flush()
            await asyncio.sleep(quiet)
            calm = 0 if self._busy() else calm + 1

    async def control(self, bot_id: str, command: BotCommand, **params: Any) -> None:
        await self.bus.publish(
            channels.bot_control(bot_id),
            Envelope.wrap(
                BotControl(
                    command_id=f"c-{command.value}-{id(params)}",
                    bot_id=bot_id,
                    command=command,
                    params=params,
                ),
                "test",
            ),
        )

    async def until(self, condition: Callable[[], bool], what: str, within: float = 10.0) -> None:
        await eventually(condition, within=within, what=what)

    async def sim_orders(self) -> list[dict[str, Any]]:
        """The simulator's working orders on the trading account (exchange truth, over REST)."""
        if not self.sim.token:
            await self.sim.login()
        orders: list[dict[str, Any]] = (await self.sim.api("Order/searchOpen", {"accountId": self.account}))[
            "orders"
        ]
        return orders

    async def sim_positions(self) -> list[dict[str, Any]]:
        if not self.sim.token:
            await self.sim.login()
        positions: list[dict[str, Any]] = (
            await self.sim.api("Position/searchOpen", {"accountId": self.account})
        )["positions"]
        return positions

    @property
    def account(self) -> int:
        assert self.cm is not None
        return int(self.cm.accounts.default_id)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for bot in list(self.bots.values()):
            with contextlib.suppress(Exception):
                await bot.stop()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.close()
        if self.agg is not None:
            with contextlib.suppress(Exception):
                await self.agg.stop()
        if self.cm is not None:
            with contextlib.suppress(Exception):
                await self.cm.stop()


@contextlib.asynccontextmanager
async def trading_system(
    root: Path,
    bots: dict[str, str],
    *overrides: str,
    start: str = START,
    history: bool = True,
    keep_examples: bool = False,
    backend: str = "memory",
    redis_url: str = "redis://127.0.0.1:1/0",
    journal_url: str | None = None,
) -> AsyncIterator[System]:
    config = system_config(config_dir(root, bots, keep_examples), *overrides, start=start)
    service = SimulatorService(config.global_config.simulator, config.instruments)
    await service.start()
    bus = create_bus(bus_config(backend, redis_url, f"b{id(root) % 10**8}"), client_name="test")
    await bus.start()
    system: System | None = None
    try:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=10.0) as http:
            handle = SimHandle(service, http, config)
            system = System(config, handle, bus, history=history, journal_url=journal_url)
            await system.start()
            yield system
    finally:
        if system is not None:
            await system.stop()
        await bus.close(flush_seconds=1.0)
        await service.stop()
