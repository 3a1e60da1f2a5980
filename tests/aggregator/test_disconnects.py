"""Disconnects from the bus count toward the circuit breaker: an aggregator whose Redis
connection keeps dropping stops taking entries (REDUCING) until resumed."""

from __future__ import annotations

import asyncio

from support.bus_helpers import T0, bus_config, eventually
from support.redis_proxy import RedisProxy
from support.redis_server import RedisServer
from support.sim import sim_config
from tsxbot.aggregator import Aggregator
from tsxbot.aggregator.trading_state import Cause
from tsxbot.bus import create_bus
from tsxbot.messages import ControlAction, Envelope, Quote, channels


async def test_repeated_bus_disconnects_trip_the_circuit_breaker(redis: RedisServer) -> None:
    proxy = RedisProxy(redis.host, redis.port)
    await proxy.start()
    bus = create_bus(bus_config("redis", proxy.url, "disc"), client_name="aggregator")
    await bus.start()
    aggregator = Aggregator(sim_config("aggregator.circuitBreakerCount=3"), bus, account_id=1001)
    try:
        await aggregator.start()

        async def publish(i: int) -> None:
            quote = Quote(symbol="MES", contract_id="CON.F.US.MES.Z26", timestamp=T0, last=5000.0 + i)
            await bus.publish(channels.market_data("MES"), Envelope.wrap(quote, "connection-manager"))
            await bus.flush()

        await publish(0)  # the publisher's connection is up
        for i in range(3):
            proxy.answer(b"-ERR injected outage\r\n")  # every connection dropped
            await asyncio.sleep(0.05)
            proxy.forward()
            async with asyncio.timeout(10):
                while bus.metrics().reconnects <= i:  # the publisher reconnects when it next writes
                    await publish(i + 1)
                    await asyncio.sleep(0.05)
        await eventually(
            lambda: Cause.CIRCUIT_BREAKER.value in aggregator.account.why(), within=10, what="breaker"
        )
        assert aggregator.account.state_name == "REDUCING"
        assert any(e.kind == "BUS_DISCONNECT" for e in aggregator.account.events)
        await aggregator.command(ControlAction.RESUME, "test", "back")
        assert aggregator.account.state_name == "ACTIVE"
    finally:
        await aggregator.stop()
        await bus.close(flush_seconds=1)
        await proxy.close()
