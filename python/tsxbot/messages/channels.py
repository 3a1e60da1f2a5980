"""The one registry of bus channel names (the spec's tree). No module writes a channel string by
hand: it takes a ``Channel`` from here, which also says how the bus must deliver it.

- ``DURABLE``: must not be lost (Redis Streams + consumer groups + ack, handled once by message id):
  order submissions, order commands, command results, order updates, fills, positions, account
  updates, control commands, risk rejections.
- ``EPHEMERAL``: may be dropped or superseded (pub/sub): market data, status, metrics, P&L, signals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Delivery(StrEnum):
    DURABLE = "DURABLE"
    EPHEMERAL = "EPHEMERAL"


@dataclass(frozen=True)
class Channel:
    name: str
    delivery: Delivery

    @property
    def durable(self) -> bool:
        return self.delivery is Delivery.DURABLE

    def __str__(self) -> str:
        return self.name


_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def _checked(kind: str, value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"invalid {kind} for a channel name: {value!r}")
    return value


# aggregator:*
# Order submissions and registrations from bots (one channel: a bot's registration comes before its orders).
AGGREGATOR_ORDERS = Channel("aggregator:orders", Delivery.DURABLE)
AGGREGATOR_FILLS = Channel("aggregator:fills", Delivery.DURABLE)  # fills, attributed to bots
AGGREGATOR_STATUS = Channel("aggregator:status", Delivery.EPHEMERAL)
AGGREGATOR_METRICS = Channel("aggregator:metrics", Delivery.EPHEMERAL)
AGGREGATOR_MARKET_DATA = Channel("aggregator:market-data", Delivery.EPHEMERAL)
AGGREGATOR_RISK = Channel("aggregator:risk", Delivery.DURABLE)  # risk rejections, all bots
AGGREGATOR_CONTROL = Channel("aggregator:control", Delivery.DURABLE)  # the kill switch
AGGREGATOR_HEARTBEATS = Channel("aggregator:heartbeats", Delivery.EPHEMERAL)  # bots' heartbeats

# account:*
# The account's trading state after every change (``TradingStateChange``, the account id in it):
# durable, so a halt reaches the alerts even when they were restarting.
ACCOUNT_TRADING_STATE = Channel("account:trading-state", Delivery.DURABLE)

# system:*
# Every service's counters and latencies (``Metrics``), a few seconds apart; the aggregator's
# monitoring port serves the latest of each on /metrics.
SYSTEM_METRICS = Channel("system:metrics", Delivery.EPHEMERAL)

# connection-manager:*
CM_MARKET_DATA = Channel("connection-manager:market-data", Delivery.EPHEMERAL)
CM_POSITIONS = Channel("connection-manager:positions", Delivery.DURABLE)
CM_ACCOUNT_UPDATES = Channel("connection-manager:account-updates", Delivery.DURABLE)
CM_COMMANDS = Channel("connection-manager:commands", Delivery.DURABLE)  # order commands in
CM_ORDER_UPDATES = Channel("connection-manager:order-updates", Delivery.DURABLE)  # results, orders
CM_FILLS = Channel("connection-manager:fills", Delivery.DURABLE)
CM_STATUS = Channel("connection-manager:status", Delivery.EPHEMERAL)
# History requests in (a bot's warm-up); answers go to ``history_replies(requester)``.
CM_HISTORY = Channel("connection-manager:history", Delivery.DURABLE)


def market_data(symbol: str) -> Channel:
    """Market data for one symbol (``connection-manager:market-data:MES``), so a bot receives
    only its instrument's quotes, trades, depth and bars."""
    return Channel(f"{CM_MARKET_DATA.name}:{_checked('symbol', symbol)}", Delivery.EPHEMERAL)


def history_replies(requester: str) -> Channel:
    """Answers to ``requester``'s ``HistoryRequest`` (``connection-manager:history:bot_1``)."""
    return Channel(f"{CM_HISTORY.name}:{_checked('requester', requester)}", Delivery.DURABLE)


# bot:{botId}:*
def bot_control(bot_id: str) -> Channel:
    return Channel(f"bot:{_checked('bot id', bot_id)}:control", Delivery.DURABLE)


def bot_signals(bot_id: str) -> Channel:
    return Channel(f"bot:{_checked('bot id', bot_id)}:signals", Delivery.EPHEMERAL)


def bot_status(bot_id: str) -> Channel:
    return Channel(f"bot:{_checked('bot id', bot_id)}:status", Delivery.EPHEMERAL)


def bot_pnl(bot_id: str) -> Channel:
    return Channel(f"bot:{_checked('bot id', bot_id)}:pnl", Delivery.EPHEMERAL)


def bot_orders(bot_id: str) -> Channel:
    """Order updates, fills, positions (the bot's attributed share) and risk rejections for one bot."""
    return Channel(f"bot:{_checked('bot id', bot_id)}:orders", Delivery.DURABLE)


STATIC_CHANNELS: tuple[Channel, ...] = (
    AGGREGATOR_ORDERS,
    AGGREGATOR_FILLS,
    AGGREGATOR_STATUS,
    AGGREGATOR_METRICS,
    SYSTEM_METRICS,
    AGGREGATOR_MARKET_DATA,
    AGGREGATOR_RISK,
    AGGREGATOR_CONTROL,
    AGGREGATOR_HEARTBEATS,
    ACCOUNT_TRADING_STATE,
    CM_MARKET_DATA,
    CM_POSITIONS,
    CM_ACCOUNT_UPDATES,
    CM_COMMANDS,
    CM_ORDER_UPDATES,
    CM_FILLS,
    CM_STATUS,
    CM_HISTORY,
)
