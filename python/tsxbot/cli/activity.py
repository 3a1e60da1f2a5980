"""What a person running ``run-all`` wants to see as it happens: every fill, every closed trade
with its P&L, every risk refusal, one readable INFO line each (logger ``tsxbot.activity``)."""

from __future__ import annotations

import asyncio

from tsxbot.alerts.format import describe_close, describe_fill
from tsxbot.bus import MessageBus, RedisBus, Subscription
from tsxbot.bus.errors import BusError
from tsxbot.log import get_logger
from tsxbot.messages import Fill, RiskRejection, channels
from tsxbot.runtime import Service

log = get_logger("tsxbot.activity")
GROUP = "console"


CHANNELS = (channels.CM_FILLS, channels.AGGREGATOR_RISK)


class ActivityLog(Service):
    """Subscribes to the fills and the risk refusals (its own consumer group, ``console``) and
    logs what happens from its start on. Over Redis the group is created at the end of the streams
    at start (not their history) and removed at stop: it exists only while run-all runs (a group
    nobody reads would keep the streams from being trimmed)."""

    name = "console"

    def __init__(self, bus: MessageBus) -> None:
        super().__init__()
        self.bus = bus
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if isinstance(self.bus, RedisBus):  # a group of its own that reads from now on
            await self.bus.remove_group(GROUP, CHANNELS, recreate=True)
        self._subscription = await self.bus.subscribe(CHANNELS, group=GROUP)
        self._task = asyncio.create_task(self._run(self._subscription), name="console-activity")

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
        if isinstance(self.bus, RedisBus):
            try:
                await self.bus.remove_group(GROUP, CHANNELS)
            except (BusError, TimeoutError) as exc:
                log.warning("could not remove the console's consumer group", group=GROUP, error=str(exc))

    async def _run(self, subscription: Subscription) -> None:
        async for message in subscription:
            payload = message.envelope.payload
            try:
                if isinstance(payload, Fill):
                    log.info(describe_fill(payload), account=payload.account_id, fill_id=payload.fill_id)
                    if payload.realized_pnl is not None:
                        log.info(describe_close(payload), account=payload.account_id)
                elif isinstance(payload, RiskRejection):
                    owner = f" of {payload.bot_id}" if payload.bot_id else ""
                    log.warning(
                        f"risk refused order {payload.order_id}{owner}: {payload.reason.value}: "
                        f"{payload.message}",
                        stage=payload.stage.value,
                    )
            except Exception:  # a line that cannot be written must not end the console's reading
                log.exception("could not show an event", type=message.envelope.type.value)
            finally:
                await message.ack()
