"""The instruments table: symbol -> ProjectX contract root, tick size and value, sessions, margin.

Loaded from ``instruments.yaml`` in the config directory when present, else from the copy shipped
in the package (``tsxbot/defaults/instruments.yaml``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

import msgspec

from tsxbot.config.types import (
    NonNegativeFloat,
    PositiveFloat,
    PositiveMoney,
    TimeOfDay,
    TimeZoneName,
)
from tsxbot.ticks import TickArithmeticError, TickSize

MONTH_CODES = "FGHJKMNQUVXZ"

Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{1,8}$")]
ContractRoot = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{1,8}$")]
MonthCodes = Annotated[str, msgspec.Meta(pattern=r"^[FGHJKMNQUVXZ]{1,12}$")]


class SessionHours(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """Opening and closing time of day in the instrument's exchange time zone.

    ``close`` earlier than ``open`` means the session runs over midnight (ETH: 17:00 -> 16:00).
    """

    open: TimeOfDay
    close: TimeOfDay

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.open == self.close:
            yield "close", "a session cannot open and close at the same time"


class Sessions(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """Regular (RTH) and electronic (ETH) sessions; the daily halt is the gap after ETH closes."""

    timezone: TimeZoneName
    eth: SessionHours
    rth: SessionHours
    # Days the ETH session opens on (its evening start), ISO weekday numbers: Sunday 7 .. Thursday 4.
    trading_days: Annotated[str, msgspec.Meta(pattern=r"^[1-7]{1,7}$")] = "71234"

    def problems(self) -> Iterable[tuple[str, str]]:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            yield (
                "timezone",
                f"unknown time zone {self.timezone!r} (use an IANA name such as America/Chicago)",
            )


class Instrument(msgspec.Struct, rename="camel", forbid_unknown_fields=True, frozen=True):
    """One futures product as tsxbot trades it."""

    symbol: Symbol
    contract_root: ContractRoot
    description: str
    exchange: Literal["CME", "CBOT", "COMEX", "NYMEX"]
    tick_size: PositiveFloat
    tick_value: PositiveMoney
    point_value: PositiveMoney
    # Mini-equivalents one contract counts for in position limits (TopStepX: 10 micros = 1 mini).
    mini_equivalent: Annotated[float, msgspec.Meta(gt=0, le=1)]
    # Day-trade margin per contract in USD, used by the pre-trade margin check.
    margin: NonNegativeFloat
    contract_months: MonthCodes
    sessions: Sessions
    enabled: bool = True
    # Whether the product can trade at zero or below (crude oil did in April 2020). When false,
    # an order price (limit, stop, trail or a bracket's) of zero or less is refused.
    allows_negative_prices: bool = False
    # Exchange and clearing fees in USD per contract per side, used by the P&L (tsxbot.pnl). Unset:
    # the simulator's fee for the symbol (exchange.fees / exchange.feePerSide in the simulator config).
    fee_per_side: NonNegativeFloat | None = None

    @property
    def symbol_id(self) -> str:
        """ProjectX symbol id, e.g. ``F.US.EP`` for ES."""
        return f"F.US.{self.contract_root}"

    def contract_id(self, month_code: str, year: int) -> str:
        """ProjectX contract id, e.g. ``CON.F.US.EP.Z25`` for ES December 2025."""
        if month_code not in MONTH_CODES:
            raise ValueError(f"unknown month code {month_code!r}")
        return f"CON.F.US.{self.contract_root}.{month_code}{year % 100:02d}"

    @property
    def ticks(self) -> TickSize:
        return TickSize(self.tick_size)

    def problems(self) -> Iterable[tuple[str, str]]:
        try:
            TickSize(self.tick_size)
        except TickArithmeticError as exc:
            yield "tickSize", str(exc)
            return
        implied = self.tick_value / self.tick_size
        if not math.isclose(implied, self.point_value, rel_tol=1e-9):
            yield (
                "pointValue",
                f"tickValue / tickSize = {implied:g} but pointValue is {self.point_value:g}; "
                "one of the three is wrong",
            )


class InstrumentsFile(msgspec.Struct, forbid_unknown_fields=True):
    instruments: list[Instrument]

    def problems(self) -> Iterable[tuple[str, str]]:
        seen: set[str] = set()
        for inst in self.instruments:
            if inst.symbol in seen:
                yield "instruments", f"symbol {inst.symbol} is listed twice"
            seen.add(inst.symbol)


class Instruments:
    """The loaded table, looked up by symbol or by ProjectX contract root."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_symbol = {i.symbol: i for i in instruments}
        self._by_root = {i.contract_root: i for i in self._by_symbol.values()}

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    @property
    def symbols(self) -> list[str]:
        return list(self._by_symbol)

    def get(self, symbol: str) -> Instrument:
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise KeyError(f"unknown symbol {symbol!r} (known: {', '.join(self._by_symbol)})") from None

    def by_contract_root(self, root: str) -> Instrument | None:
        return self._by_root.get(root)

    def by_contract_id(self, contract_id: str) -> Instrument | None:
        """``CON.F.US.EP.Z25`` -> the ES instrument."""
        parts = contract_id.split(".")
        return self._by_root.get(parts[3]) if len(parts) == 5 else None
