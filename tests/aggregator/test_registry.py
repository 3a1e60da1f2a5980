"""The bot registry (registration with the config hash, heartbeats, stale bots, registration
required), the policy for fills no bot owns, and correlation groups, against the simulator."""

from __future__ import annotations

import asyncio

import pytest

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from tsxbot.aggregator.positions import UNATTRIBUTED
from tsxbot.aggregator.registry import MANUAL_BOT, BotRegistry, config_hash
from tsxbot.aggregator.trading_state import Cause
from tsxbot.messages import OrderType, PositionUpdate, RiskReason, RiskRejection, Side


async def test_registration_heartbeats_and_a_stale_bot_are_reported(agg: AggHarness) -> None:
    aggregator = await agg.start("aggregator.heartbeatTimeoutSeconds=0.5")
    expected = config_hash(agg.sim.config.bots["bot_2"].config)
    await agg.register("bot_2", expected)
    await agg.register("bot_3", "not-the-loaded-config")
    await agg.register("ghost", "abc")
    await eventually(lambda: aggregator.registry.get("bot_3").config_hash is not None, what="registered")  # type: ignore[union-attr]
    view = {b["botId"]: b for b in aggregator.registry.view(aggregator.monotonic())}
    assert view["bot_2"]["configHash"] == expected and view["bot_2"]["configMatches"] is True
    assert view["bot_3"]["configMatches"] is False
    kinds = [e.kind for e in aggregator.account.events]
    assert "BOT_CONFIG_MISMATCH" in kinds and "UNKNOWN_BOT_REGISTRATION" in kinds
    # bot_2 keeps its heartbeat; bot_3 goes silent and is reported stale, once.
    for _ in range(8):
        await agg.heartbeat("bot_2")
        await asyncio.sleep(0.1)
    await eventually(
        lambda: any(e.kind == "BOT_STALE" for e in aggregator.account.events), what="stale bot reported"
    )
    stale = [e.message for e in aggregator.account.events if e.kind == "BOT_STALE"]
    assert stale == ["bot bot_3 stopped heartbeating"]


async def test_with_registration_required_an_unregistered_bot_is_refused(agg: AggHarness) -> None:
    await agg.start("aggregator.requireRegistration=true")
    mark = await agg.wait_mark()
    await agg.submit("bot_2", order_id="u1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "u1")
    assert refused.reason is RiskReason.UNKNOWN_BOT and "has not registered" in refused.message
    await agg.register("bot_2", "h")
    await agg.submit("bot_2", order_id="u2", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)


@pytest.mark.parametrize("policy", ["reduce", "halt", "track"])
async def test_a_manual_trade_follows_the_unattributed_policy(agg: AggHarness, policy: str) -> None:
    aggregator = await agg.start(f"aggregator.unattributedFills={policy}")
    await agg.wait_mark()
    await agg.manual_order(side=0)  # a buy on the platform
    await eventually(lambda: aggregator.positions.quantity(UNATTRIBUTED, "MES") == 1, what="unattributed +1")
    assert aggregator.engine.position("MES")[0] == 1  # it counts in the account's risk
    expected = {"reduce": "REDUCING", "halt": "HALTED", "track": "ACTIVE"}[policy]
    await eventually(lambda: aggregator.account.state_name == expected, what=expected)
    await agg.manual_order(side=1)  # closed on the platform
    await eventually(lambda: aggregator.positions.quantity(UNATTRIBUTED, "MES") == 0, what="flat")
    after = {"reduce": "ACTIVE", "halt": "HALTED", "track": "ACTIVE"}[policy]  # a halt waits for RESUME
    await eventually(lambda: aggregator.account.state_name == after, what=after)
    assert Cause.UNATTRIBUTED.value in aggregator.account.why() or policy != "halt"


async def test_correlated_instruments_share_one_limit_in_mini_equivalents(agg: AggHarness) -> None:
    """MES and MNQ in one group of 0.25 mini-equivalents (micros 0.1 each): bot_3's two resting
    MNQ buys and bot_2's MES buy would make 0.3 long: refused; a short in the group is not."""
    aggregator = await agg.start(
        "aggregator.correlationGroups=[{name: idx, symbols: [MES, MNQ], maxContracts: 0.25}]"
    )
    mark = await agg.wait_mark()
    nq = 15000.0
    await agg.submit(
        "bot_3",
        order_id="n1",
        symbol="MNQ",
        quantity=2,
        order_type=OrderType.LIMIT,
        limit_price=nq,
        stop_loss=nq - 10.0,
        take_profit=nq + 20.0,
    )
    await eventually(lambda: aggregator.engine.working_orders == 1, what="MNQ working")
    await agg.submit("bot_2", order_id="m1", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    refused = await agg.wait_for("bot_2", RiskRejection, lambda r: r.order_id == "m1")
    assert refused.reason is RiskReason.CORRELATION_LIMIT
    assert refused.limit == 0.25 and refused.value == pytest.approx(0.3)
    assert aggregator.engine.working_orders == 1  # the refused order is not left working
    await agg.submit("bot_2", order_id="m2", side=Side.SELL, stop_loss=mark + 4.0, take_profit=mark - 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == -1)


def test_the_manual_bot_is_always_known_and_needs_no_registration() -> None:
    registry = BotRegistry([("bot_1", "MES", "abc")], heartbeat_timeout=5.0, require_registration=True)
    assert registry.may_trade(MANUAL_BOT) is not None  # the manual page's orders
    assert registry.may_trade("bot_1") is None  # not registered yet
    assert registry.may_trade("bot_9") is None  # not configured
    assert registry.ids() == ["bot_1", "manual"]
    assert registry.newly_stale(1e9) == []  # never heard from, so never stale
