"""What the P&L needs to know about an instrument: point value, tick size and fee per side.

Built from the instruments table (:class:`tsxbot.config.instruments.Instrument`); an instrument
without its own ``feePerSide`` pays the simulator's default fee for the symbol, so the P&L of a
simulated account matches the simulator's balance to the cent.
"""

from __future__ import annotations

import msgspec

from tsxbot.config.instruments import Instrument
from tsxbot.config.simulator import ExchangeSettings


class ContractSpec(msgspec.Struct, frozen=True, kw_only=True):
    """``point_value`` USD per point per contract; ``fee_per_side`` USD per contract per side."""

    symbol: str
    point_value: float
    tick_size: float
    fee_per_side: float

    def __post_init__(self) -> None:
        if not self.point_value > 0:
            raise ValueError(f"{self.symbol}: point_value must be > 0, got {self.point_value!r}")
        if not self.tick_size > 0:
            raise ValueError(f"{self.symbol}: tick_size must be > 0, got {self.tick_size!r}")
        if not self.fee_per_side >= 0:
            raise ValueError(f"{self.symbol}: fee_per_side must be >= 0, got {self.fee_per_side!r}")


def default_fee_per_side(symbol: str, exchange: ExchangeSettings | None = None) -> float:
    """The simulator's fee plus commission per contract per side for ``symbol`` (``exchange``:
    the simulator's configured ``simulator.exchange``; its defaults when None)."""
    exchange = exchange or ExchangeSettings()
    return exchange.fees.get(symbol, exchange.fee_per_side) + exchange.commission_per_side


def spec_for(instrument: Instrument, exchange: ExchangeSettings | None = None) -> ContractSpec:
    """The instrument's own ``feePerSide``, else the simulator's fee for it (see above). Fills that
    report their fees keep them; this fee is for fills that do not."""
    fee = instrument.fee_per_side
    return ContractSpec(
        symbol=instrument.symbol,
        point_value=instrument.point_value,
        tick_size=instrument.tick_size,
        fee_per_side=default_fee_per_side(instrument.symbol, exchange) if fee is None else fee,
    )
