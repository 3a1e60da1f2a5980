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

The matching itself is the Rust core's (``tsxbot._core.FifoMatcher``, core-rs/src/pnl): one
implementation for the live ledger and the backtester; this module adds each trade's owner
(bot, strategy, account, symbol).
"""

from __future__ import annotations

import msgspec

from tsxbot import _core
from tsxbot.messages.enums import Side
from tsxbot.pnl.contract import ContractSpec
from tsxbot.pnl.execution_record import Execution

MatchError = _core.MatchError
"""A fill that does not belong to this matcher (another bot or symbol), repeats a fill id, or has
a quantity, price or fees that cannot be matched (a ``ValueError``)."""


class Lot(msgspec.Struct, kw_only=True):
    fill_id: str
    direction: int
    quantity: int
    price: float
    ts_ns: int


class RoundTrip(msgspec.Struct, frozen=True):
    """One closed trade (see the module docstring for each figure's definition). Built by
    keyword; the matcher builds it from its fields in order (a third of the keyword call's cost,
    once per trade)."""

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


class FifoMatcher:
    """Matches one (bot, symbol)'s fills FIFO into lots and round trips (the Rust core's matcher)."""

    __slots__ = ("_core", "account_id", "bot_id", "equity", "mark", "open_pnl", "spec", "strategy")

    def __init__(self, spec: ContractSpec, bot_id: str, account_id: int | None = None) -> None:
        self.spec = spec
        self.bot_id = bot_id
        self.account_id = account_id
        self.strategy = ""
        self._core = core = _core.FifoMatcher(bot_id, spec.symbol, spec.point_value, spec.fee_per_side)
        # The open lots marked to a price (0 when flat); a new price while a trade is open (its
        # MAE and MFE); realized - fees + open_pnl(price). Bound once: called per fill and mark.
        self.open_pnl = core.open_pnl
        self.mark = core.mark
        self.equity = core.equity

    @property
    def realized(self) -> float:
        """Realized gross P&L of every closed quantity so far."""
        return self._core.realized

    @property
    def fees(self) -> float:
        """Every fee charged so far."""
        return self._core.fees

    @property
    def position(self) -> int:
        return self._core.position

    @property
    def lots(self) -> list[Lot]:
        """The open lots, oldest first (a copy)."""
        return [
            Lot(fill_id=fill_id, direction=direction, quantity=quantity, price=price, ts_ns=ts_ns)
            for fill_id, direction, quantity, price, ts_ns in self._core.lots()
        ]

    def add(self, fill: Execution) -> list[RoundTrip]:
        """Apply one fill; returns the trades it closed (none, or one; a reversal closes one)."""
        return self.add_fill(
            fill.fill_id,
            fill.bot_id,
            fill.symbol,
            fill.side == Side.BUY,
            fill.quantity,
            fill.price,
            fill.ts_ns,
            fill.fees,
            fill.strategy,
            fill.stop_loss,
        )

    def add_fill(
        self,
        fill_id: str,
        bot_id: str,
        symbol: str,
        buy: bool,
        quantity: int,
        price: float,
        ts_ns: int,
        fees: float | None = None,
        strategy: str = "",
        stop_loss: float | None = None,
    ) -> list[RoundTrip]:
        """:meth:`add` without the ``Execution`` (the backtester's fills): the same matching."""
        closed = self._core.add(fill_id, bot_id, symbol, buy, quantity, price, ts_ns, fees, stop_loss)
        if strategy:
            self.strategy = strategy
        if closed is None:
            return []
        # (direction, quantity, max_position, entry_price, exit_price, entry_ns, exit_ns, gross_pnl,
        # fees, mae, mfe, initial_risk, fill_ids): RoundTrip's fields after its owner's, in order.
        return [RoundTrip(self.bot_id, self.strategy, self.account_id, self.spec.symbol, *closed)]
