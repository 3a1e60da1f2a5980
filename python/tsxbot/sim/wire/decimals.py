"""Decimal fields as the real REST API prints them (C# ``decimal``: ``6335.250000000``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

_NINE = Decimal("0.000000001")
_FOUR = Decimal("0.0001")


class DecimalStyle:
    """``dotnet``: prices and P&L with 9 places, fees with 4; ``shortest``: plain numbers.

    Values are returned as ``Decimal`` so the JSON encoder (``decimal_format="number"``) writes
    them as numbers with exactly these digits."""

    def __init__(self, style: Literal["dotnet", "shortest"]) -> None:
        self.dotnet = style == "dotnet"

    def price(self, value: float) -> Decimal:
        if self.dotnet:
            return Decimal(repr(value)).quantize(_NINE)
        return Decimal(repr(value))

    def price_or_none(self, value: float | None) -> Decimal | None:
        return None if value is None else self.price(value)

    def fees(self, value: float) -> Decimal:
        if self.dotnet:
            return Decimal(repr(round(value, 4))).quantize(_FOUR)
        return Decimal(repr(round(value, 4)))

    def plain(self, value: float) -> Decimal:
        """Balances and contract specs: the shortest form (``50000``, ``0.25``)."""
        d = Decimal(repr(round(value, 9)))
        return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()
