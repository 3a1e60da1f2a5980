"""FIFO round-trip matching of one bot's fills in one symbol.

Definitions (one each):

* A **lot** is the unclosed part of an opening fill. A closing fill closes the oldest lots first
  (FIFO); the **realized P&L** of each closed piece is ``(exit - entry) x direction x quantity x
  point value``.
* A **round trip** (a *trade*) runs from flat to flat: it opens with the first fill that leaves the
  position non-zero and closes with the fill that brings it back to zero. Scaling in and out stays
  within one trade. A fill that crosses zero (a reversal) is split: the part up to zero closes the
  trade, the rest opens the next one. Fees are split by quantity in the same way.
* A trade's **gross P&L** is the sum of its realized pieces; its **fees** the fees of all its
  fills; its **net P&L** gross minus fees.
* **MFE / MAE** (maximum favourable / adverse excursion) are the highest and lowest value of the
  trade's running gross P&L (realized so far within the trade plus its open lots marked to the
  price) seen at its fills and at every mark while it is open; MFE >= 0 and MAE <= 0.
* **Time in trade** is the time from the first entry fill to the final exit fill.
* **Initial risk** is ``|first entry price - stop loss| x largest absolute position x point value``
  when the opening fill carries a stop loss; the **R multiple** is net P&L / initial risk.
"""

from __future__ import annotations

from collections import deque

import msgspec

from tsxbot.messages.enums import Side
from tsxbot.pnl.contract import ContractSpec
from tsxbot.pnl.execution_record import Execution


class MatchError(ValueError):
    """A fill that does not belong to this matcher (another bot or symbol) or repeats a fill id."""


class Lot(msgspec.Struct, kw_only=True):
    fill_id: str
    direction: int
    quantity: int
    price: float
    ts_ns: int


class RoundTrip(msgspec.Struct, frozen=True, kw_only=True):
    """One closed trade (see the module docstring for each figure's definition)."""

    bot_id: str
    strategy: str
    account_id: int | None
    symbol: str
    direction: int
    quantity: int
    max_position: int
    entry_price: float
    exit_price: float
    entry_ns: int
    exit_ns: int
    gross_pnl: float
    fees: float
    mae: float
    mfe: float
    initial_risk: float | None
    fill_ids: tuple[str, ...]

    @property
    def net_pnl(self) -> float:
        return self.gross_pnl - self.fees

    @property
    def duration_ns(self) -> int:
        return self.exit_ns - self.entry_ns

    @property
    def r_multiple(self) -> float | None:
        if self.initial_risk is None or self.initial_risk <= 0:
            return None
        return self.net_pnl / self.initial_risk

    @property
    def trade_id(self) -> str:
        """Stable id: the bot, the symbol and the opening fill."""
        return f"{self.bot_id}:{self.symbol}:{self.fill_ids[0]}"


class _Open:
    """The trade in progress."""

    __slots__ = (
        "entry_notional",
        "entry_ns",
        "entry_qty",
        "exit_notional",
        "exit_qty",
        "fees",
        "fill_ids",
        "first_price",
        "mae",
        "max_position",
        "mfe",
        "realized",
        "stop_loss",
    )

    def __init__(self, fill: Execution) -> None:
        self.entry_ns = fill.ts_ns
        self.first_price = fill.price
        self.stop_loss = fill.stop_loss
        self.entry_qty = 0
        self.entry_notional = 0.0
        self.exit_qty = 0
        self.exit_notional = 0.0
        self.fees = 0.0
        self.realized = 0.0
        self.max_position = 0
        self.mae = 0.0
        self.mfe = 0.0
        self.fill_ids: list[str] = []


