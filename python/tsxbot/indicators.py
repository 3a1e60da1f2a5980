"""Streaming indicators (Rust, O(1) per update) and numpy batch functions identical to them.

Every class has ``update(...)``, ``.value``, ``.initialized`` and ``reset()``; the value is NaN
while warming up (TA-Lib's warm-up lengths). NaN or infinite input raises ``IndicatorInputError``
(a ``ValueError``) and leaves the state untouched. Order-flow classes take timestamps as integer
nanoseconds (``tsxbot.sessions.to_ns``) and, given a ``SessionCalendar``, reset at the session
boundary and ignore prints outside the session. ``aggressor``: 1 buy, -1 sell, 0 unknown.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tsxbot._core import (
    ADX,
    ATR,
    EMA,
    SMA,
    VWAP,
    CumulativeDelta,
    Divergence,
    IndicatorInputError,
    VolumeProfile,
    atr_batch,
    dmi_batch,
    ema_batch,
    sma_batch,
)

__all__ = [
    "ADX",
    "ATR",
    "EMA",
    "SMA",
    "VWAP",
    "CumulativeDelta",
    "Divergence",
    "IndicatorInputError",
    "VolumeProfile",
    "adx",
    "atr",
    "dmi",
    "ema",
    "sma",
]

FloatArray = npt.NDArray[np.float64]


def _floats(values: npt.ArrayLike) -> FloatArray:
    array: FloatArray = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise IndicatorInputError(f"expected a 1-d array, got {array.ndim} dimensions")
    return array


def ema(values: npt.ArrayLike, period: int) -> FloatArray:
    """EMA of a series (NaN during warm-up), identical to ``EMA(period).update`` over it."""
    return ema_batch(_floats(values), period)


def sma(values: npt.ArrayLike, period: int) -> FloatArray:
    return sma_batch(_floats(values), period)


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int) -> FloatArray:
    return atr_batch(_floats(high), _floats(low), _floats(close), period)


def dmi(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(adx, plus_di, minus_di)`` series, identical to ``ADX(period)`` over the bars."""
    return dmi_batch(_floats(high), _floats(low), _floats(close), period)


def adx(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int) -> FloatArray:
    return dmi(high, low, close, period)[0]
