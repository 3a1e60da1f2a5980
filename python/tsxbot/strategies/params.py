"""Parameters of the built-in strategies, as ``strategy.params`` in a bot's YAML.

Every strategy shares the sizing parameters of ``StrategyParams`` (the spec's dollar risk per
trade, maximum risk in points and reward:risk ratio) and adds its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from tsxbot.config.global_config import Section
from tsxbot.config.types import (
    Fraction,
    NonNegativeInt,
    Period,
    PositiveFloat,
    PositiveInt,
    PositiveMoney,
    TimeOfDay,
)

Timeframe = Literal["1s", "5s", "15s", "30s", "1m", "2m", "3m", "5m", "10m", "15m", "30m", "1h", "4h", "1d"]


class StrategyParams(Section, frozen=True):
    dollar_risk_per_trade: PositiveMoney
    max_risk_points: PositiveFloat
    risk_reward_ratio: PositiveFloat = 2.0
    timeframe: Timeframe = "5m"


class PdhPdlParams(StrategyParams, frozen=True, kw_only=True):
    """Breakouts and fades at the previous day's high and low."""

    mode: Literal["breakout", "fade", "both"] = "both"
    rth_only: bool = True
    breakout_buffer_ticks: NonNegativeInt = 2
    use_volume_profile: bool = True
    value_area_fraction: Fraction = 0.7
    use_cumulative_delta: bool = True
    adx_period: Period = 14
    adx_trend_threshold: PositiveFloat = 25.0
    detect_liquidity_sweeps: bool = True
    sweep_reclaim_ticks: NonNegativeInt = 4


class EmaCrossParams(StrategyParams, frozen=True, kw_only=True):
    """Trend following on a fast/slow EMA crossover with ATR stops."""

    fast_period: Period = 9
    slow_period: Period = 21
    atr_period: Period = 14
    atr_stop_multiplier: PositiveFloat = 1.5
    trend_filter_period: Period | None = None

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.fast_period >= self.slow_period:
            yield (
                "fastPeriod",
                f"the fast EMA period ({self.fast_period}) must be shorter than the slow one "
                f"({self.slow_period})",
            )


class OrbRubberBandParams(StrategyParams, frozen=True, kw_only=True):
    """Opening-range breakout, with mean reversion when price stretches too far from VWAP."""

    session_open: TimeOfDay = "08:30"
    opening_range_minutes: PositiveInt = 15
    entry_cutoff: TimeOfDay = "11:00"
    breakout_buffer_ticks: NonNegativeInt = 2
    atr_period: Period = 14
    max_extension_atr: PositiveFloat = 2.0
    reversion_target: Literal["vwap", "rangeMid"] = "vwap"

    def problems(self) -> Iterable[tuple[str, str]]:
        if self.entry_cutoff <= self.session_open:
            yield "entryCutoff", "must be later than sessionOpen"


BUILTIN_STRATEGY_PARAMS: dict[str, type[StrategyParams]] = {
    "PDH_PDL": PdhPdlParams,
    "EMA_CROSS": EmaCrossParams,
    "ORB_RUBBER_BAND": OrbRubberBandParams,
}
