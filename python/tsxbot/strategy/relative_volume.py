"""Relative volume: a closed bar's volume over the mean of the ``period`` bars before it (Rust SMA)."""

from __future__ import annotations

import math

from tsxbot.indicators import SMA

__all__ = ["RelativeVolume"]


class RelativeVolume:
    __slots__ = ("_mean", "value")

    def __init__(self, period: int = 20) -> None:
        self._mean = SMA(period)
        self.value = math.nan

    def update(self, volume: float) -> float:
        """This bar's relative volume (NaN until ``period`` bars came before it, or none traded)."""
        mean = self._mean.value
        self.value = volume / mean if self._mean.initialized and mean > 0 else math.nan
        self._mean.update(volume)
        return self.value
