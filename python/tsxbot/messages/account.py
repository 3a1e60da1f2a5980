"""Account, position and P&L state."""

from __future__ import annotations

from typing import ClassVar, Literal

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


# The account's trading state (NautilusTrader's model): ACTIVE, REDUCING (exits only), HALTED.
TradingStateName = Literal["ACTIVE", "REDUCING", "HALTED"]


class TradingStateChange(Payload, frozen=True):
    """The aggregator's account trading state after a change (published on every change of its
    state or of a cause holding it, and once at the aggregator's start)."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.TRADING_STATE_CHANGE
    state: TradingStateName
    # Each cause holding the account (KILL_SWITCH, DAILY_LOSS, CIRCUIT_BREAKER, ...) and why.
    causes: dict[str, str]
    circuit_breaker: bool
    timestamp: AwareDatetime
    # What changed: ``<CAUSE>_ON``, ``<CAUSE>_OFF`` or ``START``.
    change: str
    was: TradingStateName | None = None
    account_id: int | None = None
