"""An aggregator between test "bots" and a real connection manager on a real simulator and bus:
the test acts as the bots (it publishes submissions and reads ``bot:{id}:orders``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.bus_helpers import eventually
from support.cm_harness import API_KEY, Harness
from support.sim import MES, sim_config
from tsxbot.aggregator import Aggregator
from tsxbot.aggregator.persistence import StateStore
from tsxbot.bots.service import ORDER_BATCH
from tsxbot.bus import Subscription, ack_all
from tsxbot.config.secrets import Secret
from tsxbot.journal.aggregator_journal import AggregatorJournal
from tsxbot.messages import (
    AggregatorControl,
    BotHeartbeat,
    BotRegistration,
    ControlAction,
    Envelope,
    OrderSubmission,
    OrderType,
    Side,
    channels,
)


@dataclass
class AggHarness:
    cm: Harness
    aggregators: list[Aggregator] = field(default_factory=list)
    # What each bot received on bot:{id}:orders, and everything on aggregator:risk.
    received: dict[str, list[Any]] = field(default_factory=dict)
    risk: list[Any] = field(default_factory=list)
    # Set whenever a bot receives something (for waits without polling).
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _subs: list[Subscription] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    _client: Any = None

    async def client(self) -> Any:
        """The bots' bus client: one, so what a test publishes arrives in the order it was sent."""
        if self._client is None:
            self._client = await self.cm.bus()
        return self._client

    @property
    def sim(self) -> Any:
        return self.cm.sim

    async def start(
        self, *overrides: str, bots: tuple[str, ...] = ("bot_2", "bot_3"), journal_url: str | None = None
    ) -> Aggregator:
        if not self.cm.managers:
            await self.cm.start_manager()
        if not self._subs:
            for bot in bots:
                await self._listen(bot)
        return await self.start_aggregator(*overrides, journal_url=journal_url)

    async def start_aggregator(
        self, *overrides: str, journal_url: str | None = None, state_key: str = "state"
    ) -> Aggregator:
        """``journal_url``: with a trade journal there; ``state_key``: another one starts without
        the previous run's state snapshot."""
        # It asks the connection manager which account to trade (none is configured).
        manager = (
            [f"services.connectionManager.port={self.cm.managers[0].api.port}"] if self.cm.managers else []
        )
        config = sim_config(*manager, *overrides)
        aggregator = Aggregator(
            config,
            await self.cm.bus(),
            clock=self.sim.now,
            api_key=Secret(API_KEY),
            api_port=0,
            monitoring_port=0,
            journal=AggregatorJournal(config, journal_url) if journal_url is not None else None,
        )
        aggregator.store = StateStore(aggregator.store.journal, state_key)
        await aggregator.start()
        self.aggregators.append(aggregator)
        return aggregator

    @property
    def agg(self) -> Aggregator:
        return self.aggregators[-1]

    async def _listen(self, bot: str) -> None:
        bus = await self.cm.bus()
        self.received[bot] = []
        sub = await bus.subscribe(channels.bot_orders(bot), group=bot)
        self._subs.append(sub)
        self._tasks.append(asyncio.create_task(self._collect(sub, self.received[bot])))
        risk = await bus.subscribe(channels.AGGREGATOR_RISK, group=f"risk-{bot}")
        if bot == "bot_2":
            self._subs.append(risk)
            self._tasks.append(asyncio.create_task(self._collect(risk, self.risk)))
        else:
            await risk.close()

    async def _collect(self, sub: Subscription, into: list[Any]) -> None:
        """Reads as a bot does (``BotService._consume_orders``): what has arrived is one batch,
        kept in order, then acknowledged together (one round trip over Redis, not one each)."""
        while batch := await sub.next_batch(ORDER_BATCH):
            into.extend(message.envelope.payload for message in batch)
            self.arrived.set()
            await ack_all(batch)

    async def submit(self, bot: str, **fields: Any) -> OrderSubmission:
        fields.setdefault("symbol", "MES")
        fields.setdefault("side", Side.BUY)
        fields.setdefault("quantity", 1)
        submission = OrderSubmission(**fields)
        bus = await self.client()
        await bus.publish(channels.AGGREGATOR_ORDERS, Envelope.wrap(submission, bot))
        return submission

    async def register(self, bot: str, config_hash: str) -> None:
        bus = await self.client()
        await bus.publish(
            channels.AGGREGATOR_ORDERS,
            Envelope.wrap(BotRegistration(bot_id=bot, config_hash=config_hash), bot),
        )

    async def heartbeat(self, bot: str) -> None:
        bus = await self.client()
        await bus.publish(channels.AGGREGATOR_HEARTBEATS, Envelope.wrap(BotHeartbeat(bot_id=bot), bot))

    async def manual_order(self, side: int, size: int = 1) -> None:
        """A trade placed by a person on the platform: no tag, no bot."""
        await self.sim_api(
            "Order/place",
            {"accountId": self.sim.account_id, "contractId": MES, "type": 2, "side": side, "size": size},
        )

    async def control(self, action: ControlAction, bot_id: str | None = None) -> None:
        bus = await self.client()
        command = AggregatorControl(
            command_id=f"k-{action.value}-{bot_id}",
            action=action,
            requested_by="test",
            reason="test",
            bot_id=bot_id,
        )
        await bus.publish(channels.AGGREGATOR_CONTROL, Envelope.wrap(command, "test"))

    def of(self, bot: str, kind: type[Any], where: Callable[[Any], bool] = lambda _p: True) -> list[Any]:
        return [p for p in self.received.get(bot, []) if isinstance(p, kind) and where(p)]

    async def wait_for(
        self, bot: str, kind: type[Any], where: Callable[[Any], bool] = lambda _p: True, within: float = 10.0
    ) -> Any:
        await eventually(
            lambda: bool(self.of(bot, kind, where)), within=within, what=f"{kind.__name__} at {bot}"
        )
        return self.of(bot, kind, where)[-1]

    async def wait_mark(self, symbol: str = "MES") -> float:
        await eventually(lambda: self.agg.engine.mark_price(symbol) > 0, what=f"a {symbol} quote")
        return self.agg.engine.mark_price(symbol)

    async def sim_api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A call to the simulator's REST API (as a person on the platform would make it)."""
        if not self.sim.token:
            await self.sim.login()
        result: dict[str, Any] = await self.sim.api(path, body)
        return result

    async def open_orders(self) -> list[dict[str, Any]]:
        data = await self.sim_api("Order/searchOpen", {"accountId": self.sim.account_id})
        return list(data["orders"])

    async def close(self) -> None:
        for aggregator in reversed(self.aggregators):
            with contextlib.suppress(Exception):
                await aggregator.stop()
        for sub in self._subs:
            # Bounded: a Redis reader that missed its cancellation (seen under load) must not
            # hold the teardown; the bus closes it again.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sub.close(), 3)
        for task in self._tasks:
            task.cancel()
        await self.cm.close()


def limit_buy(order_id: str, price: float, quantity: int = 1) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "order_type": OrderType.LIMIT,
        "limit_price": price,
        "quantity": quantity,
        "stop_loss": price - 5.0,
        "take_profit": price + 10.0,
    }
