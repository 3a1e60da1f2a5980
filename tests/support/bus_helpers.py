"""Messages and waits shared by the bus tests and benchmarks."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tsxbot.bus import Message, Subscription
from tsxbot.config.global_config import BusConfig
from tsxbot.messages import AnyEnvelope, Envelope, OrderSubmission, Quote, Side

T0 = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)

# Quick reconnects, so outage tests take fractions of a second.
FAST = {"reconnect_initial_seconds": 0.02, "reconnect_max_seconds": 0.2, "connect_timeout_seconds": 1.0}


def bus_config(backend: str, url: str, namespace: str, **overrides: Any) -> BusConfig:
    # A spill directory of its own (never the working directory's .tsxbot/spill, where one test's
    # unconfirmed messages would be re-sent by the next test using the same namespace).
    # Created only when a bus spills into it.
    overrides.setdefault("spill_dir", str(Path(tempfile.gettempdir()) / f"tsxbot-spill-{uuid.uuid4().hex}"))
    return BusConfig(backend=backend, redis_url=url, namespace=namespace, **{**FAST, **overrides})  # type: ignore[arg-type]


def quote(i: int, symbol: str = "MES") -> AnyEnvelope:
    return Envelope.wrap(
        Quote(
            symbol=symbol, contract_id=f"CON.F.US.{symbol}.Z26", timestamp=T0, bid=5000.0 + i, ask=5000.25 + i
        ),
        "connection-manager",
    )


def order(i: int, bot: str = "bot_1") -> AnyEnvelope:
    return Envelope.wrap(OrderSubmission(order_id=f"{bot}-{i}", symbol="MES", side=Side.BUY, quantity=1), bot)


async def receive(subscription: Subscription, count: int, *, within: float = 5.0) -> list[Message]:
    """Exactly ``count`` messages (fails on a timeout with what arrived so far)."""
    got: list[Message] = []
    try:
        async with asyncio.timeout(within):
            while len(got) < count:
                got.extend(await subscription.next_batch(count - len(got)))
    except TimeoutError:
        raise AssertionError(f"received {len(got)} of {count} messages within {within} s") from None
    return got


async def nothing_more(subscription: Subscription, *, within: float = 0.3) -> list[Message]:
    """What arrives within ``within`` seconds (expected: nothing)."""
    try:
        async with asyncio.timeout(within):
            return await subscription.next_batch()
    except TimeoutError:
        return []


async def eventually(condition: Callable[[], bool], *, within: float = 5.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.01)


def payload_ids(messages: list[Message]) -> list[str]:
    """The order id or the bid of each message, in order (what the test published)."""
    out: list[str] = []
    for m in messages:
        p = m.envelope.payload
        out.append(p.order_id if isinstance(p, OrderSubmission) else f"{p.bid:g}")
    return out
