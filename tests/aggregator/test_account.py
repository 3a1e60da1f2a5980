"""The aggregator watches one account from the start: with no ``topstepx.accountId`` it asks the
connection manager which account it trades, before it handles any fill; another account's fills
and positions (a person trading the practice account on the platform) are ignored and reported."""

from __future__ import annotations

import pytest

from support.agg_harness import AggHarness
from support.bus_helpers import eventually
from support.sim import COMBINE, MES, PRACTICE
from tsxbot.aggregator.trading_state import Cause
from tsxbot.messages import PositionUpdate

MANUAL_BUY = {"contractId": MES, "type": 2, "side": 0, "size": 1}


@pytest.fixture
def backend() -> str:
    return "memory"


async def test_pinned_to_its_account_before_any_order_and_others_are_ignored(agg: AggHarness) -> None:
    await agg.cm.start_manager()
    await agg._listen("bot_2")
    # Another account trades before the aggregator has sent a single order.
    await agg.sim_api("Order/place", {"accountId": PRACTICE, **MANUAL_BUY})
    aggregator = await agg.start_aggregator()
    await eventually(lambda: aggregator.account_id == COMBINE, what="the account the manager trades")
    mark = await agg.wait_mark()
    await agg.sim_api("Order/place", {"accountId": PRACTICE, **MANUAL_BUY})
    await eventually(lambda: aggregator.counters["otherAccounts"] > 0, what="the practice account reported")
    await agg.submit("bot_2", order_id="mine", stop_loss=mark - 4.0, take_profit=mark + 12.0)
    await agg.wait_for("bot_2", PositionUpdate, lambda p: p.net_quantity == 1)
    # Only its own account's fill is counted: no position that no bot owns.
    assert [(b, s, p.quantity) for b, s, p in aggregator.positions.items() if p.quantity] == [
        ("bot_2", "MES", 1)
    ]
    assert aggregator.counters["fills"] == 1
    assert Cause.UNATTRIBUTED not in aggregator.account.causes
    # A person trading its own account is counted (as no bot's).
    await agg.manual_order(side=0)
    await eventually(lambda: aggregator.positions.quantity("", "MES") == 1, what="the unattributed fill")
    assert aggregator.account_id == COMBINE
