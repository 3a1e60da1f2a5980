from __future__ import annotations

import pytest

from tsxbot.messages import Delivery, channels


def test_spec_tree_names() -> None:
    assert channels.AGGREGATOR_ORDERS.name == "aggregator:orders"
    assert channels.AGGREGATOR_FILLS.name == "aggregator:fills"
    assert channels.AGGREGATOR_STATUS.name == "aggregator:status"
    assert channels.AGGREGATOR_METRICS.name == "aggregator:metrics"
    assert channels.AGGREGATOR_MARKET_DATA.name == "aggregator:market-data"
    assert channels.CM_MARKET_DATA.name == "connection-manager:market-data"
    assert channels.CM_POSITIONS.name == "connection-manager:positions"
    assert channels.CM_ACCOUNT_UPDATES.name == "connection-manager:account-updates"
    assert channels.bot_control("bot_1").name == "bot:bot_1:control"
    assert channels.bot_signals("bot_1").name == "bot:bot_1:signals"
    assert channels.bot_status("bot_1").name == "bot:bot_1:status"
    assert channels.bot_pnl("bot_1").name == "bot:bot_1:pnl"
    assert channels.market_data("MES").name == "connection-manager:market-data:MES"


def test_delivery_classes_follow_the_architecture() -> None:
    durable = {
        channels.AGGREGATOR_ORDERS,
        channels.AGGREGATOR_FILLS,
        channels.AGGREGATOR_RISK,
        channels.CM_COMMANDS,
        channels.CM_ORDER_UPDATES,
        channels.CM_FILLS,
        channels.CM_POSITIONS,
        channels.CM_ACCOUNT_UPDATES,
        channels.bot_control("b"),
        channels.bot_orders("b"),
    }
    assert all(c.delivery is Delivery.DURABLE and c.durable for c in durable)
    ephemeral = {
        channels.CM_MARKET_DATA,
        channels.market_data("ES"),
        channels.AGGREGATOR_STATUS,
        channels.AGGREGATOR_METRICS,
        channels.bot_status("b"),
        channels.bot_pnl("b"),
        channels.bot_signals("b"),
    }
    assert all(c.delivery is Delivery.EPHEMERAL for c in ephemeral)
    assert len({c.name for c in channels.STATIC_CHANNELS}) == len(channels.STATIC_CHANNELS)


@pytest.mark.parametrize("bad", ["", "bot 1", "bot:1", "a/b", "x" * 65])
def test_ids_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid bot id"):
        channels.bot_control(bad)
