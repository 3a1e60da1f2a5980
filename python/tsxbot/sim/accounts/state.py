"""An account's money and positions, and what TopStepX's rules have done to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tsxbot.config.simulator import SimAccount
from tsxbot.gateway.enums import OrderSide, PositionType
from tsxbot.sim.contracts import Contract
from tsxbot.sim.exchange.orders import side_sign


class Breach(StrEnum):
    """Why an account stopped trading."""

    MAX_LOSS = "maxLoss"  # trailing Maximum Loss Limit: the account is done
    DAILY_LOSS = "dailyLoss"  # soft breach: flat, no trading until the next session
    POSITION_LIMIT = "positionLimit"  # soft breach: flat, no trading until the next session
    ADMIN = "admin"  # set through the admin API


@dataclass
class HalfTrade:
    id: int
    account_id: int
    contract: Contract
    ns: int
    price: int  # ticks
    pnl: float | None  # None for an opening fill
    fees: float
    side: OrderSide
    size: int
    order_id: int
    voided: bool = False
    commissions: float = 0.0


@dataclass
class Position:
    id: int
    account_id: int
    contract: Contract
    created_ns: int
    net: int = 0  # signed contracts
    avg: float = 0.0  # average entry in ticks
    # The side it last had while open: what a close event carries (``wire.closedPositionType``).
    last_side: PositionType = PositionType.UNDEFINED

    @property
    def type(self) -> PositionType:
        """Long or short while open, Undefined once flat (see ``last_side``)."""
        if self.net > 0:
            return PositionType.LONG
        if self.net < 0:
            return PositionType.SHORT
        return PositionType.UNDEFINED

    def _remember_side(self) -> None:
        if self.net:
            self.last_side = self.type

    def open_pnl(self, last: int) -> float:
        return (last - self.avg) * self.net * self.contract.tick_value

    def apply(self, side: OrderSide, qty: int, price: int) -> list[tuple[int, float | None]]:
        """Books a fill; returns its legs as (size, realized P&L or None for an opening leg)."""
        signed = qty * side_sign(side)
        legs: list[tuple[int, float | None]] = []
        if self.net == 0 or (self.net > 0) == (signed > 0):
            total = self.net + signed
            self.avg = (self.avg * abs(self.net) + price * qty) / abs(total)
            self.net = total
            self._remember_side()
            return [(qty, None)]
        closing = min(qty, abs(self.net))
        direction = 1 if self.net > 0 else -1
        pnl = round((price - self.avg) * closing * direction * self.contract.tick_value, 2)
        legs.append((closing, pnl))
        self.net += closing * side_sign(side)
        rest = qty - closing
        if rest:
            self.net = rest * side_sign(side)
            self.avg = float(price)
            legs.append((rest, None))
        elif self.net == 0:
            self.avg = 0.0
        self._remember_side()
        return legs


@dataclass
class Account:
    config: SimAccount
    balance: float
    can_trade: bool
    bracket_mode: str
    positions: dict[str, Position] = field(default_factory=dict)
    trades: list[HalfTrade] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)
    tags: dict[str, int] = field(default_factory=dict)
    # Rules.
    max_loss_level: float | None = None  # balance (with open P&L) at which the account fails
    eod_high: float = 0.0
    day_start_balance: float = 0.0
    breach: Breach | None = None
    blocked_until_ns: int | None = None  # soft breach: trading resumes at this instant

    @classmethod
    def from_config(cls, config: SimAccount) -> Account:
        level = config.starting_balance - config.max_loss if config.max_loss is not None else None
        return cls(
            config=config,
            balance=config.starting_balance,
            can_trade=config.can_trade,
            bracket_mode=config.bracket_mode,
            max_loss_level=level,
            eod_high=config.starting_balance,
            day_start_balance=config.starting_balance,
        )

    @property
    def id(self) -> int:
        return self.config.id

    @property
    def name(self) -> str:
        return self.config.name

    def open_pnl(self, last_prices: dict[str, int]) -> float:
        total = 0.0
        for contract_id, position in self.positions.items():
            last = last_prices.get(contract_id)
            if position.net and last is not None:
                total += position.open_pnl(last)
        return total

    def mini_exposure(self) -> float:
        return sum(abs(p.net) * p.contract.instrument.mini_equivalent for p in self.positions.values())

    def end_of_day(self) -> None:
        """TopStepX's trailing Maximum Loss Limit moves up with the end-of-day balance high and
        stops at the starting balance; daily figures start again."""
        start = self.config.starting_balance
        if self.balance > self.eod_high:
            self.eod_high = self.balance
        if self.config.max_loss is not None and self.max_loss_level is not None:
            trailed = min(start, self.eod_high - self.config.max_loss)
            self.max_loss_level = max(self.max_loss_level, trailed)
        self.day_start_balance = self.balance
