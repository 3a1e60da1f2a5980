"""The aggregator's saved state: written incrementally (only what changed, pruned to its
windows) yet always equal to the whole state; kept without an expiry, so a halt outlives a
weekend, while the daily figures roll at the CME trading day by the exchange clock."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest

from support.bus_helpers import bus_config
from support.redis_server import RedisServer
from support.sim import sim_config
from tsxbot.aggregator import Aggregator, persistence
from tsxbot.aggregator.persistence import Snapshot, StateStore
from tsxbot.aggregator.trading_state import Cause
from tsxbot.bus import MemoryBus, MessageBus, create_bus
from tsxbot.bus.resp import RedisAddress, RespConnection, pack
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import ControlAction, Fill, OrderSubmission, Quote, Side

ACCOUNT = 1001
MES = "CON.F.US.MES.Z26"


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def whole(snapshot: Snapshot | None) -> dict[str, object]:
    assert snapshot is not None
    fields = msgspec.structs.asdict(snapshot)
    del fields["saved_at"]
    fields["orders"] = [msgspec.structs.replace(o, seq=0) for o in snapshot.orders]
    return fields


async def full_state(aggregator: Aggregator) -> Snapshot | None:
    """The state as a first save writes it whole (another key of the same journal)."""
    store = StateStore(aggregator.store.journal, f"whole-{uuid.uuid4().hex}")
    await store.save(aggregator)
    return await store.load()


async def test_incremental_saves_equal_the_whole_state_and_prune_their_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(persistence, "KEPT_FINAL_ORDERS", 5)
    monkeypatch.setattr(persistence, "KEPT_FILL_IDS", 7)
    monkeypatch.setattr(persistence, "KEPT_EVENTS", 4)
    start = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)
    aggregator = Aggregator(sim_config(), MemoryBus(BusConfig()), clock=Clock(start), account_id=ACCOUNT)
    aggregator.roll_day_if_due()
    await aggregator.on_quote(Quote(symbol="MES", contract_id=MES, timestamp=start, last=5000.0))
    await aggregator.save()
    for i in range(12):
        # An entry queued then sent, a fill of it, and a refused one (unknown symbol): each save
        # writes what changed.
        entry = i % 2 == 0  # an entry with its bracket, then its exit
        submission = OrderSubmission(
            order_id=f"o{i}",
            symbol="MES",
            side=Side.BUY if entry else Side.SELL,
            quantity=1,
            stop_loss=4996.0 if entry else None,
            take_profit=5012.0 if entry else None,
        )
        await aggregator.on_submission(submission, "bot_2", None)
        await aggregator.on_submission(
            OrderSubmission(order_id=f"x{i}", symbol="ZZZ", side=Side.BUY, quantity=1), "bot_2", None
        )
        await aggregator.save()
        item = aggregator.queue.pop()
        assert item is not None
        await aggregator._send(item)
        await aggregator.on_fill(
            Fill(
                account_id=ACCOUNT,
                fill_id=i + 1,
                order_id=f"o{i}",
                exchange_order_id=100 + i,
                contract_id=MES,
                symbol="MES",
                side=submission.side,
                quantity=1,
                price=5000.0,
                timestamp=start,
                bot_id="bot_2",
            )
        )
        if i % 3 == 0:
            await aggregator.control(ControlAction.PAUSE_BOT, "test", f"pause {i}", "bot_3")
        await aggregator.save()
        saved = await aggregator.store.load()
        assert whole(saved) == whole(await full_state(aggregator))
    saved = await aggregator.store.load()
    assert saved is not None
    assert len([o for o in saved.orders if o.status not in ("QUEUED", "SENT")]) == 5
    assert [o.order_id for o in saved.orders if o.status == "REFUSED"] == [f"x{i}" for i in range(7, 12)]
    assert saved.fill_ids == [(ACCOUNT, n) for n in range(6, 13)]
    assert len(saved.events) == 4
    writes = aggregator.store.writes
    await aggregator.save()  # nothing changed: nothing written
    assert aggregator.store.writes == writes


@asynccontextmanager
async def running(bus: MessageBus, clock: Clock) -> AsyncIterator[Aggregator]:
    aggregator = Aggregator(sim_config(), bus, clock=clock, account_id=ACCOUNT)
    await aggregator.start()
    try:
        yield aggregator
    finally:
        await aggregator.stop()


async def test_a_halt_outlives_a_weekend_and_the_day_rolls_by_the_exchange_clock(redis: RedisServer) -> None:
    """Friday 15:00 CT: the daily loss limit halts the account and an operator halts it too. The
    state is kept without an expiry. Restarted at 16:30 CT the same trading day, both causes are
    there; restarted on Monday, the daily loss and the day's figures rolled (17:00 CT, by the
    exchange clock) but the kill-switch halt stays until RESUME."""
    namespace = f"p{uuid.uuid4().hex[:10]}"
    bus = create_bus(bus_config("redis", redis.url, namespace))
    await bus.start()
    clock = Clock(dt.datetime(2026, 11, 27, 21, 0, tzinfo=dt.UTC))  # Friday 15:00 CST
    try:
        async with running(bus, clock) as friday:
            friday.engine.on_balance(48_800.0)  # a loss of 1,200 today (limit 1,000)
            await friday.evaluate()
            await friday.command(ControlAction.HALT, "ops", "weekend")
            assert set(friday.account.why()) == {Cause.DAILY_LOSS.value, Cause.KILL_SWITCH.value}
        conn = await RespConnection.open(RedisAddress("127.0.0.1", redis.port), connect_seconds=2)
        try:
            (ttl,) = await conn.pipeline([pack(b"TTL", f"{namespace}:record:aggregator:state")])
        finally:
            await conn.close()
        assert ttl == -1  # kept until superseded, however long the account sits idle

        clock.at = dt.datetime(2026, 11, 27, 22, 30, tzinfo=dt.UTC)  # 16:30 CT: the same trading day
        async with running(bus, clock) as later:
            assert set(later.account.why()) == {Cause.DAILY_LOSS.value, Cause.KILL_SWITCH.value}
            assert later.engine.daily_pnl == pytest.approx(-1_200.0)
            assert later.current_trading_day == dt.date(2026, 11, 27)

        clock.at = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)  # Monday 09:00 CT
        async with running(bus, clock) as monday:
            assert monday.current_trading_day == dt.date(2026, 11, 30)
            assert monday.account.why().keys() == {Cause.KILL_SWITCH.value}
            assert monday.account.state_name == "HALTED"
            assert monday.engine.daily_pnl == 0
            assert monday.engine.balance == 48_800.0
            await monday.command(ControlAction.RESUME, "ops", "monday")
            assert monday.account.state_name == "ACTIVE"
    finally:
        await bus.close(flush_seconds=1)
