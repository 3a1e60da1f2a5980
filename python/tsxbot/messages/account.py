"""Account, position and P&L state."""

from __future__ import annotations

from typing import ClassVar

from tsxbot.messages.enums import MessageType
from tsxbot.messages.payload import AwareDatetime, NonNegativeInt, Payload


class PositionUpdate(Payload, frozen=True):
    """A position at the exchange (account-wide), or a bot's attributed share of it."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.POSITION_UPDATE
    account_id: int
    contract_id: str
    # Signed: > 0 long, < 0 short, 0 flat (ProjectX sends size 0 for a closed position).
    net_quantity: int
    average_price: float
    timestamp: AwareDatetime
    symbol: str | None = None
    # The bot holding the position (the one whose attributed fills make it up); None when
    # several bots share it or its fills are not attributed.
    bot_id: str | None = None
    # When the exchange last confirmed the position (exchange time: a hub event or a
    # reconciliation that found it), and whether it may be out of date now (the connection
    # manager cannot reconcile with the exchange: positions are as last confirmed).
    last_confirmed: AwareDatetime | None = None
    stale: bool = False


class AccountUpdate(Payload, frozen=True):
    """ProjectX TradingAccountModel / GatewayUserAccount."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.ACCOUNT_UPDATE
    account_id: int
    name: str
    balance: float
    can_trade: bool
    is_visible: bool = True
    simulated: bool = True


class PnlUpdate(Payload, frozen=True):
    """P&L for an account, or for one bot when ``botId`` is set (the day so far)."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PNL_UPDATE
    realized_pnl: float
    unrealized_pnl: float
    fees: float = 0.0
    account_id: int | None = None
    bot_id: str | None = None
    symbol: str | None = None
    trade_count: NonNegativeInt = 0
    win_count: NonNegativeInt = 0
    loss_count: NonNegativeInt = 0
    # Distance below the peak of (realized + unrealized - fees), >= 0.
    drawdown: float = 0.0

    @property
    def net_pnl(self) -> float:
        return self.realized_pnl + self.unrealized_pnl - self.fees
