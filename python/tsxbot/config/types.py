"""Constrained value types shared by the config structs (msgspec ``Annotated`` constraints)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Port = Annotated[int, msgspec.Meta(ge=1, le=65535, description="a TCP port")]
Host = Annotated[str, msgspec.Meta(min_length=1)]
Money = Annotated[float, msgspec.Meta(ge=0, description="US dollars, >= 0")]
PositiveMoney = Annotated[float, msgspec.Meta(gt=0, description="US dollars, > 0")]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
# The risk engine holds a rate as an unsigned 32-bit count.
OrdersPerMinute = Annotated[int, msgspec.Meta(ge=1, le=2**32 - 1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Period = Annotated[int, msgspec.Meta(ge=1, le=10_000, description="an indicator period")]
Fraction = Annotated[float, msgspec.Meta(gt=0, le=1)]
Identifier = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]
# A built-in strategy's name (EMA_CROSS) or a user's class by dotted path (mypackage.module:MyStrategy).
StrategyType = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$",
        max_length=200,
        description="a strategy name or module.path:ClassName",
    ),
]
TimeOfDay = Annotated[
    str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="a time of day, HH:MM")
]
TimeZoneName = Annotated[str, msgspec.Meta(min_length=1)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def parse_time_of_day(value: str) -> dt.time:
    """``"08:30"`` -> ``time(8, 30)``; the value has already passed the ``TimeOfDay`` pattern."""
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))
