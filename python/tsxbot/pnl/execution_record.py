"""One fill as the P&L sees it: who (account, bot, strategy), what (symbol, side, quantity, price),
when (UTC ns) and what it cost (fees). The same record comes from live fills, the simulator and
the backtester, so one code path computes every number.
"""

from __future__ import annotations

import msgspec

from tsxbot.messages.enums import Side


class Execution(msgspec.Struct, frozen=True, kw_only=True):
    """``fees`` is what the fill was charged in USD (None: the instrument's fee per side x quantity).

    ``stop_loss`` is the protective stop price the position was opened with, when known; it defines
    the trade's initial risk and so its R multiple.
    """

    fill_id: str
    bot_id: str
    symbol: str
    side: Side
    quantity: int
    price: float
    ts_ns: int
    fees: float | None = None
    account_id: int | None = None
    strategy: str = ""
    stop_loss: float | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"fill {self.fill_id}: quantity must be > 0, got {self.quantity}")
        if self.fees is not None and self.fees < 0:
            raise ValueError(f"fill {self.fill_id}: fees must be >= 0, got {self.fees}")