class FifoMatcher:
    """Matches one (bot, symbol)'s fills FIFO into lots and round trips."""

    def __init__(self, spec: ContractSpec, bot_id: str, account_id: int | None = None) -> None:
        self.spec = spec
        self.bot_id = bot_id
        self.account_id = account_id
        self.strategy = ""
        self.lots: deque[Lot] = deque()
        self.realized = 0.0
        self.fees = 0.0
        self._open: _Open | None = None
        self._seen: set[str] = set()

    @property
    def position(self) -> int:
        held = 0
        for lot in self.lots:
            held += lot.direction * lot.quantity
        return held

    def open_pnl(self, price: float) -> float:
        """The open lots marked to ``price`` (0 when flat)."""
        pv = self.spec.point_value
        total = 0.0
        for lot in self.lots:
            total += (price - lot.price) * lot.direction * lot.quantity * pv
        return total

    def mark(self, price: float) -> None:
        """A new price while a trade is open: updates its MAE and MFE."""
        if self._open is not None:
            self._excursion(price)

    def _excursion(self, price: float) -> None:
        trade = self._open
        assert trade is not None
        running = trade.realized + self.open_pnl(price)
        trade.mfe = max(trade.mfe, running)
        trade.mae = min(trade.mae, running)

    def add(self, fill: Execution) -> list[RoundTrip]:
        """Apply one fill; returns the trades it closed (none, or one; a reversal closes one)."""
        if fill.bot_id != self.bot_id or fill.symbol != self.spec.symbol:
            raise MatchError(
                f"fill {fill.fill_id} is for {fill.bot_id}/{fill.symbol}, "
                f"this matcher is {self.bot_id}/{self.spec.symbol}"
            )
        if fill.fill_id in self._seen:
            raise MatchError(f"fill {fill.fill_id} was already applied")
        self._seen.add(fill.fill_id)
        if fill.strategy:
            self.strategy = fill.strategy
        fee_each = (fill.fees if fill.fees is not None else self.spec.fee_per_side * fill.quantity) / (
            fill.quantity
        )
        direction = 1 if fill.side == Side.BUY else -1
        remaining = fill.quantity
        closed: list[RoundTrip] = []
        pv = self.spec.point_value
        # Close against the oldest opposite lots.
        while remaining and self.lots and self.lots[0].direction != direction:
            trade = self._open
            assert trade is not None
            lot = self.lots[0]
            qty = min(remaining, lot.quantity)
            pnl = (fill.price - lot.price) * lot.direction * qty * pv
            self.realized += pnl
            trade.realized += pnl
            trade.exit_qty += qty
            trade.exit_notional += qty * fill.price
            trade.fees += fee_each * qty
            self.fees += fee_each * qty
            if not trade.fill_ids or trade.fill_ids[-1] != fill.fill_id:
                trade.fill_ids.append(fill.fill_id)
            lot.quantity -= qty
            remaining -= qty
            if lot.quantity == 0:
                self.lots.popleft()
            if not self.lots:
                self._excursion(fill.price)
                closed.append(self._close(lot.direction, fill.ts_ns))
        if remaining:
            if self._open is None:
                self._open = _Open(fill)
            trade = self._open
            trade.entry_qty += remaining
            trade.entry_notional += remaining * fill.price
            trade.fees += fee_each * remaining
            self.fees += fee_each * remaining
            if not trade.fill_ids or trade.fill_ids[-1] != fill.fill_id:
                trade.fill_ids.append(fill.fill_id)
            self.lots.append(
                Lot(
                    fill_id=fill.fill_id,
                    direction=direction,
                    quantity=remaining,
                    price=fill.price,
                    ts_ns=fill.ts_ns,
                )
            )
            trade.max_position = max(trade.max_position, abs(self.position))
        if self._open is not None:
            self._excursion(fill.price)
        return closed

    def _close(self, direction: int, ts_ns: int) -> RoundTrip:
        trade = self._open
        assert trade is not None
        self._open = None
        risk = None
        if trade.stop_loss is not None:
            risk = abs(trade.first_price - trade.stop_loss) * trade.max_position * self.spec.point_value
        return RoundTrip(
            bot_id=self.bot_id,
            strategy=self.strategy,
            account_id=self.account_id,
            symbol=self.spec.symbol,
            direction=direction,
            quantity=trade.entry_qty,
            max_position=trade.max_position,
            entry_price=trade.entry_notional / trade.entry_qty,
            exit_price=trade.exit_notional / trade.exit_qty,
            entry_ns=trade.entry_ns,
            exit_ns=ts_ns,
            gross_pnl=trade.realized,
            fees=trade.fees,
            mae=trade.mae,
            mfe=trade.mfe,
            initial_risk=risk,
            fill_ids=tuple(trade.fill_ids),
        )
